package views

import "strings"

// summaryFlags names a row's flags in words, for paper (no colours).
func summaryFlags(r FinanceRow) string {
	var fs []string
	if r.Level != "" {
		fs = append(fs, FinanceFlagLabel(r.Level))
	}
	if r.PriceDiffers {
		fs = append(fs, FinanceFlagLabel("price_differs"))
	}
	if r.CostMissing {
		fs = append(fs, FinanceFlagLabel("cost_missing"))
	}
	if r.CurrencyDiffers {
		fs = append(fs, FinanceFlagLabel("currency_differs"))
	}
	return strings.Join(fs, "; ")
}

// reviewText is a row's review state and note in one phrase.
func reviewText(r FinanceRow) string {
	if r.ReviewNote == "" {
		return FinanceReviewLabel(r.ReviewState)
	}
	return FinanceReviewLabel(r.ReviewState) + ": " + r.ReviewNote
}
