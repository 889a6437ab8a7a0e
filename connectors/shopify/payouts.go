package shopify

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Shopify Payments: the payouts into the merchant's bank and the balance
// transactions (charges, refunds, fees, disputes, adjustments, reserves)
// each is made of, read through shopifyPaymentsAccount in pages, oldest
// first, from a moment on (the sweep's high-water mark). Amounts stay the
// decimal strings Shopify sends: the store keeps them as numeric.

// ErrNoPayments is returned when the shop has no Shopify Payments account
// (or the app may not read it: read_shopify_payments_payouts).
var ErrNoPayments = errors.New("shopify: this store has no Shopify Payments account Crossdock may read; grant the app read_shopify_payments_payouts, or the store does not use Shopify Payments")

const moneyFields = `{ amount currencyCode }`

// PayoutsQuery reads payouts issued after a moment, oldest first. One node
// costs 12 points (its net and ten summary amounts), so 50 a page cost about 600.
const PayoutsQuery = `query CrossdockPayouts($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    payouts(first: $first, after: $after, query: $query, sortKey: ISSUED_AT) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id legacyResourceId issuedAt status transactionType externalTraceId
        net ` + moneyFields + `
        summary {
          chargesGross ` + moneyFields + ` chargesFee ` + moneyFields + `
          refundsFeeGross ` + moneyFields + ` refundsFee ` + moneyFields + `
          adjustmentsGross ` + moneyFields + ` adjustmentsFee ` + moneyFields + `
          reservedFundsGross ` + moneyFields + ` reservedFundsFee ` + moneyFields + `
          retriedPayoutsGross ` + moneyFields + ` retriedPayoutsFee ` + moneyFields + `
        }
      }
    }
  }
}`

// BalanceTransactionsQuery reads balance transactions processed after a
// moment, oldest first. One node costs 6 points: 160 a page cost about 963,
// under the 1,000 points one query may cost.
const BalanceTransactionsQuery = `query CrossdockBalanceTransactions($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    balanceTransactions(first: $first, after: $after, query: $query, sortKey: PROCESSED_AT) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id type test sourceType sourceId sourceOrderTransactionId adjustmentReason transactionDate
        amount ` + moneyFields + ` fee ` + moneyFields + ` net ` + moneyFields + `
        associatedOrder { id name }
        associatedPayout { id status }
      }
    }
  }
}`

// PayoutSummary is what a payout is made of, by kind of transaction.
type PayoutSummary struct {
	ChargesGross        Money `json:"chargesGross"`
	ChargesFee          Money `json:"chargesFee"`
	RefundsFeeGross     Money `json:"refundsFeeGross"`
	RefundsFee          Money `json:"refundsFee"`
	AdjustmentsGross    Money `json:"adjustmentsGross"`
	AdjustmentsFee      Money `json:"adjustmentsFee"`
	ReservedFundsGross  Money `json:"reservedFundsGross"`
	ReservedFundsFee    Money `json:"reservedFundsFee"`
	RetriedPayoutsGross Money `json:"retriedPayoutsGross"`
	RetriedPayoutsFee   Money `json:"retriedPayoutsFee"`
}

// Payout is one payout of Shopify Payments into the merchant's bank.
type Payout struct {
	ID               string        `json:"id"`
	LegacyResourceID string        `json:"legacyResourceId"`
	IssuedAt         time.Time     `json:"issuedAt"`
	Status           string        `json:"status"`          // SCHEDULED, PAID, FAILED, CANCELED (IN_TRANSIT: deprecated)
	TransactionType  string        `json:"transactionType"` // DEPOSIT or WITHDRAWAL
	ExternalTraceID  *string       `json:"externalTraceId"` // the bank's trace reference, when known
	Net              Money         `json:"net"`
	Summary          PayoutSummary `json:"summary"`
}

// TraceID is the bank's trace reference, "" when Shopify has none.
func (p Payout) TraceID() string { return str(p.ExternalTraceID) }

// PayoutPage is one page of PayoutsIssuedSince.
type PayoutPage struct {
	Payouts  []Payout
	PageInfo PageInfo
}

// BalanceTransaction is one movement of the Shopify Payments balance.
type BalanceTransaction struct {
	ID string
	// Kind is Type in Crossdock's words: charge, refund, dispute,
	// adjustment, reserve, transfer, or other (Shopify's type list has
	// over a hundred values and grows).
	Kind, Type               string
	Test                     bool
	SourceType, SourceID     string
	SourceOrderTransactionID string
	AdjustmentReason         string
	Amount, Fee, Net         Money
	OrderID, OrderName       string
	PayoutID, PayoutStatus   string
	TransactionDate          time.Time
}

// BalanceTransactionPage is one page of BalanceTransactionsSince.
type BalanceTransactionPage struct {
	Transactions []BalanceTransaction
	PageInfo     PageInfo
}

