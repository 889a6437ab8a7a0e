package odoo

import (
	"context"
	"time"
)

// BankLine is one bank statement line (account.bank.statement.line): a
// movement on a bank account as Odoo holds it.
type BankLine struct {
	ID       int
	Date     time.Time
	Amount   float64
	Label    string // payment_ref: what the bank wrote
	Ref      string
	Currency string // the journal's currency code
}

var bankLineFields = []string{"id", "date", "amount", "payment_ref", "ref", "currency_id"}

type bankLineRow struct {
	ID       int      `json:"id"`
	Date     datetime `json:"date"`
	Amount   number   `json:"amount"`
	Label    text     `json:"payment_ref"`
	Ref      text     `json:"ref"`
	Currency Many2One `json:"currency_id"`
}

// BankLinesBetween reads the incoming bank statement lines dated from from
// to to (inclusive), oldest first: the deposits a payout may be.
func (c *Client) BankLinesBetween(ctx context.Context, from, to time.Time) ([]BankLine, error) {
	domain := []any{
		[]any{"date", ">=", from.UTC().Format(DateLayout)},
		[]any{"date", "<=", to.UTC().Format(DateLayout)},
		[]any{"amount", ">", 0},
	}
	var rows []bankLineRow
	if err := c.searchRead(ctx, "account.bank.statement.line", domain, bankLineFields, 0, 0, "date, id", nil, &rows); err != nil {
		return nil, err
	}
	out := make([]BankLine, len(rows))
	for i, r := range rows {
		out[i] = BankLine{ID: r.ID, Date: time.Time(r.Date), Amount: float64(r.Amount), Label: string(r.Label), Ref: string(r.Ref),
			Currency: r.Currency.Name}
	}
	return out, nil
}
