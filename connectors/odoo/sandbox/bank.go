package sandbox

import (
	"strings"
	"time"
)

// Bank statement lines (account.bank.statement.line): the deposits on the
// merchant's bank account, as the bank feed or a statement import brings
// them into Odoo. Payouts are matched against them.

func (s *Server) buildBankModels() {
	add := func(m *model) { s.models[m.name] = m }
	add(newModel("account.journal", "Journal", "Invoicing / Billing", map[string]*field{
		"name":        req(char("Journal Name")),
		"type":        sel("Type", "sale", "purchase", "cash", "bank", "general"),
		"code":        char("Short Code"),
		"currency_id": m2o("Currency", "res.currency"),
	}))
	line := newModel("account.bank.statement.line", "Bank Statement Line", "Invoicing / Billing", map[string]*field{
		"date":          req(date("Date")),
		"amount":        num("Amount"),
		"payment_ref":   char("Label"),
		"ref":           char("Reference"),
		"journal_id":    m2o("Journal", "account.journal"),
		"currency_id":   m2o("Journal Currency", "res.currency"),
		"partner_id":    m2o("Partner", "res.partner"),
		"is_reconciled": flag("Is Reconciled"),
	})
	line.defaults = func(s *Server, r record) {
		setDefault(r, "currency_id", s.companyCurrency())
		setDefault(r, "is_reconciled", false)
	}
	add(line)
}

// BankLine is a deposit to add to the sandbox's bank account.
type BankLine struct {
	Date      time.Time
	Amount    float64
	Label     string // payment_ref: what the bank wrote ("SHOPIFY PAYOUT TRC…")
	Currency  string // "" for the company's
	Reference string
}

// AddBankLineDirect adds a bank statement line, as the bank feed would, and
// returns its id.
func (s *Server) AddBankLineDirect(b BankLine) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.companyCurrency()
	if b.Currency != "" {
		for id, c := range s.models["res.currency"].recs {
			if strings.EqualFold(c["name"].(string), b.Currency) {
				cur = id
			}
		}
	}
	m := s.models["account.bank.statement.line"]
	id := m.nextID
	m.nextID++
	now := s.stamp()
	m.put(id, record{"id": id, "date": b.Date.UTC().Format("2006-01-02"), "amount": round2(b.Amount), "payment_ref": b.Label,
		"ref": b.Reference, "journal_id": 0, "currency_id": cur, "partner_id": 0, "is_reconciled": false,
		"create_date": now, "write_date": now})
	return id
}
