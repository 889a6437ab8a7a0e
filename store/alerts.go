package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// Alert rule kinds.
const (
	AlertWebhookFailureRate = "webhook_failure_rate"
	AlertQueueLag           = "queue_lag"
	AlertFreshnessMissed    = "freshness_missed"
	AlertFailedSyncsBurst   = "failed_syncs_burst"
	AlertBreakerOpen        = "breaker_open"
	AlertSubscriptionGone   = "webhook_subscription_missing"
	AlertReconDiscrepancies = "recon_discrepancies"
	AlertReconRunFailed     = "recon_run_failed"
	AlertIntakeStuck        = "webhook_intake_stuck"
	AlertLongWorkStuck      = "long_work_stuck"
	// AlertSignInEnding: a connection made by signing in (QuickBooks) must
	// be connected again soon (30 days ahead, again at 7), or now: its
	// sign-in ended or was refused.
	AlertSignInEnding = "sign_in_ending"
)

// Alert states.
const (
	AlertFiring       = "firing"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// AlertKinds lists the rule kinds in page order.
var AlertKinds = []string{AlertWebhookFailureRate, AlertQueueLag, AlertIntakeStuck, AlertFreshnessMissed, AlertFailedSyncsBurst,
	AlertBreakerOpen, AlertSignInEnding, AlertSubscriptionGone, AlertReconDiscrepancies, AlertReconRunFailed, AlertLongWorkStuck}

// AlertRule is one kind of condition Crossdock watches.
type AlertRule struct {
	Kind          string    `db:"kind"`
	Enabled       bool      `db:"enabled"`
	Threshold     float64   `db:"threshold"`
	WindowMinutes int       `db:"window_minutes"`
	RepeatMinutes int       `db:"repeat_minutes"`
	UpdatedAt     time.Time `db:"updated_at"`
}

// Window is the rule's window as a duration.
func (r AlertRule) Window() time.Duration { return time.Duration(r.WindowMinutes) * time.Minute }

// Repeat is how often a firing, unacknowledged alert is sent again.
func (r AlertRule) Repeat() time.Duration { return time.Duration(r.RepeatMinutes) * time.Minute }

// AlertRuleInput is a rule as the form submits it.
type AlertRuleInput struct {
	Kind          string
	Enabled       bool
	Threshold     string
	WindowMinutes string
	RepeatMinutes string
}

// UsesThreshold reports whether the kind has a threshold of its own (the
// others fire on a fact: a breaker open, a subscription missing, a flow's own
// freshness target missed).
func UsesThreshold(kind string) bool {
	switch kind {
	case AlertWebhookFailureRate, AlertQueueLag, AlertFailedSyncsBurst, AlertReconDiscrepancies, AlertIntakeStuck, AlertLongWorkStuck:
		return true
	}
	return false
}

// Validate parses the input; impossible values are named in plain words.
func (in AlertRuleInput) Validate() (AlertRule, vocab.FieldErrors) {
	fe := vocab.FieldErrors{}
	r := AlertRule{Kind: in.Kind, Enabled: in.Enabled}
	if !validKind(in.Kind) {
		fe["kind"] = "This kind of alert does not exist."
		return r, fe
	}
	whole := func(field, s string, lo, hi int, what string) int {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < lo || n > hi {
			fe[field] = fmt.Sprintf("%s must be a whole number of minutes from %d to %d.", what, lo, hi)
		}
		return n
	}
	r.WindowMinutes = whole("window_minutes", in.WindowMinutes, 1, 10080, "The window")
	r.RepeatMinutes = whole("repeat_minutes", in.RepeatMinutes, 5, 10080, "The repeat interval")
	if UsesThreshold(in.Kind) {
		t, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(in.Threshold), "%")), 64)
		switch {
		case err != nil:
			fe["threshold"] = "The threshold must be a number."
		case in.Kind == AlertWebhookFailureRate && (t <= 0 || t >= 100):
			fe["threshold"] = "A failure rate is a percentage above 0 and below 100: at 0 every failure alerts, at 100 nothing ever could."
		case in.Kind == AlertQueueLag && (t < 1 || t > 10080):
			fe["threshold"] = "The queue lag must be from 1 minute to a week (10080 minutes)."
		case (in.Kind == AlertIntakeStuck || in.Kind == AlertLongWorkStuck) && (t < 1 || t > 10080):
			fe["threshold"] = "The wait must be from 1 minute to a week (10080 minutes)."
		case in.Kind == AlertFailedSyncsBurst && (t < 1 || t > 1_000_000 || t != float64(int(t))):
			fe["threshold"] = "The number of failed syncs must be a whole number of at least 1."
		}
		r.Threshold = t
	}
	if len(fe) > 0 {
		return r, fe
	}
	return r, nil
}

