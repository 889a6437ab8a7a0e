package engine_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks"
	qbsandbox "crossdock/connectors/quickbooks/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
	"crossdock/engine/enginetest"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/vocab"
)

// payoutsToQuickBooks connects a QuickBooks twin with its payouts accounts
// set (fees: the twin's "Bank Charges & Fees", seeded after the items) and
// makes it the one receiver of payouts.
func payoutsToQuickBooks(t *testing.T, env *enginetest.Env, settings map[string]string) *enginetest.QuickBooks {
	t.Helper()
	fees := strconv.Itoa(6 + len(env.VariantBySKU) + 1)
	st := map[string]string{quickbooks.FieldPayoutsBank: "3", quickbooks.FieldPayoutsClearing: "1", quickbooks.FieldPayoutsFees: fees}
	for k, v := range settings {
		st[k] = v
	}
	qb := env.AddQuickBooks(t, qbsandbox.Options{}, st)
	if id, _ := qb.Twin.AccountID("Bank Charges & Fees"); settings == nil {
		require.Equal(t, fees, id, "the fees account's id")
	}
	env.SourceRule(t, store.SourceRuleInput{Family: vocab.Payouts, Master: env.ShopConn.ID, Receivers: []int64{qb.Conn.ID},
		Trigger: rules.Scheduled, SweepMinutes: 60, FreshnessMinutes: 1440, Policy: rules.MasterWins})
	return qb
}

// payoutSyncOf waits for the newest QuickBooks payouts sync of a payout to end.
func payoutSyncOf(t *testing.T, env *enginetest.Env, ref string) store.Sync {
	t.Helper()
	var id int64
	require.NoError(t, env.St.DB.GetContext(context.Background(), &id,
		`SELECT id FROM syncs WHERE flow = 'payouts.shopify_quickbooks' AND entity_ref = $1 ORDER BY id DESC LIMIT 1`, ref))
	return env.Ended(t, id)
}

// A paid payout becomes one deposit into the payouts bank account whose
// total is the payout's net (gross lines from the clearing account, fees
// negative on the fees account), recorded as the payout's deposit in
// QuickBooks; a replay makes no second deposit and says so; a payout not
// paid yet makes none; reading the payouts again queues nothing new.
func TestQuickBooksPayoutBecomesOneDeposit(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := payoutsToQuickBooks(t, env, nil)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5).Add(9 * time.Hour)
	paid := env.Shop.AddPayout(shopsandbox.NewPayout{IssuedAt: day, Txs: []shopsandbox.PayoutTx{
		{Type: "CHARGE", Amount: 120000, Fee: 3510}, {Type: "CHARGE", Amount: 4599, Fee: 163},
		{Type: "REFUND", Amount: -2500, Fee: 0}}})
	scheduled := env.Shop.AddPayout(shopsandbox.NewPayout{IssuedAt: day.Add(48 * time.Hour), Status: "SCHEDULED",
		Txs: []shopsandbox.PayoutTx{{Type: "CHARGE", Amount: 9900, Fee: 317}}})

	n, err := env.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Equal(t, 3, n, "the fixture's payout and the two added, one sync each")
	s := payoutSyncOf(t, env, paid.GID())
	require.Equal(t, vocab.SyncSucceeded, s.Status, s.Message)
	require.Contains(t, s.Message, "was deposited in Books: 1184.26 on "+day.Format("2 Jan 2006")+" into Checking.")
	sk := payoutSyncOf(t, env, scheduled.GID())
	require.Equal(t, vocab.SyncSkipped, sk.Status, sk.Message)
	require.Contains(t, sk.Message, "scheduled in Shopify, not paid yet")
	fixture := payoutSyncOf(t, env, env.Shop.Payouts()[0].GID())
	require.Equal(t, vocab.SyncSucceeded, fixture.Status, fixture.Message)

	deps := qb.Twin.Records(quickbooks.EntityDeposit)
	require.Len(t, deps, 2, "one deposit per paid payout, none for the scheduled one")
	var dep map[string]any
	for _, d := range deps {
		if d["Id"] == s.TargetRef {
			dep = d
		}
	}
	require.NotNil(t, dep, "the sync names its deposit")
	require.InDelta(t, float64(paid.Net)/100, dep["TotalAmt"], 0.001, "the deposit is the payout's net")
	require.Equal(t, "3", dep["DepositToAccountRef"].(map[string]any)["value"])
	require.Equal(t, day.Format("2006-01-02"), dep["TxnDate"])
	lines := dep["Line"].([]any)
	require.Len(t, lines, 3, "charges, refunds, fees")
	fees := lines[2].(map[string]any)
	require.InDelta(t, -36.73, fees["Amount"], 0.001)
	require.Equal(t, strconv.Itoa(6+len(env.VariantBySKU)+1), fees["DepositLineDetail"].(map[string]any)["AccountRef"].(map[string]any)["value"])

	p, err := env.St.PayoutByRef(ctx, env.ShopConn.ID, paid.GID())
	require.NoError(t, err)
	rec, ok, err := env.St.PayoutDepositOf(ctx, p.ID, qb.Conn.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, s.TargetRef, rec.LineRef)
	require.InDelta(t, p.Net, rec.Amount, 0.001)
	require.Equal(t, "QuickBooks deposit "+s.TargetRef+" into Checking", rec.Reference)
	require.Equal(t, day.Format(time.DateOnly), rec.Date.Format(time.DateOnly))

	// Replayed: read back, not made again.
	r, err := env.Eng.Replay(ctx, store.SystemActor("test"), s.ID)
	require.NoError(t, err)
	r = env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Contains(t, r.Message, "nothing was made again")
	require.Equal(t, s.TargetRef, r.TargetRef)
	require.Len(t, qb.Twin.Records(quickbooks.EntityDeposit), 2)
	// A deposit made whose record was lost (the attempt ended between
	// QuickBooks' answer and the database): the replay sends the same
	// requestid and QuickBooks answers the first deposit again.
	_, err = env.St.DB.ExecContext(ctx, `DELETE FROM payout_deposits WHERE payout_id = $1 AND connection_id = $2`, p.ID, qb.Conn.ID)
	require.NoError(t, err)
	r, err = env.Eng.Replay(ctx, store.SystemActor("test"), r.ID)
	require.NoError(t, err)
	r = env.Ended(t, r.ID)
	require.Equal(t, vocab.SyncSucceeded, r.Status, r.Message)
	require.Equal(t, s.TargetRef, r.TargetRef)
	require.Len(t, qb.Twin.Records(quickbooks.EntityDeposit), 2, "the requestid made no second deposit")
	_, ok, err = env.St.PayoutDepositOf(ctx, p.ID, qb.Conn.ID)
	require.NoError(t, err)
	require.True(t, ok, "recorded again")
	// Read again: nothing changed, nothing queued (QuickBooks is not
	// waited on like a bank).
	n, err = env.Eng.SweepPayouts(ctx, store.TriggerManual, true)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, qb.Twin.Records(quickbooks.EntityDeposit), 2)
}

