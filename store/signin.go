package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Throttle says how sign-in attempts of one account, or from one client
// address, are held back. The first Limit failures cost nothing; from then on
// each attempt must wait, Base after the Limit-th failure, doubling with each
// further one up to Cap. Attempts inside the wait are refused without
// checking the password. Failures are forgotten after Window without one.
type Throttle struct {
	Limit  int
	Base   time.Duration
	Cap    time.Duration
	Window time.Duration
}

// The default throttles. An account's wait is capped short, so nobody can
// keep a real person out for long by guessing their password; an address's
// wait grows much longer, so the guesser's own address is the one held back,
// and its guesses then no longer reach the account at all.
var (
	DefaultAccountThrottle = Throttle{Limit: 5, Base: 10 * time.Second, Cap: 2 * time.Minute, Window: 30 * time.Minute}
	DefaultAddressThrottle = Throttle{Limit: 20, Base: 30 * time.Second, Cap: 30 * time.Minute, Window: 2 * time.Hour}
)

// wait is how long to hold back after the failures-th failure (0 below Limit).
func (t Throttle) wait(failures int) time.Duration {
	if failures < t.Limit {
		return 0
	}
	d := t.Base
	for i := t.Limit; i < failures && d < t.Cap; i++ {
		d *= 2
	}
	return min(d, t.Cap)
}

