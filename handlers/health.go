package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// HealthStore is what the readiness check asks the database.
type HealthStore interface {
	Ping(ctx context.Context) error
	MigrationsCurrent(ctx context.Context) (bool, error)
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
	return c.JSON(fiber.Map{"status": "ok", "database": "reachable", "migrations": "current"})
}
