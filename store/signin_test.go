package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/storetest"
)

// fakeClock is moved by the test, so no test waits for a back-off in real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setupSignIn(t *testing.T) (*store.Store, *fakeClock, store.User) {
	t.Helper()
	st := storetest.New(t)
	clk := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st.Now = clk.Now
	u, err := st.CreateFirstAdmin(context.Background(), store.NewUser{Email: "owner@shop.com", Name: "Owner", Password: "correct horse battery"})
	require.NoError(t, err)
	return st, clk, u
}

func from(ip string) store.Actor { return store.Actor{IP: ip, RequestID: "req-" + ip} }

func TestThrottleWaitDoublesUpToTheCap(t *testing.T) {
	t.Parallel()
	st, clk, _ := setupSignIn(t)
	ctx := t.Context()
	addr := 0
	next := func() store.Actor { addr++; return from(fmt.Sprintf("198.51.100.%d", addr)) } // no address throttle in the way
	var waits []time.Duration
	for i := range 10 {
		_, err := st.Authenticate(ctx, "owner@shop.com", fmt.Sprint("guess ", i), next())
		require.ErrorIs(t, err, store.ErrBadCredentials, "guess %d is checked", i)
		if i < store.DefaultAccountThrottle.Limit-1 {
			continue // no wait before the limit
		}
		// The right password is refused unchecked, saying how long to wait.
		_, err = st.Authenticate(ctx, "owner@shop.com", "correct horse battery", next())
		var te *store.ThrottledError
		require.ErrorAs(t, err, &te, "after failure %d", i+1)
		require.Equal(t, clk.Now().Add(te.Wait), te.Until)
		waits = append(waits, te.Wait)
		clk.Advance(te.Wait)
	}
	s := time.Second
	require.Equal(t, []time.Duration{10 * s, 20 * s, 40 * s, 80 * s, 120 * s, 120 * s}, waits)
}

func TestParallelGuessesTakeTheirSlotBeforeTheCheck(t *testing.T) {
	t.Parallel()
	st, _, _ := setupSignIn(t)
	const guesses = 40
	errs := make([]error, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Authenticate(context.Background(), "owner@shop.com", fmt.Sprint("guess ", i), from("198.51.100.66"))
		}()
	}
	wg.Wait()
	var bad, throttled int
	for _, err := range errs {
		switch {
		case errors.Is(err, store.ErrBadCredentials):
			bad++
		case errors.Is(err, store.ErrThrottled):
			throttled++
		default:
			t.Fatalf("unexpected answer: %v", err)
		}
	}
	limit := store.DefaultAccountThrottle.Limit
	require.Equal(t, limit, bad, "exactly the limit's guesses are checked")
	require.Equal(t, guesses-limit, throttled)
	failures, _, err := st.SignInThrottle(t.Context(), false, "OWNER@shop.com")
	require.NoError(t, err)
	require.Equal(t, limit, failures)
	// Every attempt is counted on its address: those let through and those
	// refused because the account waits as failures, the rest as refused.
	failures, refused, err := st.SignInThrottle(t.Context(), true, "198.51.100.66")
	require.NoError(t, err)
	require.Equal(t, store.DefaultAddressThrottle.Limit, failures)
	require.Equal(t, guesses, failures+refused, "every attempt is counted")

	_, err = st.Authenticate(t.Context(), "owner@shop.com", "correct horse battery", from("203.0.113.5"))
	var te *store.ThrottledError
	require.ErrorAs(t, err, &te, "the right password waits too")
	require.False(t, te.Address)
	require.Equal(t, store.DefaultAccountThrottle.Base, te.Wait)
}

// An attacker at one address guessing whenever allowed, for hours, must not
// keep the owner out: the address's waits soon outgrow the account's, and
// then its guesses no longer reach the account often enough to shut it.
func TestOneAddressCannotKeepAnAccountShut(t *testing.T) {
	t.Parallel()
	st, clk, _ := setupSignIn(t)
	ctx := t.Context()
	var keptOut []int // minutes at which the owner was refused
	owner, checked := 0, 0
	for minute := 0; minute < 4*60; minute += 2 { // four hours, two minutes at a time
		for i := range 3 {
			_, err := st.Authenticate(ctx, "owner@shop.com", fmt.Sprintf("guess %d-%d", minute, i), from("198.51.100.66"))
			if errors.Is(err, store.ErrBadCredentials) {
				checked++
			} else {
				require.ErrorIs(t, err, store.ErrThrottled)
			}
		}
		if minute%10 == 8 { // the owner signs in every ten minutes
			owner++
			if _, err := st.Authenticate(ctx, "owner@shop.com", "correct horse battery", from("203.0.113.5")); err != nil {
				require.ErrorIs(t, err, store.ErrThrottled)
				keptOut = append(keptOut, minute)
			}
		}
		clk.Advance(2 * time.Minute)
	}
	// While the address still had free guesses the account waited when the
	// owner came; from then on, never.
	require.LessOrEqual(t, len(keptOut), 2, "the owner was kept out at minutes %v of %d tries", keptOut, owner)
	for _, m := range keptOut {
		require.Less(t, m, 30, "the owner was kept out at minutes %v", keptOut)
	}
	// The address throttle caps the guesses: the free ones, then one per wait.
	require.Less(t, checked, 40, "guesses checked in four hours")
}

