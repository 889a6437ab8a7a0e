package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/vocab"
	"crossdock/web/webtest"
)

// Words a merchant must not meet on a page (README, Glossary): the decided
// word is in the message.
var forbiddenWords = []struct {
	re   *regexp.Regexp
	says string
}{
	{regexp.MustCompile(`(?i)\bmasters?\b|\bmaster's`), `"source" / "source of truth"`},
	{regexp.MustCompile(`(?i)\bentity[ _-]?keys?\b`), `"record"`},
	{regexp.MustCompile(`(?i)\bsweep`), `"scheduled check"`},
	{regexp.MustCompile(`(?i)\bchange[ -]?sets?\b`), `"proposed change"`},
	{regexp.MustCompile(`(?i)\breplay`), `"try again" / "tried again"`},
}

// rawIDs are identifiers only a "Technical detail" disclosure may show.
var rawIDs = regexp.MustCompile(`gid://\S*|\bres\.partner/\d+|\blocation:\d+`)

var (
	detailsRE = regexp.MustCompile(`(?is)<details\b.*?</details>`)
	scriptRE  = regexp.MustCompile(`(?is)<script\b.*?</script>|<style\b.*?</style>`)
	// Attributes a person reads: hover titles, screen-reader labels,
	// placeholders and confirmation questions.
	attrRE = regexp.MustCompile(`\s(title|aria-label|placeholder|hx-confirm|alt)="([^"]*)"`)
	tagRE  = regexp.MustCompile(`<[^>]*>`)
)

// readableText is what a person can read on a page without opening a
// <details>: the text and the attributes shown on hover or read aloud.
func readableText(body string) string {
	body = scriptRE.ReplaceAllString(body, " ")
	body = detailsRE.ReplaceAllString(body, " ")
	var attrs []string
	for _, m := range attrRE.FindAllStringSubmatch(body, -1) {
		attrs = append(attrs, m[2])
	}
	text := tagRE.ReplaceAllString(body, " ")
	return html.UnescapeString(text + " " + strings.Join(attrs, " "))
}

func TestReadableTextSkipsDetailsAndTags(t *testing.T) {
	t.Parallel()
	got := readableText(`<p title="Replay it">Stock</p><a href="/syncs/sweep">Check</a>` +
		`<details><summary>Technical detail</summary>gid://shopify/ProductVariant/1</details><script>var master</script>`)
	require.Contains(t, got, "Replay it", "a title is read")
	require.Contains(t, got, "Stock")
	require.NotContains(t, got, "sweep", "an address is not read")
	require.NotContains(t, got, "gid://", "a disclosure's content is one click down")
	require.NotContains(t, got, "master", "a script is not read")
}

// wordsPages are the pages of the "words" part of issue #15, with the
// record each :id names (filled in by the test).
var wordsPages = []string{
	"/sources", "/sources/inventory/edit", "/sources/products/edit", "/sources/prices/edit",
	"/alerts", "/alerts/settings", "/settings",
	"/connections", "/connections/new", "/connections/:shop", "/connections/:shop/edit", "/connections/:shop/webhooks",
	"/connections/:odoo",
	"/finance", "/finance/summary", "/finance/collections",
	"/reconciliation", "/reconciliation/discrepancies", "/reconciliation/runs/:run", "/reconciliation/discrepancies/:disc",
	"/rehearsals", "/users", "/users/new", "/users/:user", "/audit",
	"/syncs", "/syncs?problems=1", "/syncs/:sync",
	"/no-such-page",
}

// Every page of this part, as every role that may open it, on the demo
// workspace with syncs, a comparison and a discrepancy about real records
// (a succeeded sync's page: a failure's own section belongs to Failed syncs):
// none of the words the product gave up, and no raw id outside a
// "Technical detail" disclosure.
func TestPagesSpeakTheMerchantsWords(t *testing.T) {
	t.Parallel()
	env := webtest.Start(t)
	admin := env.SignIn(t, vocab.RoleAdmin)
	d := wordsDemo(t, env, admin)
	fill, ids, variant, sku, title := d.fill, d.syncs, d.variant, d.sku, d.title

	// Names before identifiers: the product's title leads, the SKU follows,
	// the Shopify id waits under Technical detail; people go by name.
	for _, path := range []string{"/syncs", fmt.Sprintf("/syncs/%d", ids[1]), "/finance", "/finance/summary",
		"/reconciliation/discrepancies", fill.Replace("/reconciliation/discrepancies/:disc")} {
		_, body := admin.Get(path)
		text := readableText(body)
		require.Contains(t, text, title, path)
		require.Less(t, strings.Index(text, title), strings.LastIndex(text, sku), "%s: the title comes before the SKU", path)
		require.NotContains(t, text, variant, path)
	}
	_, body := admin.Get(fmt.Sprintf("/syncs/%d", ids[1]))
	require.Contains(t, body, variant, "the id is one click down")
	_, body = admin.Get("/audit")
	require.Regexp(t, `just now\s+Ada Admin\s+Ada Admin signed in`, readableText(body), "the audit log names people, not addresses")
	for _, role := range []vocab.Role{vocab.RoleOperator, vocab.RoleFinance, vocab.RoleAdmin} {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			c := env.SignIn(t, role)
			read := 0
			for _, page := range wordsPages {
				path := fill.Replace(page)
				res, body := c.Get(path)
				if res.StatusCode == http.StatusForbidden {
					continue // not this role's page: the route table checks that
				}
				read++
				text := readableText(body)
				for _, w := range forbiddenWords {
					if m := w.re.FindAllString(text, 3); m != nil {
						t.Errorf("%s as %s says %q; the word is %s: …%s…", path, role, m, w.says, around(text, m[0]))
					}
				}
				if m := rawIDs.FindAllString(text, 3); m != nil {
					t.Errorf("%s as %s shows %q outside a Technical detail: …%s…", path, role, m, around(text, m[0]))
				}
			}
			require.Greater(t, read, 5, "%s reads pages", role)
		})
	}
}