// Without the payouts bank account the sync fails, naming the setting and
// what to do; nothing is deposited.
func TestQuickBooksPayoutNeedsItsAccounts(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := payoutsToQuickBooks(t, env, map[string]string{quickbooks.FieldPayoutsBank: ""})
	_, err := env.Eng.SweepPayouts(context.Background(), store.TriggerManual, true)
	require.NoError(t, err)
	s := payoutSyncOf(t, env, env.Shop.Payouts()[0].GID())
	require.Equal(t, vocab.SyncFailed, s.Status, s.Message)
	require.Equal(t, vocab.ClassValidation, *s.ErrorClass)
	require.Contains(t, s.Message, `"Bank account payouts are deposited to" is not set. Set it on the connection's page`)
	require.Empty(t, qb.Twin.Records(quickbooks.EntityDeposit))
}

// A paid payout that takes money from the bank (refunds beyond sales) is
// no deposit: its sync says so and what to do; nothing is made.
func TestQuickBooksPayoutWithdrawalMakesNoDeposit(t *testing.T) {
	t.Parallel()
	env := enginetest.Setup(t, enginetest.Options{Start: true})
	qb := payoutsToQuickBooks(t, env, nil)
	day := time.Now().UTC().AddDate(0, 0, -4)
	out := env.Shop.AddPayout(shopsandbox.NewPayout{IssuedAt: day, Txs: []shopsandbox.PayoutTx{{Type: "REFUND", Amount: -8000}, {Type: "CHARGE", Amount: 1000, Fee: 59}}})
	require.Negative(t, out.Net)
	_, err := env.Eng.SweepPayouts(context.Background(), store.TriggerManual, true)
	require.NoError(t, err)
	s := payoutSyncOf(t, env, out.GID())
	require.Equal(t, vocab.SyncSkipped, s.Status, s.Message)
	require.Contains(t, s.Message, "takes money from the bank rather than paying into it")
	require.Contains(t, s.Message, "record it there by hand")
	payoutSyncOf(t, env, env.Shop.Payouts()[0].GID())
	require.Len(t, qb.Twin.Records(quickbooks.EntityDeposit), 1, "only the fixture's payout")
}