func validKind(k string) bool {
	for _, x := range AlertKinds {
		if x == k {
			return true
		}
	}
	return false
}

const alertRuleColumns = `kind, enabled, threshold, window_minutes, repeat_minutes, updated_at`

// AlertRules returns every rule, in page order.
func (q q) AlertRules(ctx context.Context) ([]AlertRule, error) {
	var rs []AlertRule
	if err := sqlxSelect(ctx, q, &rs, `SELECT `+alertRuleColumns+` FROM alert_rules
ORDER BY array_position($1::text[], kind)`, pq.Array(AlertKinds)); err != nil {
		return nil, fmt.Errorf("store: alert rules: %w", err)
	}
	return rs, nil
}

// UpdateAlertRule saves a rule, audited.
func (s *Store) UpdateAlertRule(ctx context.Context, a Actor, in AlertRuleInput) (AlertRule, error) {
	r, fe := in.Validate()
	if fe != nil {
		return AlertRule{}, fe
	}
	var out AlertRule
	err := s.InTx(ctx, func(tx *Tx) error {
		var before AlertRule
		if err := sqlxGet(ctx, tx.q, &before, `SELECT `+alertRuleColumns+` FROM alert_rules WHERE kind = $1 FOR UPDATE`, r.Kind); err != nil {
			return fmt.Errorf("store: alert rule: %w", err)
		}
		if !UsesThreshold(r.Kind) {
			r.Threshold = before.Threshold
		}
		if err := sqlxGet(ctx, tx.q, &out, `UPDATE alert_rules SET enabled = $2, threshold = $3, window_minutes = $4,
  repeat_minutes = $5, updated_at = now() WHERE kind = $1 RETURNING `+alertRuleColumns,
			r.Kind, r.Enabled, r.Threshold, r.WindowMinutes, r.RepeatMinutes); err != nil {
			return fmt.Errorf("store: update alert rule: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "alert_rule.updated", ObjectType: "alert_rule", ObjectID: r.Kind,
			Summary: fmt.Sprintf("Changed the alert rule %s", r.Kind), Before: before, After: out})
	})
	return out, err
}

// AlertCondition is one condition that holds now: a rule kind and what it
// concerns (a flow, a connection), with the words people read.
type AlertCondition struct {
	Kind, Key      string
	Title, Message string
	Value          float64
	// Escalate: Value is a stage (a sign-in ending in 30 days, in 7, now);
	// a higher stage than the open alert's closes it without a "resolved"
	// notice and fires a new alert, acknowledged or not.
	Escalate bool
}

// Alert is one firing of a condition, open or resolved.
type Alert struct {
	ID                 int64      `db:"id"`
	Kind               string     `db:"kind"`
	Key                string     `db:"key"`
	State              string     `db:"state"`
	Title              string     `db:"title"`
	Message            string     `db:"message"`
	Value              float64    `db:"value"`
	StartedAt          time.Time  `db:"started_at"`
	LastSeenAt         time.Time  `db:"last_seen_at"`
	LastNotifiedAt     *time.Time `db:"last_notified_at"`
	AcknowledgedAt     *time.Time `db:"acknowledged_at"`
	AcknowledgedBy     string     `db:"acknowledged_by_label"`
	ResolvedAt         *time.Time `db:"resolved_at"`
	ResolvedNotifiedAt *time.Time `db:"resolved_notified_at"`
	DeliveryError      string     `db:"delivery_error"`
}

const alertColumns = `id, kind, key, state, title, message, value, started_at, last_seen_at, last_notified_at,
acknowledged_at, acknowledged_by_label, resolved_at, resolved_notified_at, delivery_error`

// AlertNotice is an alert to send, and why: it started firing, it still
// fires past its repeat interval, or it resolved.
type AlertNotice struct {
	Alert Alert
	Event string // firing, repeat, resolved
}

