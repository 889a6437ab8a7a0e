package recon_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/engine"
	"crossdock/engine/enginetest"
	"crossdock/engine/recon"
	"crossdock/store"
	"crossdock/store/rules"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// env is the harness's engine with reconciliation on it.
type env struct {
	*enginetest.Env
	rc *recon.Service
}

type options struct {
	start bool          // start the engine (false: the test runs comparisons itself)
	grace time.Duration // recon.Config.Grace
}

func setup(t *testing.T, o options) *env {
	t.Helper()
	e := &env{}
	e.Env = enginetest.Setup(t, enginetest.Options{Start: o.start, Attach: func(eng *engine.Engine) {
		var err error
		e.rc, err = recon.New(eng, recon.Config{Grace: o.grace})
		require.NoError(t, err)
	}})
	return e
}

// priceRule saves the source of truth of prices or costs.
func (e *env) priceRule(t *testing.T, f vocab.Family, master int64, receivers ...int64) {
	t.Helper()
	e.SourceRule(t, store.SourceRuleInput{Family: f, Master: master, Receivers: receivers, Trigger: rules.Scheduled,
		SweepMinutes: 5, FreshnessMinutes: 15, Policy: rules.MasterWins})
}

// refundsRule makes master decide refunds, and receivers receive them.
func (e *env) refundsRule(t testing.TB, master int64, receivers ...int64) {
	t.Helper()
	e.SourceRule(t, store.SourceRuleInput{Family: vocab.Refunds, Master: master, Receivers: receivers, Trigger: rules.Realtime,
		SweepMinutes: 15, FreshnessMinutes: 15, Policy: rules.MasterWins})
}
