package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/vocab"
)

// SaveWarehouse sets after how many days an order the warehouse has not
// shipped is listed as a discrepancy (admins).
func (h Reconciliation) SaveWarehouse(c *fiber.Ctx) error {
	v, ok := form(c, "late_after_days", 16)
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if !ok || err != nil {
		h.Flash(c, "critical", "Enter a number of days between 1 and 60.")
		return Redirect(c, "/reconciliation")
	}
	if err := h.Store.SaveWarehouseSettings(c.UserContext(), Actor(c), store.WarehouseSettings{LateAfterDays: n}); err != nil {
		var fe vocab.FieldErrors
		if errors.As(err, &fe) {
			h.Flash(c, "critical", fe["late_after_days"])
			return Redirect(c, "/reconciliation")
		}
		return err
	}
	h.Flash(c, "success", "Saved. The next comparison of orders at the warehouse lists those not shipped after "+strconv.Itoa(n)+" days.")
	return Redirect(c, "/reconciliation")
}