// DescribeWait says a wait in plain words, rounded up: "10 seconds", "3 minutes".
func DescribeWait(d time.Duration) string {
	if d <= 90*time.Second {
		n := int((d + time.Second - 1) / time.Second)
		if n == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", n)
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

// Throttle scopes: one row per account (the email as typed, lower-cased,
// whether or not the account exists) and one per client address.
const (
	scopeAccount = "account"
	scopeAddress = "address"
)

// ErrBadCredentials is returned for a wrong email or password, without saying which.
var ErrBadCredentials = errors.New("that email and password do not match an active account")

// ErrThrottled matches every *ThrottledError.
var ErrThrottled = errors.New("too many failed sign-ins")

// ThrottledError is returned when a sign-in was refused, unchecked, because
// the account or the client address must wait.
type ThrottledError struct {
	Address bool      // the client address is held back (else the account)
	Until   time.Time // when to try again
	Wait    time.Duration
}

func (e *ThrottledError) Error() string {
	what := "this account"
	if e.Address {
		what = "this address"
	}
	return fmt.Sprintf("too many failed sign-ins to %s: try again in %s", what, DescribeWait(e.Wait))
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// dummyHash is compared against when an account does not exist: a hash at
// the cost the store gives new passwords, made once.
func (s *Store) dummyHash() []byte {
	s.dummy.once.Do(func() {
		s.dummy.hash, _ = bcrypt.GenerateFromPassword([]byte("crossdock-no-such-user"), cmp.Or(s.PasswordCost, bcrypt.DefaultCost))
	})
	return s.dummy.hash
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) accountThrottle() Throttle {
	if s.AccountThrottle.Limit > 0 {
		return s.AccountThrottle
	}
	return DefaultAccountThrottle
}

func (s *Store) addressThrottle() Throttle {
	if s.AddressThrottle.Limit > 0 {
		return s.AddressThrottle
	}
	return DefaultAddressThrottle
}

type throttleRow struct {
	Scope         string     `db:"scope"`
	Key           string     `db:"key"`
	Failures      int        `db:"failures"`
	Refused       int        `db:"refused"`
	BlockedUntil  *time.Time `db:"blocked_until"`
	LastFailureAt *time.Time `db:"last_failure_at"`
}

// forget drops failures older than the window: a row quiet that long starts over.
func (r *throttleRow) forget(t Throttle, now time.Time) {
	if r.LastFailureAt != nil && now.Sub(*r.LastFailureAt) >= t.Window {
		r.Failures, r.Refused, r.BlockedUntil, r.LastFailureAt = 0, 0, nil, nil
	}
}

// blocked reports whether the row must wait at now, and until when.
func (r throttleRow) blocked(now time.Time) (time.Time, bool) {
	if r.BlockedUntil != nil && r.BlockedUntil.After(now) {
		return *r.BlockedUntil, true
	}
	return time.Time{}, false
}

// fail counts one more failure and reports whether it starts the wait.
func (r *throttleRow) fail(t Throttle, now time.Time) (started bool) {
	r.Failures++
	r.LastFailureAt = &now
	if d := t.wait(r.Failures); d > 0 {
		until := now.Add(d)
		r.BlockedUntil = &until
	}
	return r.Failures == t.Limit
}

// signInSlot is an attempt that was let through to the password check. Its
// failure is already counted; a successful sign-in gives it back.
type signInSlot struct {
	account, address               throttleRow
	accountStarted, addressStarted bool
}

const throttleColumns = `scope, key, failures, refused, blocked_until, last_failure_at`

// reserveSignIn takes an attempt's slot before its password is checked. The
// account and address rows are locked (in one order, so concurrent attempts
// cannot deadlock) and the attempt is counted as a failure in the same
// transaction: of 40 parallel guesses, exactly those the limits allow are
// checked, whatever the timing. A refused attempt is counted as refused; one
// refused because the account waits also counts as a failure of its address,
// so an address that keeps trying a held-back account is held back itself.
func (s *Store) reserveSignIn(ctx context.Context, email, ip string, a Actor) (signInSlot, error) {
	now := s.now()
	acctT, addrT := s.accountThrottle(), s.addressThrottle()
	var (
		slot    signInSlot
		refusal *ThrottledError
	)
	err := s.InTx(ctx, func(tx *Tx) error {
		var rows []throttleRow
		// The upsert locks both rows; its VALUES order (account, then
		// address) is the same for every attempt.
		if err := sqlxSelect(ctx, tx.q, &rows, `INSERT INTO login_throttles (scope, key, updated_at)
VALUES ('account', $1, $3), ('address', $2, $3)
ON CONFLICT (scope, key) DO UPDATE SET updated_at = EXCLUDED.updated_at
RETURNING `+throttleColumns, email, ip, now); err != nil {
			return fmt.Errorf("store: sign-in throttle: %w", err)
		}
		for _, r := range rows {
			if r.Scope == scopeAccount {
				slot.account = r
			} else {
				slot.address = r
			}
		}
		acct, addr := &slot.account, &slot.address
		acct.forget(acctT, now)
		addr.forget(addrT, now)
		if until, ok := addr.blocked(now); ok {
			addr.Refused++
			refusal = &ThrottledError{Address: true, Until: until, Wait: until.Sub(now)}
		} else if until, ok := acct.blocked(now); ok {
			acct.Refused++
			slot.addressStarted = addr.fail(addrT, now)
			refusal = &ThrottledError{Until: until, Wait: until.Sub(now)}
		} else {
			slot.accountStarted = acct.fail(acctT, now)
			slot.addressStarted = addr.fail(addrT, now)
		}
		for _, r := range []throttleRow{*acct, *addr} {
			if _, err := tx.ext.ExecContext(ctx, `UPDATE login_throttles
SET failures = $3, refused = $4, blocked_until = $5, last_failure_at = $6, updated_at = $7
WHERE scope = $1 AND key = $2`, r.Scope, r.Key, r.Failures, r.Refused, r.BlockedUntil, r.LastFailureAt, now); err != nil {
				return fmt.Errorf("store: sign-in throttle: %w", err)
			}
		}
		// A refused attempt is over: its address's wait, if it starts now, is final.
		if refusal != nil && slot.addressStarted {
			return tx.auditThrottleStart(ctx, a, *addr, addrT, "")
		}
		return nil
	})
	if err != nil {
		return signInSlot{}, err
	}
	if refusal != nil {
		// Committed: the refusal is counted.
		return signInSlot{}, refusal
	}
	return slot, nil
}

// auditThrottleStart records that an account or an address starts to wait.
func (q q) auditThrottleStart(ctx context.Context, a Actor, r throttleRow, t Throttle, userID string) error {
	wait := DescribeWait(t.wait(r.Failures))
	c := Change{Action: "user.sign_in_throttled", ObjectType: "user", ObjectID: userID,
		Summary: fmt.Sprintf("Sign-ins as %s held back for %s after %d failed attempts", r.Key, wait, r.Failures)}
	if r.Scope == scopeAddress {
		c = Change{Action: "address.sign_in_throttled", ObjectType: "address", ObjectID: r.Key,
			Summary: fmt.Sprintf("Sign-ins from %s held back for %s after %d failed attempts", r.Key, wait, r.Failures)}
	}
	return q.Audit(ctx, a, c)
}

// maxCheckedPassword bounds the password bcrypt is asked to compare; the
// sign-in form refuses longer ones before they get here.
const maxCheckedPassword = 200

// Authenticate checks an email and password and returns the active user they
// belong to. The attempt is throttled per account and per client address (a.IP)
// before the password is checked; a refused attempt returns a *ThrottledError
// saying when to try again. Sign-ins, failed sign-ins and the start of every
// wait go to the audit log; a.RequestID and a.IP are recorded with them.
func (s *Store) Authenticate(ctx context.Context, email, password string, a Actor) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a.UserID, a.Label = 0, "anonymous"
	slot, err := s.reserveSignIn(ctx, email, a.IP, a)
	if err != nil {
		return User{}, err
	}
	u, err := s.UserByEmail(ctx, email)
	var found *User
	if err == nil && u.Active {
		found = &u
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	var matches bool
	if found == nil {
		// Burn the time a known account's check takes, so the answer's
		// speed does not tell whether the account exists.
		bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password)) //nolint:errcheck
	} else {
		matches = len(password) <= maxCheckedPassword && PasswordMatches(found, password)
	}
	if !matches {
		why, userID := "no such account", ""
		if err == nil {
			why, userID = "wrong password", strconv.FormatInt(u.ID, 10)
			if !u.Active {
				why = "the account is deactivated"
			}
		}
		err := s.InTx(ctx, func(tx *Tx) error {
			if err := tx.Audit(ctx, a, Change{Action: "user.sign_in_failed", ObjectType: "user", ObjectID: userID,
				Summary: fmt.Sprintf("Failed sign-in as %s: %s", email, why)}); err != nil {
				return err
			}
			if slot.accountStarted {
				if err := tx.auditThrottleStart(ctx, a, slot.account, s.accountThrottle(), userID); err != nil {
					return err
				}
			}
			if slot.addressStarted {
				return tx.auditThrottleStart(ctx, a, slot.address, s.addressThrottle(), "")
			}
			return nil
		})
		if err != nil {
			return User{}, err
		}
		return User{}, ErrBadCredentials
	}
	addrLimit := s.addressThrottle().Limit
	err = s.InTx(ctx, func(tx *Tx) error {
		// The right password: the account starts over, and the address gets
		// back the slot this attempt took (an office signing in every morning
		// must not hold itself back). Relative, as other attempts may have
		// counted meanwhile.
		if _, err := tx.ext.ExecContext(ctx, `DELETE FROM login_throttles WHERE scope = 'account' AND key = $1`, email); err != nil {
			return fmt.Errorf("store: sign-in throttle: %w", err)
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE login_throttles
SET failures = greatest(failures - 1, 0),
    blocked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE blocked_until END
WHERE scope = 'address' AND key = $1`, a.IP, addrLimit); err != nil {
			return fmt.Errorf("store: sign-in throttle: %w", err)
		}
		if err := tx.RecordLogin(ctx, u.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, Actor{UserID: u.ID, Label: cmp.Or(u.Name, u.Email), RequestID: a.RequestID, IP: a.IP},
			Change{Action: "user.signed_in", ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10), Summary: cmp.Or(u.Name, u.Email) + " signed in"})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// SignInHold is an account's recent failed sign-ins, for the Users page.
type SignInHold struct {
	Email    string // lower-case
	Failures int
	Refused  int
	// Throttled: past the limit, every further attempt waits.
	Throttled bool
	// Until is when the current wait ends; nil when it is over (the next
	// failure starts a longer one).
	Until *time.Time
}

// SignInHolds lists the accounts with recent failed sign-ins (existing
// accounts only: rows for unknown emails stay out of the Users page).
func (s *Store) SignInHolds(ctx context.Context) ([]SignInHold, error) {
	now, t := s.now(), s.accountThrottle()
	var rows []throttleRow
	if err := sqlxSelect(ctx, s.q, &rows, `SELECT `+throttleColumns+` FROM login_throttles t
WHERE scope = 'account' AND failures > 0 AND last_failure_at > $1
  AND EXISTS (SELECT 1 FROM users u WHERE lower(u.email) = t.key)
ORDER BY key`, now.Add(-t.Window)); err != nil {
		return nil, fmt.Errorf("store: sign-in holds: %w", err)
	}
	holds := make([]SignInHold, 0, len(rows))
	for _, r := range rows {
		h := SignInHold{Email: r.Key, Failures: r.Failures, Refused: r.Refused, Throttled: r.Failures >= t.Limit}
		if until, ok := r.blocked(now); ok {
			h.Until = &until
		}
		holds = append(holds, h)
	}
	return holds, nil
}

// UnlockSignIn forgets a user's failed sign-ins, ending any wait, and audits
// it. It reports false, changing nothing, when there was nothing to forget.
func (s *Store) UnlockSignIn(ctx context.Context, a Actor, id int64) (User, bool, error) {
	var (
		u        User
		unlocked bool
	)
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if u, err = tx.lockUser(ctx, id); err != nil {
			return err
		}
		var before []throttleRow
		if err := sqlxSelect(ctx, tx.q, &before, `DELETE FROM login_throttles WHERE scope = 'account' AND key = lower($1)
RETURNING `+throttleColumns, u.Email); err != nil {
			return fmt.Errorf("store: unlock sign-in: %w", err)
		}
		if len(before) == 0 || before[0].Failures == 0 {
			return nil
		}
		unlocked = true
		return tx.Audit(ctx, a, Change{Action: "user.sign_in_unlocked", ObjectType: "user", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Unlocked sign-in for %s after %d failed attempts", u.Email, before[0].Failures),
			Before:  map[string]any{"failures": before[0].Failures, "refused": before[0].Refused, "blocked_until": before[0].BlockedUntil}})
	})
	return u, unlocked, err
}

// SignInThrottle returns the counts of an account (an email) or an address,
// for tests and diagnostics: failures counted and attempts refused.
func (q q) SignInThrottle(ctx context.Context, address bool, key string) (failures, refused int, err error) {
	scope := scopeAccount
	if address {
		scope = scopeAddress
	} else {
		key = strings.ToLower(strings.TrimSpace(key))
	}
	var r throttleRow
	err = sqlxGet(ctx, q, &r, `SELECT `+throttleColumns+` FROM login_throttles WHERE scope = $1 AND key = $2`, scope, key)
	if errors.Is(err, ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: sign-in throttle: %w", err)
	}
	return r.Failures, r.Refused, nil
}
