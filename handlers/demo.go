package handlers

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
)

// DemoLoader loads the demo workspace and says what it holds.
type DemoLoader func(ctx context.Context, a store.Actor) (summary string, err error)

// ErrDemoLoaded is what a DemoLoader returns when the demo already exists.
var ErrDemoLoaded = errors.New("the demo workspace is already loaded")

// Demo handles loading the demo workspace.
type Demo struct {
	Base
	Load DemoLoader
}

// LoadWorkspace creates the sandbox systems and their connections.
func (h Demo) LoadWorkspace(c *fiber.Ctx) error {
	summary, err := h.Load(c.UserContext(), Actor(c))
	if errors.Is(err, ErrDemoLoaded) {
		h.Flash(c, "info", "The demo workspace is already loaded: its two connections are below.")
		return Redirect(c, "/connections")
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", summary)
	return Redirect(c, "/")
}
