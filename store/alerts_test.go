package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/store/storetest"
	"crossdock/vocab"
)

func TestAlertRuleThresholdsMustBePossible(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    store.AlertRuleInput
		field string // "" when valid
		words string
	}{
		{"failure rate in range", store.AlertRuleInput{Kind: store.AlertWebhookFailureRate, Threshold: "5 %", WindowMinutes: "15", RepeatMinutes: "60"}, "", ""},
		{"failure rate of 100 % can never fire", store.AlertRuleInput{Kind: store.AlertWebhookFailureRate, Threshold: "100", WindowMinutes: "15", RepeatMinutes: "60"}, "threshold", "nothing ever could"},
		{"negative failure rate", store.AlertRuleInput{Kind: store.AlertWebhookFailureRate, Threshold: "-1", WindowMinutes: "15", RepeatMinutes: "60"}, "threshold", "percentage"},
		{"threshold not a number", store.AlertRuleInput{Kind: store.AlertQueueLag, Threshold: "soon", WindowMinutes: "1", RepeatMinutes: "60"}, "threshold", "must be a number"},
		{"zero lag", store.AlertRuleInput{Kind: store.AlertQueueLag, Threshold: "0", WindowMinutes: "1", RepeatMinutes: "60"}, "threshold", "from 1 minute"},
		{"half a failed sync", store.AlertRuleInput{Kind: store.AlertFailedSyncsBurst, Threshold: "2.5", WindowMinutes: "10", RepeatMinutes: "60"}, "threshold", "whole number"},
		{"window of zero minutes", store.AlertRuleInput{Kind: store.AlertFailedSyncsBurst, Threshold: "3", WindowMinutes: "0", RepeatMinutes: "60"}, "window_minutes", "The window"},
		{"repeat every minute would flood", store.AlertRuleInput{Kind: store.AlertBreakerOpen, WindowMinutes: "1", RepeatMinutes: "1"}, "repeat_minutes", "from 5 to"},
		{"fact rules need no threshold", store.AlertRuleInput{Kind: store.AlertBreakerOpen, Threshold: "", WindowMinutes: "1", RepeatMinutes: "60"}, "", ""},
		{"unknown kind", store.AlertRuleInput{Kind: "moon_phase", WindowMinutes: "1", RepeatMinutes: "60"}, "kind", "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, fe := tc.in.Validate()
			if tc.field == "" {
				require.Nil(t, fe)
				return
			}
			require.Contains(t, fe[tc.field], tc.words)
		})
	}
}

func TestAlertRulesHaveDefaultsAndChangesAreAudited(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	rs, err := st.AlertRules(ctx)
	require.NoError(t, err)
	require.Len(t, rs, len(store.AlertKinds))
	for i, r := range rs {
		require.Equal(t, store.AlertKinds[i], r.Kind)
		require.True(t, r.Enabled, "%s is enabled on install", r.Kind)
	}

	_, err = st.UpdateAlertRule(ctx, store.SystemActor("test"), store.AlertRuleInput{Kind: store.AlertQueueLag, Threshold: "0", WindowMinutes: "1", RepeatMinutes: "60"})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	r, err := st.UpdateAlertRule(ctx, store.SystemActor("test"), store.AlertRuleInput{Kind: store.AlertQueueLag, Enabled: true, Threshold: "30", WindowMinutes: "1", RepeatMinutes: "120"})
	require.NoError(t, err)
	require.Equal(t, 30.0, r.Threshold)
	entries, _, err := st.ListAudit(ctx, store.AuditFilter{ObjectType: "alert_rule"})
	require.NoError(t, err)
	require.Len(t, entries, 1, "the refused change left no trace, the saved one did")
	require.Equal(t, "alert_rule.updated", entries[0].Action)
}

func TestSMTPPasswordIsSealedAndKept(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := t.Context()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	a := store.SystemActor("test")
	_, err = st.SaveSMTP(ctx, a, box, store.SMTPSettingsInput{Host: "smtp.shop.test", Port: "587", From: "crossdock@shop.test", Username: "u", Password: "p4ssword"})
	require.NoError(t, err)
	var raw string
	require.NoError(t, st.DB.GetContext(ctx, &raw, `SELECT value::text FROM app_settings WHERE key = 'alerts.smtp'`))
	require.NotContains(t, raw, "p4ssword")
	// Saving without a password keeps the saved one.
	_, err = st.SaveSMTP(ctx, a, box, store.SMTPSettingsInput{Host: "smtp2.shop.test", Port: "587", From: "crossdock@shop.test", Username: "u"})
	require.NoError(t, err)
	s, err := st.SMTP(ctx, box)
	require.NoError(t, err)
	require.Equal(t, "smtp2.shop.test", s.Host)
	require.Equal(t, "p4ssword", s.Password)

	_, err = st.SaveSMTP(ctx, a, box, store.SMTPSettingsInput{Host: "https://smtp", Port: "99999", From: "nobody"})
	var fe vocab.FieldErrors
	require.ErrorAs(t, err, &fe)
	require.Len(t, fe, 3)
}