// ApplyAlertConditions records one evaluation of the given rule kinds, in one
// transaction: a condition without an open alert opens one (the unique index
// on open alerts de-duplicates across replicas), an open alert whose
// condition holds is refreshed, and an open alert of an evaluated kind whose
// condition no longer holds is resolved. It returns what must be sent now,
// given each rule's repeat interval. Sending happens after the commit.
func (s *Store) ApplyAlertConditions(ctx context.Context, rules []AlertRule, conds []AlertCondition, now time.Time) ([]AlertNotice, error) {
	repeat := map[string]time.Duration{}
	kinds := make([]string, 0, len(rules))
	for _, r := range rules {
		repeat[r.Kind] = r.Repeat()
		kinds = append(kinds, r.Kind)
	}
	var notices []AlertNotice
	err := s.InTx(ctx, func(tx *Tx) error {
		held := map[[2]string]bool{}
		for _, c := range conds {
			held[[2]string{c.Kind, c.Key}] = true
			if c.Escalate {
				if _, err := tx.ext.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $4, resolved_notified_at = $4
WHERE kind = $1 AND key = $2 AND state <> 'resolved' AND value < $3`, c.Kind, c.Key, c.Value, now); err != nil {
					return fmt.Errorf("store: escalate alert: %w", err)
				}
			}
			var a Alert
			var inserted bool
			row := tx.ext.QueryRowxContext(ctx, `INSERT INTO alerts (kind, key, title, message, value, started_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (kind, key) WHERE state <> 'resolved'
DO UPDATE SET title = EXCLUDED.title, message = EXCLUDED.message, value = EXCLUDED.value, last_seen_at = EXCLUDED.last_seen_at
RETURNING `+alertColumns+`, (xmax = 0) AS inserted`, c.Kind, c.Key, c.Title, c.Message, c.Value, now)
			if err := row.Scan(&a.ID, &a.Kind, &a.Key, &a.State, &a.Title, &a.Message, &a.Value, &a.StartedAt, &a.LastSeenAt,
				&a.LastNotifiedAt, &a.AcknowledgedAt, &a.AcknowledgedBy, &a.ResolvedAt, &a.ResolvedNotifiedAt, &a.DeliveryError, &inserted); err != nil {
				return fmt.Errorf("store: open alert: %w", err)
			}
			switch {
			case a.LastNotifiedAt == nil:
				notices = append(notices, AlertNotice{Alert: a, Event: "firing"})
			case a.State == AlertFiring && now.Sub(*a.LastNotifiedAt) >= repeat[a.Kind]:
				notices = append(notices, AlertNotice{Alert: a, Event: "repeat"})
			}
		}
		var open []Alert
		if err := sqlxSelect(ctx, tx.q, &open, `SELECT `+alertColumns+` FROM alerts
WHERE state <> 'resolved' AND kind = ANY($1) FOR UPDATE`, pq.Array(kinds)); err != nil {
			return fmt.Errorf("store: open alerts: %w", err)
		}
		for _, a := range open {
			if held[[2]string{a.Kind, a.Key}] {
				continue
			}
			if _, err := tx.ext.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $2 WHERE id = $1`, a.ID, now); err != nil {
				return fmt.Errorf("store: resolve alert: %w", err)
			}
			a.State, a.ResolvedAt = AlertResolved, &now
			if a.LastNotifiedAt != nil {
				notices = append(notices, AlertNotice{Alert: a, Event: "resolved"})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return notices, nil
}

// MarkAlertNotified records that a notice went out (deliveryError empty) or
// could not be delivered everywhere (deliveryError says where and why).
func (q q) MarkAlertNotified(ctx context.Context, id int64, event string, at time.Time, deliveryError string) error {
	col := "last_notified_at"
	if event == "resolved" {
		col = "resolved_notified_at"
	}
	if _, err := q.ext.ExecContext(ctx, `UPDATE alerts SET `+col+` = $2, delivery_error = $3 WHERE id = $1`, id, at, deliveryError); err != nil {
		return fmt.Errorf("store: mark alert notified: %w", err)
	}
	return nil
}

// AlertDelivery is one notice sent (or not) to one channel.
type AlertDelivery struct {
	ID        int64     `db:"id"`
	AlertID   int64     `db:"alert_id"`
	ChannelID *int64    `db:"channel_id"`
	Channel   string    `db:"channel"`
	Event     string    `db:"event"`
	At        time.Time `db:"at"`
	Attempts  int       `db:"attempts"`
	OK        bool      `db:"ok"`
	Error     string    `db:"error"`
}

// RecordAlertDelivery keeps the outcome of sending a notice to a channel.
func (q q) RecordAlertDelivery(ctx context.Context, d AlertDelivery) error {
	if _, err := q.ext.ExecContext(ctx, `INSERT INTO alert_deliveries (alert_id, channel_id, channel, event, attempts, ok, error)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.AlertID, d.ChannelID, d.Channel, d.Event, d.Attempts, d.OK, d.Error); err != nil {
		return fmt.Errorf("store: record alert delivery: %w", err)
	}
	return nil
}

// AlertDeliveries lists the latest deliveries of an alert.
func (q q) AlertDeliveries(ctx context.Context, alertID int64) ([]AlertDelivery, error) {
	var ds []AlertDelivery
	if err := sqlxSelect(ctx, q, &ds, `SELECT id, alert_id, channel_id, channel, event, at, attempts, ok, error
FROM alert_deliveries WHERE alert_id = $1 ORDER BY at DESC, id DESC LIMIT 50`, alertID); err != nil {
		return nil, fmt.Errorf("store: alert deliveries: %w", err)
	}
	return ds, nil
}

// AlertFilter selects alerts: open ones, or the history, newest first, in
// keyset pages.
type AlertFilter struct {
	Open     bool
	Before   *time.Time
	BeforeID int64
	Limit    int
}

// ListAlerts lists alerts newest first.
func (q q) ListAlerts(ctx context.Context, f AlertFilter) (alerts []Alert, more bool, err error) {
	limit := pageLimit(f.Limit)
	where := []string{"true"}
	args := []any{}
	if f.Open {
		where = append(where, "state <> 'resolved'")
	}
	if f.Before != nil {
		args = append(args, *f.Before, f.BeforeID)
		where = append(where, fmt.Sprintf("(started_at, id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, limit+1)
	if err := sqlxSelect(ctx, q, &alerts, `SELECT `+alertColumns+` FROM alerts WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY started_at DESC, id DESC LIMIT $%d", len(args)), args...); err != nil {
		return nil, false, fmt.Errorf("store: list alerts: %w", err)
	}
	if len(alerts) > limit {
		return alerts[:limit], true, nil
	}
	return alerts, false, nil
}

// CountOpenAlerts counts the alerts firing or acknowledged.
func (q q) CountOpenAlerts(ctx context.Context) (int, error) {
	var n int
	if err := sqlxGet(ctx, q, &n, `SELECT count(*) FROM alerts WHERE state <> 'resolved'`); err != nil {
		return 0, fmt.Errorf("store: count open alerts: %w", err)
	}
	return n, nil
}

// AcknowledgeAlert marks a firing alert as seen by someone (no more repeats);
// it still resolves on its own when its condition clears. Audited.
func (s *Store) AcknowledgeAlert(ctx context.Context, a Actor, id int64) (Alert, error) {
	var out Alert
	err := s.InTx(ctx, func(tx *Tx) error {
		var actorID *int64
		if a.UserID != 0 {
			actorID = &a.UserID
		}
		err := sqlxGet(ctx, tx.q, &out, `UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(),
  acknowledged_by = $2, acknowledged_by_label = $3 WHERE id = $1 AND state = 'firing' RETURNING `+alertColumns, id, actorID, a.Label)
		if errors.Is(err, ErrNotFound) {
			if err := sqlxGet(ctx, tx.q, &out, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id); err != nil {
				return err
			}
			return ErrConflict
		}
		if err != nil {
			return fmt.Errorf("store: acknowledge alert: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "alert.acknowledged", ObjectType: "alert", ObjectID: strconv.FormatInt(id, 10),
			Summary: "Acknowledged the alert: " + out.Title})
	})
	return out, err
}

// Alert channel kinds.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"
	ChannelSlack   = "slack"
)

// AlertChannel is one place alerts are sent to.
type AlertChannel struct {
	ID        int64     `db:"id"`
	Kind      string    `db:"kind"`
	Name      string    `db:"name"`
	Target    string    `db:"target"`
	Secret    []byte    `db:"secret"`
	Enabled   bool      `db:"enabled"`
	CreatedAt time.Time `db:"created_at"`
}

// AlertChannelInput is a channel as the form submits it.
type AlertChannelInput struct {
	Kind, Name, Target, Secret string
}

// Validate checks the channel's address.
func (in AlertChannelInput) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 100 {
		fe["name"] = "Give the channel a name of up to 100 characters, e.g. “Ops on-call”."
	}
	target := strings.TrimSpace(in.Target)
	switch in.Kind {
	case ChannelEmail:
		for _, addr := range strings.Split(target, ",") {
			if _, err := mail.ParseAddress(strings.TrimSpace(addr)); err != nil {
				fe["target"] = "Enter one or more e-mail addresses separated by commas, like ops@shop.com."
				break
			}
		}
	case ChannelWebhook, ChannelSlack:
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fe["target"] = "Enter the full address the alerts are posted to, starting with https://."
		}
		if in.Kind == ChannelWebhook && len(in.Secret) < 16 {
			fe["secret"] = "Enter a signing secret of at least 16 characters; the receiver checks the X-Crossdock-Signature header with it."
		}
	default:
		fe["kind"] = "Choose e-mail, webhook or Slack."
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

func channelSealContext(kind string) string { return "alert_channel:" + kind }

// CreateAlertChannel adds a channel, its secret sealed with the vault's key.
func (v *Vault) CreateAlertChannel(ctx context.Context, a Actor, in AlertChannelInput) (AlertChannel, error) {
	return v.Store.CreateAlertChannel(ctx, a, v.box, in)
}

// SMTP reads the SMTP settings with the password opened.
func (v *Vault) SMTP(ctx context.Context) (SMTPSettings, error) { return v.Store.SMTP(ctx, v.box) }

// SaveSMTP stores the SMTP settings, the password sealed.
func (v *Vault) SaveSMTP(ctx context.Context, a Actor, in SMTPSettingsInput) (SMTPSettings, error) {
	return v.Store.SaveSMTP(ctx, a, v.box, in)
}

// CreateAlertChannel adds a channel, its secret sealed. Audited.
func (s *Store) CreateAlertChannel(ctx context.Context, a Actor, box *secretbox.Box, in AlertChannelInput) (AlertChannel, error) {
	if fe := in.Validate(); fe != nil {
		return AlertChannel{}, fe
	}
	var sealed []byte
	if in.Secret != "" {
		sealed = box.Seal([]byte(in.Secret), channelSealContext(in.Kind))
	}
	var out AlertChannel
	err := s.InTx(ctx, func(tx *Tx) error {
		if err := sqlxGet(ctx, tx.q, &out, `INSERT INTO alert_channels (kind, name, target, secret) VALUES ($1, $2, $3, $4)
RETURNING id, kind, name, target, secret, enabled, created_at`, in.Kind, strings.TrimSpace(in.Name), strings.TrimSpace(in.Target), sealed); err != nil {
			return fmt.Errorf("store: create alert channel: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "alert_channel.created", ObjectType: "alert_channel", ObjectID: strconv.FormatInt(out.ID, 10),
			Summary: fmt.Sprintf("Added the %s alert channel %s", out.Kind, out.Name),
			After:   map[string]string{"kind": out.Kind, "name": out.Name, "target": out.Target}})
	})
	return out, err
}

// DeleteAlertChannel removes a channel. Audited.
func (s *Store) DeleteAlertChannel(ctx context.Context, a Actor, id int64) error {
	return s.InTx(ctx, func(tx *Tx) error {
		var c AlertChannel
		if err := sqlxGet(ctx, tx.q, &c, `DELETE FROM alert_channels WHERE id = $1
RETURNING id, kind, name, target, secret, enabled, created_at`, id); err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "alert_channel.deleted", ObjectType: "alert_channel", ObjectID: strconv.FormatInt(id, 10),
			Summary: fmt.Sprintf("Removed the %s alert channel %s", c.Kind, c.Name),
			Before:  map[string]string{"kind": c.Kind, "name": c.Name, "target": c.Target}})
	})
}

// AlertChannels lists the channels.
func (q q) AlertChannels(ctx context.Context) ([]AlertChannel, error) {
	var cs []AlertChannel
	if err := sqlxSelect(ctx, q, &cs, `SELECT id, kind, name, target, secret, enabled, created_at FROM alert_channels ORDER BY id`); err != nil {
		return nil, fmt.Errorf("store: alert channels: %w", err)
	}
	return cs, nil
}

// AlertChannelByID reads one channel.
func (q q) AlertChannelByID(ctx context.Context, id int64) (AlertChannel, error) {
	var c AlertChannel
	if err := sqlxGet(ctx, q, &c, `SELECT id, kind, name, target, secret, enabled, created_at FROM alert_channels WHERE id = $1`, id); err != nil {
		return AlertChannel{}, fmt.Errorf("store: alert channel: %w", err)
	}
	return c, nil
}

// ChannelSecret opens a channel's signing secret ("" when it has none).
func ChannelSecret(box *secretbox.Box, c AlertChannel) (string, error) {
	if len(c.Secret) == 0 {
		return "", nil
	}
	b, err := box.Open(c.Secret, channelSealContext(c.Kind))
	return string(b), err
}

// SMTPSettings is the mail server alerts are e-mailed through.
type SMTPSettings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	From     string `json:"from"`
	Username string `json:"username"`
	// Password is sealed in storage (base64 of the sealed bytes).
	Password string `json:"password"`
}

const smtpSettingKey = "alerts.smtp"

// SMTPSettingsInput is the form.
type SMTPSettingsInput struct {
	Host, Port, From, Username, Password string
}

// Validate checks the SMTP form.
func (in SMTPSettingsInput) Validate() (SMTPSettings, vocab.FieldErrors) {
	fe := vocab.FieldErrors{}
	s := SMTPSettings{Host: strings.TrimSpace(in.Host), From: strings.TrimSpace(in.From), Username: strings.TrimSpace(in.Username), Password: in.Password}
	if s.Host == "" || strings.ContainsAny(s.Host, " /:") {
		fe["host"] = "Enter the mail server's host name, like smtp.example.com (no port, no https://)."
	}
	p, err := strconv.Atoi(strings.TrimSpace(in.Port))
	if err != nil || p < 1 || p > 65535 {
		fe["port"] = "The port is a number from 1 to 65535; mail servers usually use 587 or 25."
	}
	s.Port = p
	if _, err := mail.ParseAddress(s.From); err != nil {
		fe["from"] = "Enter the address alerts are sent from, like crossdock@shop.com."
	}
	if len(fe) > 0 {
		return s, fe
	}
	return s, nil
}

// SMTP reads the SMTP settings with the password opened; ErrNotFound if none.
func (q q) SMTP(ctx context.Context, box *secretbox.Box) (SMTPSettings, error) {
	var s SMTPSettings
	if err := q.Setting(ctx, smtpSettingKey, &s); err != nil {
		return SMTPSettings{}, err
	}
	if s.Password != "" {
		raw, err := base64.StdEncoding.DecodeString(s.Password)
		if err != nil {
			return SMTPSettings{}, fmt.Errorf("store: smtp password: %w", err)
		}
		plain, err := box.Open(raw, smtpSettingKey)
		if err != nil {
			return SMTPSettings{}, fmt.Errorf("store: smtp password: %w", err)
		}
		s.Password = string(plain)
	}
	return s, nil
}

// SaveSMTP stores the SMTP settings; an empty password keeps the saved one.
// Audited, without the password.
func (s *Store) SaveSMTP(ctx context.Context, a Actor, box *secretbox.Box, in SMTPSettingsInput) (SMTPSettings, error) {
	set, fe := in.Validate()
	if fe != nil {
		return SMTPSettings{}, fe
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		stored := set
		if set.Password == "" {
			var old SMTPSettings
			if err := tx.Setting(ctx, smtpSettingKey, &old); err == nil {
				stored.Password = old.Password
			}
		} else {
			stored.Password = base64.StdEncoding.EncodeToString(box.Seal([]byte(set.Password), smtpSettingKey))
		}
		b, err := JSON(stored)
		if err != nil {
			return err
		}
		if _, err := tx.ext.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, smtpSettingKey, b); err != nil {
			return fmt.Errorf("store: save smtp: %w", err)
		}
		return tx.Audit(ctx, a, Change{Action: "alert_smtp.saved", ObjectType: "setting", ObjectID: smtpSettingKey,
			Summary: "Saved the mail server for alert e-mails",
			After:   map[string]any{"host": set.Host, "port": set.Port, "from": set.From, "username": set.Username, "password_changed": set.Password != ""}})
	})
	return set, err
}