// TransactionKind maps Shopify's balance transaction type to Crossdock's
// kinds; a type it does not know is "other".
func TransactionKind(t string) string {
	t = strings.ToUpper(strings.TrimSpace(t))
	switch {
	case t == "CHARGE":
		return "charge"
	case t == "REFUND" || t == "REFUND_FAILURE":
		return "refund"
	case strings.HasPrefix(t, "DISPUTE") || strings.HasPrefix(t, "CHARGEBACK"):
		return "dispute"
	case strings.HasPrefix(t, "ADJUSTMENT") || t == "APPLICATION_FEE_REFUND":
		return "adjustment"
	case strings.HasPrefix(t, "RESERVED_FUNDS") || t == "RESERVE":
		return "reserve"
	case t == "TRANSFER" || strings.HasPrefix(t, "TRANSFER_") || strings.HasPrefix(t, "PAYOUT"):
		return "transfer"
	}
	return "other"
}

// issuedQuery and processedQuery are the search filters "after t".
func afterQuery(field string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return field + ":>'" + t.UTC().Format(time.RFC3339) + "'"
}

// PayoutsIssuedSince reads one page of the payouts issued after since (all
// of them for a zero since), oldest first.
func (c *Client) PayoutsIssuedSince(ctx context.Context, since time.Time, after string, first int) (PayoutPage, error) {
	var out struct {
		Account *struct {
			Payouts struct {
				PageInfo PageInfo `json:"pageInfo"`
				Nodes    []Payout `json:"nodes"`
			} `json:"payouts"`
		} `json:"shopifyPaymentsAccount"`
	}
	vars := map[string]any{"first": clampFirst(first, 50, 50), "after": cursor(after), "query": nilIfEmpty(afterQuery("issued_at", since))}
	if err := c.Do(ctx, PayoutsQuery, vars, &out); err != nil {
		return PayoutPage{}, err
	}
	if out.Account == nil {
		return PayoutPage{}, ErrNoPayments
	}
	return PayoutPage{Payouts: out.Account.Payouts.Nodes, PageInfo: out.Account.Payouts.PageInfo}, nil
}

// BalanceTransactionsSince reads one page of the balance transactions
// processed after since (all of them for a zero since), oldest first.
func (c *Client) BalanceTransactionsSince(ctx context.Context, since time.Time, after string, first int) (BalanceTransactionPage, error) {
	var out struct {
		Account *struct {
			Txs struct {
				PageInfo PageInfo `json:"pageInfo"`
				Nodes    []struct {
					ID                       string    `json:"id"`
					Type                     string    `json:"type"`
					Test                     bool      `json:"test"`
					SourceType               *string   `json:"sourceType"`
					SourceID                 *string   `json:"sourceId"`
					SourceOrderTransactionID *string   `json:"sourceOrderTransactionId"`
					AdjustmentReason         *string   `json:"adjustmentReason"`
					TransactionDate          time.Time `json:"transactionDate"`
					Amount                   Money     `json:"amount"`
					Fee                      Money     `json:"fee"`
					Net                      Money     `json:"net"`
					AssociatedOrder          *struct {
						ID   string `json:"id"`
						Name string `json:"name"`
					} `json:"associatedOrder"`
					AssociatedPayout *struct {
						ID     *string `json:"id"`
						Status *string `json:"status"`
					} `json:"associatedPayout"`
				} `json:"nodes"`
			} `json:"balanceTransactions"`
		} `json:"shopifyPaymentsAccount"`
	}
	vars := map[string]any{"first": clampFirst(first, 100, 160), "after": cursor(after), "query": nilIfEmpty(afterQuery("processed_at", since))}
	if err := c.Do(ctx, BalanceTransactionsQuery, vars, &out); err != nil {
		return BalanceTransactionPage{}, err
	}
	if out.Account == nil {
		return BalanceTransactionPage{}, ErrNoPayments
	}
	page := BalanceTransactionPage{PageInfo: out.Account.Txs.PageInfo}
	for _, n := range out.Account.Txs.Nodes {
		t := BalanceTransaction{ID: n.ID, Kind: TransactionKind(n.Type), Type: n.Type, Test: n.Test, SourceType: str(n.SourceType),
			SourceID: str(n.SourceID), SourceOrderTransactionID: str(n.SourceOrderTransactionID), AdjustmentReason: str(n.AdjustmentReason),
			Amount: n.Amount, Fee: n.Fee, Net: n.Net, TransactionDate: n.TransactionDate}
		if o := n.AssociatedOrder; o != nil {
			t.OrderID, t.OrderName = o.ID, o.Name
		}
		if p := n.AssociatedPayout; p != nil {
			t.PayoutID, t.PayoutStatus = str(p.ID), str(p.Status)
		}
		page.Transactions = append(page.Transactions, t)
	}
	return page, nil
}
