package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
)

// DemoLoader loads the demo workspace and says what it holds.
type DemoLoader func(ctx context.Context, a store.Actor) (summary string, err error)

// ErrDemoLoaded is what a DemoLoader returns when the demo already exists.
var ErrDemoLoaded = errors.New("the demo workspace is already loaded")

// DemoConnector adds one more demo system to the loaded workspace and
// returns its connection's id.
type DemoConnector func(ctx context.Context, a store.Actor) (connectionID int64, err error)

// Demo handles loading the demo workspace.
type Demo struct {
	Base
	Load DemoLoader
	// AddQuickBooks adds the demo QuickBooks company ("with=quickbooks");
	// nil when the console offers none.
	AddQuickBooks DemoConnector
	// LoadQuickBooks loads the Shopify + QuickBooks demo instead
	// ("with=quickbooks_only"); nil when the console offers none.
	LoadQuickBooks DemoLoader
}

// LoadWorkspace creates the sandbox systems and their connections.
func (h Demo) LoadWorkspace(c *fiber.Ctx) error {
	load := h.Load
	if c.FormValue("with") == "quickbooks_only" && h.LoadQuickBooks != nil {
		load = h.LoadQuickBooks
	}
	summary, err := load(c.UserContext(), Actor(c))
	if c.FormValue("with") == "quickbooks" && h.AddQuickBooks != nil && (err == nil || errors.Is(err, ErrDemoLoaded)) {
		id, err := h.AddQuickBooks(c.UserContext(), Actor(c))
		if err != nil {
			return err
		}
		h.Flash(c, "success", strings.TrimSpace(summary+" The demo QuickBooks company is added: press “Connect to QuickBooks Online” and sign in to it."))
		return Redirect(c, fmt.Sprintf("/connections/%d", id))
	}
	if errors.Is(err, ErrDemoLoaded) {
		h.Flash(c, "info", "The demo workspace is already loaded: its connections are below.")
		return Redirect(c, "/connections")
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", summary)
	return Redirect(c, "/")
}
