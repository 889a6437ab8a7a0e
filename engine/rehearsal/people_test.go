package rehearsal

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/mask"
)

// A rehearsal's orders come from fake people: names from the fake lists,
// e-mails at example.com, one per real customer, the same real customer
// always the same fake one under the installation's key, a different one
// under another key, and nothing of the real customer in them.
func TestRehearsalPeopleArePseudonyms(t *testing.T) {
	t.Parallel()
	key, other := []byte("0123456789abcdef0123456789abcdef"), []byte("another key, another installation")
	real := []string{"1:gid://shopify/Customer/501", "1:gid://shopify/Customer/502", "1:real.person@shop.example"}
	people := pseudonyms(key, real)
	require.Len(t, people, rehearsalCustomers)
	emails := map[string]bool{}
	for _, p := range people {
		require.True(t, strings.HasSuffix(p.Email, "@"+mask.PseudonymDomain), p.Email)
		require.NotContains(t, p.Email, "real.person")
		require.True(t, strings.HasPrefix(p.Email, strings.ToLower(p.FirstName+"."+p.LastName+".")), p.Email)
		require.NotEmpty(t, p.FirstName)
		require.NotEmpty(t, p.LastName)
		emails[p.Email] = true
	}
	require.Len(t, emails, rehearsalCustomers, "one e-mail per customer: a partner each in the ERP")

	again := pseudonyms(key, []string{real[2], real[0]})
	require.Equal(t, people[2], again[0], "the same customer is the same fake person, wherever it comes")
	require.Equal(t, people[0], again[1])
	require.NotEqual(t, people[0], pseudonyms(other, real)[0], "another key makes other people")

	// The orders the rehearsal sends carry them.
	run := newRehearsalRun(store.Rehearsal{ID: 7}, rehearsalSetup{}, nil, people)
	var order struct {
		Email    string `json:"email"`
		Customer struct {
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		} `json:"customer"`
	}
	require.NoError(t, json.Unmarshal(run.order(1002)[0].payload, &order))
	require.Equal(t, people[2].Email, order.Email)
	require.Equal(t, people[2].Email, order.Customer.Email)
	require.Equal(t, people[2].FirstName+" "+people[2].LastName, order.Customer.FirstName+" "+order.Customer.LastName)
}