// WebhookFailures counts the webhook deliveries of a window: all of them
// (stored or turned away), those turned away, and those stored whose
// processing failed. Counted per connection on its (received_at) indexes.
type WebhookFailures struct {
	Total    int `db:"total"`
	Rejected int `db:"rejected"`
	Failed   int `db:"failed"`
}

// WebhookFailuresSince counts the deliveries received since since. Rejections
// beyond an hour's kept sample count too, by whole hours (a flood is never
// hidden by the cap; it may count up to an hour early).
func (q q) WebhookFailuresSince(ctx context.Context, since time.Time) (WebhookFailures, error) {
	var w WebhookFailures
	if err := sqlxGet(ctx, q, &w, `SELECT COALESCE(sum(e.n), 0) + COALESCE(sum(r.n), 0) AS total,
  COALESCE(sum(r.n), 0) AS rejected, COALESCE(sum(e.failed), 0) AS failed
FROM connections c
CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE status = 'failed') AS failed
  FROM webhook_events WHERE connection_id = c.id AND received_at >= $1) e
CROSS JOIN LATERAL (SELECT (SELECT count(*) FROM webhook_rejections WHERE connection_id = c.id AND received_at >= $1)
  + (SELECT COALESCE(sum(dropped), 0) FROM webhook_rejection_hours WHERE connection_id = c.id AND hour >= date_trunc('hour', $1::timestamptz)) AS n) r`, since); err != nil {
		return WebhookFailures{}, fmt.Errorf("store: webhook failures: %w", err)
	}
	return w, nil
}