// around is the readable text around the first occurrence of s.
func around(text, s string) string {
	i := strings.Index(text, s)
	lo, hi := max(0, i-80), min(len(text), i+len(s)+80)
	return strings.Join(strings.Fields(text[lo:hi]), " ")
}

// wordsData is the demo workspace with a failed and a succeeded sync about
// a named Shopify variant, a comparison run and a discrepancy on it.
type wordsData struct {
	fill                *strings.Replacer // fills :shop, :odoo, :run, :disc, :user, :sync
	syncs               []int64
	variant, sku, title string
}

func wordsDemo(t *testing.T, env *webtest.Env, admin *webtest.Client) wordsData {
	t.Helper()
	ctx := t.Context()
	res := admin.PostForm("/demo", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	shop, odoo := mustConn(t, env, "Demo Shopify store"), mustConn(t, env, "Demo Odoo")
	db := env.Store.DB
	// A failed stock sync about a Shopify variant the catalogue read named,
	// and a discrepancy on it, so the lists have rows to show.
	var variant, sku, title string
	require.NoError(t, db.QueryRowContext(ctx, `SELECT external_id, sku, name FROM external_records
WHERE connection_id = $1 AND entity_type = 'variant' AND sku <> '' AND name <> '' ORDER BY external_id LIMIT 1`, shop).Scan(&variant, &sku, &title))
	ids, err := env.Store.InsertSyncs(ctx, []store.NewSync{{Family: "inventory", Direction: "odoo_to_shopify", Flow: "inventory.odoo_shopify",
		SourceConnectionID: odoo, TargetConnectionID: shop, Trigger: store.TriggerWebhook, EntityType: "variant",
		EntityRef: variant, EntityKey: sku, SearchKeys: []string{sku}, Payload: map[string]string{"variant": variant}, IdempotencyKey: "words-" + variant,
		MaxAttempts: 8, Status: vocab.SyncFailed, ErrorClass: vocab.ClassValidation, Message: "Shopify refused the stock level: the location is not active."},
		{Family: "inventory", Direction: "odoo_to_shopify", Flow: "inventory.odoo_shopify",
			SourceConnectionID: odoo, TargetConnectionID: shop, Trigger: store.TriggerSweep, EntityType: "variant",
			EntityRef: variant, EntityKey: sku, SearchKeys: []string{sku}, Payload: map[string]string{"variant": variant}, IdempotencyKey: "words-ok-" + variant,
			MaxAttempts: 8, Status: vocab.SyncSucceeded}})
	require.NoError(t, err)
	var run, disc int64
	require.NoError(t, db.GetContext(ctx, &run, `INSERT INTO recon_runs (family, trigger, requested_by, status, started_at, finished_at, compared, differing)
VALUES ('inventory', 'manual', 'Ada Admin', 'succeeded', now(), now(), 10, 1) RETURNING id`))
	require.NoError(t, db.GetContext(ctx, &disc, `INSERT INTO discrepancies (family, kind, key, master_connection_id, other_connection_id, label, master_value, other_value, size, detail, first_run_id, last_run_id)
VALUES ('inventory', 'stock', $1, $2, $3, $4, '12', '5', 7, json_build_object('sku', $6::text, 'location', 'WH/Stock'), $5, $5) RETURNING id`,
		"words-"+variant, odoo, shop, sku+" at WH/Stock", run, sku))

	// A prices comparison of the variant, so the finance review has its row.
	var prices int64
	require.NoError(t, db.GetContext(ctx, &prices, `INSERT INTO recon_runs (family, trigger, status, started_at, finished_at) VALUES ('prices', 'manual', 'succeeded', now(), now()) RETURNING id`))
	_, err = db.ExecContext(ctx, `INSERT INTO recon_prices (run_id, connection_id, variant_ref, variant_id, label, price, compare_at, cost, currency)
VALUES ($1, $2, '7', 1, $4, 50, NULL, 30, ''), ($1, $3, $5, 1, $4, 45, NULL, 30, 'EUR')`, prices, odoo, shop, sku, variant)
	require.NoError(t, err)
	_, err = env.Store.BuildFinanceReview(ctx, prices, odoo, shop)
	require.NoError(t, err)

	fill := strings.NewReplacer(":shop", fmt.Sprint(shop), ":odoo", fmt.Sprint(odoo), ":run", fmt.Sprint(run), ":disc", fmt.Sprint(disc),
		":user", fmt.Sprint(env.Users[vocab.RoleOperator].ID), ":sync", fmt.Sprint(ids[1]))
	return wordsData{fill: fill, syncs: ids, variant: variant, sku: sku, title: title}
}
