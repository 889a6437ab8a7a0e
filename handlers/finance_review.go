package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/vocab"
)

// financeBack is where an action returns: the review view it was posted
// from, never another site.
func financeBack(c *fiber.Ctx) string {
	b := c.FormValue("back")
	if b == "/finance" || strings.HasPrefix(b, "/finance?") {
		return b
	}
	return "/finance"
}

// Review records finance's decision about one variant: acknowledge, accept
// with a justification, or send to the operators as a price fix.
func (h Finance) Review(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := strconv.ParseInt(c.Params("id"), 10, 64)
		if err != nil {
			return fiber.ErrNotFound
		}
		back := financeBack(c)
		in := store.FinanceAction{VariantID: id, Action: action, Note: c.FormValue("note")}
		if a := strings.TrimSpace(c.FormValue("assignee")); a != "" && a != "0" {
			if in.AssigneeID, err = strconv.ParseInt(a, 10, 64); err != nil || in.AssigneeID <= 0 {
				h.Flash(c, "critical", "Choose who takes the price fix from the list. Nothing was sent.")
				return Redirect(c, back)
			}
		}
		st, err := h.Store.ReviewVariant(c.UserContext(), Actor(c), in)
		var fe vocab.FieldErrors
		switch {
		case errors.As(err, &fe):
			msg := fe.First("note", "action", "assignee")
			h.Flash(c, "critical", msg)
		case errors.Is(err, store.ErrNotFound):
			h.Flash(c, "critical", "That variant is not in the latest comparison of prices any more. Look at the review again.")
		case errors.Is(err, store.ErrNoPriceFix):
			h.Flash(c, "critical", err.Error())
		case err != nil:
			return err
		default:
			switch st.State {
			case store.ReviewAccepted:
				h.Flash(c, "success", "The price is accepted; the reason is in the audit log.")
			case store.ReviewSent:
				h.Flash(c, "success", "Sent to the operators: the price difference (discrepancy #"+strconv.FormatInt(*st.DiscrepancyID, 10)+") now carries your request to send Odoo's price to the storefront.")
			default:
				h.Flash(c, "success", "The variant is acknowledged.")
			}
		}
		return Redirect(c, back)
	}
}