func TestUnknownEmailsHoldBackTheirAddressOnly(t *testing.T) {
	t.Parallel()
	st, _, owner := setupSignIn(t)
	limit := store.DefaultAddressThrottle.Limit
	for i := range limit {
		_, err := st.Authenticate(t.Context(), fmt.Sprintf("nobody%d@shop.com", i), "wrong password!", from("198.51.100.66"))
		require.ErrorIs(t, err, store.ErrBadCredentials)
	}
	_, err := st.Authenticate(t.Context(), "owner@shop.com", "correct horse battery", from("198.51.100.66"))
	var te *store.ThrottledError
	require.ErrorAs(t, err, &te)
	require.True(t, te.Address)
	u, err := st.Authenticate(t.Context(), "owner@shop.com", "correct horse battery", from("203.0.113.5"))
	require.NoError(t, err)
	require.Equal(t, owner.ID, u.ID)
}

func TestSuccessfulSignInsDoNotHoldBackTheirAddress(t *testing.T) {
	t.Parallel()
	st, _, _ := setupSignIn(t)
	// An office behind one address signs in all day.
	for i := range 3 * store.DefaultAddressThrottle.Limit {
		_, err := st.Authenticate(t.Context(), "owner@shop.com", "correct horse battery", from("203.0.113.5"))
		require.NoError(t, err, "sign-in %d", i)
	}
	failures, _, err := st.SignInThrottle(t.Context(), true, "203.0.113.5")
	require.NoError(t, err)
	require.Zero(t, failures)
}

func TestSignInEventsAreAudited(t *testing.T) {
	t.Parallel()
	st, _, owner := setupSignIn(t)
	ctx := t.Context()
	for i := range store.DefaultAccountThrottle.Limit {
		_, err := st.Authenticate(ctx, "owner@shop.com", fmt.Sprint("guess ", i), from("198.51.100.66"))
		require.ErrorIs(t, err, store.ErrBadCredentials)
	}
	_, err := st.Authenticate(ctx, "nobody@shop.com", "wrong password!", from("198.51.100.66"))
	require.ErrorIs(t, err, store.ErrBadCredentials)
	_, unlocked, err := st.UnlockSignIn(ctx, store.Actor{UserID: owner.ID, Label: owner.Email}, owner.ID)
	require.NoError(t, err)
	require.True(t, unlocked)
	_, err = st.Authenticate(ctx, "owner@shop.com", "correct horse battery", from("203.0.113.5"))
	require.NoError(t, err)

	entries, _, err := st.ListAudit(ctx, store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	var got []string
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		got = append(got, e.Action+" "+e.ObjectID+" "+e.IP+": "+e.Summary)
	}
	id := fmt.Sprint(owner.ID)
	want := []string{"user.created " + id + " : Set up Crossdock with first admin Owner (owner@shop.com)"}
	for range store.DefaultAccountThrottle.Limit {
		want = append(want, "user.sign_in_failed "+id+" 198.51.100.66: Failed sign-in as owner@shop.com: wrong password")
	}
	want = append(want,
		"user.sign_in_throttled "+id+" 198.51.100.66: Sign-ins as owner@shop.com held back for 10 seconds after 5 failed attempts",
		"user.sign_in_failed  198.51.100.66: Failed sign-in as nobody@shop.com: no such account",
		"user.sign_in_unlocked "+id+" : Unlocked sign-in for owner@shop.com after 5 failed attempts",
		"user.signed_in "+id+" 203.0.113.5: Owner signed in",
	)
	require.Equal(t, want, got)
}

func TestDescribeWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{time.Second, "1 second"},
		{1500 * time.Millisecond, "2 seconds"},
		{10 * time.Second, "10 seconds"},
		{90 * time.Second, "90 seconds"},
		{91 * time.Second, "2 minutes"},
		{30 * time.Minute, "30 minutes"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, store.DescribeWait(tc.in), tc.in.String())
	}
}
