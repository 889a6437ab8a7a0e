// Package browsertest drives Debian's Chromium, headless, through chromedp:
// one browser per test binary, and a fresh browser context (its own cookies)
// per test, so tests signed in as different people run in parallel.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	once       sync.Once
	browserCtx context.Context
	cancelAll  func()
	startErr   error
)

// chromiumPath finds the browser: CHROMIUM_PATH, or chromium on PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

func start() {
	path, err := chromiumPath()
	if err != nil {
		startErr = err
		return
	}
	dir, err := os.MkdirTemp("", "crossdock-chromium-")
	if err != nil {
		startErr = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// The machine has no network beyond loopback: keep Chromium from trying.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		startErr = err
		cancelBrowser()
		cancelAlloc()
		return
	}
	browserCtx = ctx
	cancelAll = func() { cancelBrowser(); cancelAlloc(); os.RemoveAll(dir) }
}

// Close closes the shared browser, if it was started.
func Close() {
	if cancelAll != nil {
		cancelAll()
	}
}

// Tab opens a tab in a fresh browser context for the test; it closes with the test.
// The test fails when Chromium is missing: browser tests are part of the suite.
func Tab(t testing.TB) context.Context {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatalf("browsertest: start Chromium (install it with `apt-get install chromium`, or set CHROMIUM_PATH): %v", startErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	// A bound so that a stuck page fails its test instead of hanging the
	// suite; generous, because a busy 2-core machine runs many tests at once.
	// It is not a speed check.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browsertest: open tab: %v", err)
	}
	return ctx
}

// Screenshot saves a PNG of the window to path when CROSSDOCK_SCREENSHOTS names a
// folder; it is how people look at what the tests saw.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CROSSDOCK_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // what a person sees first
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.WriteFile(dir+"/"+name+".png", png, 0o644) //nolint:errcheck
}

// ScreenshotWidths saves the page as a person sees it on a laptop (1280 px)
// and on a phone (390 px), as name-1280.png and name-390.png, when
// CROSSDOCK_SCREENSHOTS names a folder; the window is left at 1280 px. With
// scrollTo (a CSS selector), each width shows that part of the page: a new
// width moves what is in view.
func ScreenshotWidths(t testing.TB, ctx context.Context, name string, scrollTo ...string) {
	t.Helper()
	if os.Getenv("CROSSDOCK_SCREENSHOTS") == "" {
		return
	}
	for _, w := range []struct {
		width, height int64
		mobile        bool
	}{{390, 844, true}, {1280, 900, false}} {
		opts := []chromedp.EmulateViewportOption{}
		if w.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		actions := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(w.width, w.height, opts...)}
		for _, sel := range scrollTo {
			actions = append(actions, chromedp.ScrollIntoView(chromedp.CSS(sel)))
		}
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Logf("screenshot %s at %d px: %v", name, w.width, err)
			return
		}
		Screenshot(t, ctx, fmt.Sprintf("%s-%d", name, w.width))
	}
}
