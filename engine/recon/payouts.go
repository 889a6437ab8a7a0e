package recon

import (
	"context"
	"fmt"
	"time"

	"crossdock/store"
	"crossdock/store/rules"
)

// payoutGrace leaves payouts issued in the last days out of a comparison:
// their deposit may still be on its way to the bank.
const payoutGrace = 3 * 24 * time.Hour

// comparePayouts compares the payouts the payouts flow read from the
// Shopify master with what each accounting system holds. It pulls no
// snapshot: the flow keeps payouts, transactions and deposits in the
// store, so the comparison is one statement per accounting system.
func (s *Service) comparePayouts(ctx context.Context, run store.ReconRun, master rules.ConnInfo, others []rules.ConnInfo, start time.Time) store.RunOutcome {
	var res store.CompareResult
	var fails []pairFailure
	var closePairs []int64
	for _, o := range others {
		r, err := s.st.ComparePayouts(ctx, run.ID, master.ID, o.ID, start.Add(-payoutGrace))
		if err != nil {
			fails = append(fails, pairFailure{o.ID, fmt.Errorf("payouts of %s and %s could not be compared: %w", master.Name, o.Name, err)})
			continue
		}
		res.Compared += r.Compared
		res.Differing += r.Differing
		res.Opened += r.Opened
		res.NotComparable = append(res.NotComparable, r.NotComparable...)
		closePairs = append(closePairs, o.ID)
	}
	return outcome(res, fails, closePairs, len(others))
}
