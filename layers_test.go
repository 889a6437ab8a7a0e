package crossdock_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layerRules are the dependency directions of Crossdock's packages: each says
// which packages (a path and everything below it) must not reach which
// others, directly or through any package between. Only the programs' own
// code counts, not their tests.
var layerRules = []struct {
	from, forbidden []string
	// leavesAllowed lets from import the leaves under a forbidden path:
	// packages that import nothing from Crossdock but the vocabulary
	// (store/rules, store/number).
	leavesAllowed bool
}{
	{from: []string{"vocab"}, forbidden: []string{"store", "connectors", "engine", "web", "handlers", "views", "cmd"}},
	{from: []string{"store"}, forbidden: []string{"connectors", "engine", "web", "handlers", "views"}},
	{from: []string{"connectors"}, forbidden: []string{"store", "engine", "web", "handlers", "views"}},
	{from: []string{"views"}, forbidden: []string{"store", "engine", "handlers", "web"}, leavesAllowed: true},
	{from: []string{"engine"}, forbidden: []string{"web", "handlers", "views"}},
}

const module = "crossdock"

func under(pkg string, paths []string) bool {
	for _, p := range paths {
		if p = module + "/" + p; pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// TestLayers fails on an import that breaks a layering rule, naming the
// chain of imports from the package to the one it must not reach.
func TestLayers(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{} // Crossdock's packages and what of Crossdock each imports
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var own []string
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module+"/") {
				own = append(own, imp)
			}
		}
		imports[f[0]] = own
	}
	if len(imports) < 10 {
		t.Fatalf("go list found only %d packages: is the test run from the module root?", len(imports))
	}
	leaf := func(pkg string) bool {
		return !slices.ContainsFunc(imports[pkg], func(imp string) bool { return imp != module+"/vocab" })
	}

	var broken []string
	for _, r := range layerRules {
		bad := func(pkg string) bool { return under(pkg, r.forbidden) && !(r.leavesAllowed && leaf(pkg)) }
		for pkg := range imports {
			if !under(pkg, r.from) {
				continue
			}
			if chain := reach(pkg, imports, bad); chain != nil && !(len(chain) > 2 && under(chain[1], r.from)) {
				// A chain through another package of the same layer is
				// reported for that package.
				broken = append(broken, fmt.Sprintf("%s must not import %s: %s",
					strings.Join(r.from, ", "), strings.Join(r.forbidden, ", "), strings.Join(chain, " → ")))
			}
		}
	}
	slices.Sort(broken)
	if len(broken) > 0 {
		t.Errorf("imports that break the layering (README, Layout):\n%s", strings.Join(broken, "\n"))
	}
}

// reach is the shortest chain of imports from pkg to a package bad says
// yes to, or nil.
func reach(pkg string, imports map[string][]string, bad func(string) bool) []string {
	from := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range imports[p] {
			if _, seen := from[imp]; seen {
				continue
			}
			from[imp] = p
			if bad(imp) {
				chain := []string{imp}
				for q := p; q != ""; q = from[q] {
					chain = append(chain, q)
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, imp)
		}
	}
	return nil
}