// FailedSince counts, per family, the syncs created since since that are now
// failed or retrying and unresolved: a burst shows at its first failure, not
// after the last retry (the partial index syncs_problems_idx holds them).
func (q q) FailedSince(ctx context.Context, since time.Time) (map[string]int, error) {
	var rows []struct {
		Family string `db:"family"`
		N      int    `db:"n"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT family, count(*) AS n FROM syncs
WHERE status IN ('failed', 'retrying', 'rejected') AND resolved_at IS NULL AND created_at >= $1
  AND status <> 'rejected'
GROUP BY family`, since); err != nil {
		return nil, fmt.Errorf("store: failed syncs since: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Family] = r.N
	}
	return out, nil
}

// LastSuccesses returns each family's latest successful sync (one probe per
// family into the partial index of 00008).
func (q q) LastSuccesses(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Family string     `db:"family"`
		At     *time.Time `db:"at"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT f.family, (SELECT s.updated_at FROM syncs s
  WHERE s.family = f.family AND s.status = 'succeeded' ORDER BY s.updated_at DESC LIMIT 1) AS at
FROM (SELECT DISTINCT family FROM syncs WHERE status IN ('pending', 'retrying')) f`); err != nil {
		return nil, fmt.Errorf("store: last successes: %w", err)
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		if r.At != nil {
			out[r.Family] = *r.At
		}
	}
	return out, nil
}

// RefusedSignIns lists the connections of a kind whose sign-in their
// system refused (an open failure of class auth answered invalid_grant)
// since they were last connected, with when it last happened. Connecting
// again changes the secrets, which clears it.
func (q q) RefusedSignIns(ctx context.Context, kind vocab.Kind) (map[int64]time.Time, error) {
	var rows []struct {
		ID int64     `db:"id"`
		At time.Time `db:"at"`
	}
	if err := sqlxSelect(ctx, q, &rows, `SELECT c.id, max(s.updated_at) AS at
FROM connections c JOIN syncs s ON s.target_connection_id = c.id
WHERE c.kind = $1 AND s.status IN ('failed', 'retrying', 'rejected') AND s.resolved_at IS NULL AND s.error_class = 'auth'
  AND s.response->>'code' = 'invalid_grant' AND s.updated_at > COALESCE(c.secrets_changed_at, c.created_at)
GROUP BY c.id`, string(kind)); err != nil {
		return nil, fmt.Errorf("store: refused sign-ins: %w", err)
	}
	out := make(map[int64]time.Time, len(rows))
	for _, r := range rows {
		out[r.ID] = r.At
	}
	return out, nil
}
