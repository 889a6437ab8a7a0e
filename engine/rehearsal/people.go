package rehearsal

import (
	"context"
	"strconv"

	"crossdock/store/mask"
)

// rehearsalCustomers is how many people a rehearsal's orders come from.
const rehearsalCustomers = 1000

// people are a rehearsal's customers: pseudonyms under the installation's
// key (store.PseudonymKey) of the customers Crossdock knows in production
// systems, so the rehearsal's order mix looks like the store's, and of
// made-up ones where it knows fewer. Fake names and e-mails at example.com:
// a rehearsal never sends a real customer's data to a test system.
func (s *Service) people(ctx context.Context) ([]mask.Person, error) {
	key, err := s.st.PseudonymKey(ctx)
	if err != nil {
		return nil, err
	}
	real, err := s.st.ProductionCustomers(ctx, rehearsalCustomers)
	if err != nil {
		return nil, err
	}
	return pseudonyms(key, real), nil
}

// pseudonyms makes rehearsalCustomers fake people: one per real customer
// given, then made-up ones.
func pseudonyms(key []byte, real []string) []mask.Person {
	out := make([]mask.Person, rehearsalCustomers)
	for i := range out {
		who := "rehearsal:" + strconv.Itoa(i)
		if i < len(real) {
			who = real[i]
		}
		out[i] = mask.Pseudonym(key, who)
	}
	return out
}
