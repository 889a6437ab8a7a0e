package handlers

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
)

// HealthStore is what the readiness check asks the database.
type HealthStore interface {
	Ping(ctx context.Context) error
	MigrationsCurrent(ctx context.Context) (bool, error)
	WebhookIntakeLag(ctx context.Context) (store.IntakeLag, error)
}

// Health answers the liveness and readiness probes.
type Health struct {
	Store HealthStore
}

// Live answers 200 while the process runs.
func (h Health) Live(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// Ready answers 200 when the database answers and its schema is current, 503 otherwise.
func (h Health) Ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.Store.Ping(ctx); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "unreachable"})
	}
	ok, err := h.Store.MigrationsCurrent(ctx)
	if err != nil || !ok {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "reachable", "migrations": "pending"})
	}
	// A stuck intake leaves every delivery accepted but none synced: the
	// process looks healthy while nothing moves, so readiness says so.
	lag, err := h.Store.WebhookIntakeLag(ctx)
	if err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "reachable",
			"migrations": "current", "webhook_intake": "unknown", "message": "The age of the oldest waiting webhook event could not be read."})
	}
	if lag.Stuck() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "database": "reachable",
			"migrations": "current", "webhook_intake": "stuck", "oldest_waiting_seconds": math.Round(lag.Oldest.Seconds()),
			"message": fmt.Sprintf("Webhook intake is stuck: the oldest event has waited %s to become syncs (the limit is %s, "+
				"set by the alert rule \"Webhook intake stuck\").", roughly(lag.Oldest), roughly(lag.Limit))})
	}
	return c.JSON(fiber.Map{"status": "ok", "database": "reachable", "migrations": "current", "webhook_intake": "ok"})
}

// roughly says a duration in whole minutes, or seconds under two minutes.
func roughly(d time.Duration) string {
	if d < 2*time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	}
	return fmt.Sprintf("%d minutes", int(d.Minutes()))
}
