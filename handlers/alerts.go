package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/views/layout"
	"crossdock/vocab"
)

// AlertStore is what the alert pages read and change.
type AlertStore interface {
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, bool, error)
	AcknowledgeAlert(ctx context.Context, a store.Actor, id int64) (store.Alert, error)
	AlertRules(ctx context.Context) ([]store.AlertRule, error)
	UpdateAlertRule(ctx context.Context, a store.Actor, in store.AlertRuleInput) (store.AlertRule, error)
	AlertChannels(ctx context.Context) ([]store.AlertChannel, error)
	CreateAlertChannel(ctx context.Context, a store.Actor, in store.AlertChannelInput) (store.AlertChannel, error)
	DeleteAlertChannel(ctx context.Context, a store.Actor, id int64) error
	SMTP(ctx context.Context) (store.SMTPSettings, error)
	SaveSMTP(ctx context.Context, a store.Actor, in store.SMTPSettingsInput) (store.SMTPSettings, error)
}

// AlertSender sends test notices (the engine).
type AlertSender interface {
	SendTestAlert(ctx context.Context, channelID int64) error
	SendTestEmail(ctx context.Context, to string) error
}

// Alerts serves the alerts page and the admin's rules and channels.
type Alerts struct {
	Base
	// Store seals the channels' secrets and the SMTP password itself
	// (store.Vault).
	Store AlertStore
	// Sender is nil without an engine: the test buttons then say so.
	Sender AlertSender
}

func alertRow(a store.Alert) views.AlertRow {
	return views.AlertRow{ID: a.ID, State: a.State, Title: a.Title, Message: a.Message, StartedAt: a.StartedAt, LastSeenAt: a.LastSeenAt,
		ResolvedAt: a.ResolvedAt, AcknowledgedBy: a.AcknowledgedBy, AcknowledgedAt: a.AcknowledgedAt, DeliveryError: a.DeliveryError}
}

// List shows the open alerts and the history (keyset pages of ?before=).
func (h Alerts) List(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := CurrentUser(c)
	p := views.AlertsPage{Meta: h.Meta(c, "Alerts", "alerts"), CanAck: u.Role != vocab.RoleFinance, IsAdmin: u.Role == vocab.RoleAdmin, Now: now()}
	open, _, err := h.Store.ListAlerts(ctx, store.AlertFilter{Open: true, Limit: 100})
	if err != nil {
		return err
	}
	for _, a := range open {
		p.Open = append(p.Open, alertRow(a))
	}
	f := store.AlertFilter{Limit: 50}
	if b := c.Query("before"); b != "" {
		t, id, ok := parseCursor(b)
		if !ok {
			return fiber.NewError(fiber.StatusBadRequest, "This page link is damaged; go back to the newest alerts.")
		}
		f.Before, f.BeforeID = &t, id
		p.FirstHref = "/alerts"
	}
	hist, more, err := h.Store.ListAlerts(ctx, f)
	if err != nil {
		return err
	}
	for _, a := range hist {
		p.History = append(p.History, alertRow(a))
	}
	if more && len(hist) > 0 {
		last := hist[len(hist)-1]
		p.NextHref = "/alerts?before=" + url.QueryEscape(last.StartedAt.UTC().Format(time.RFC3339Nano)+"_"+strconv.FormatInt(last.ID, 10))
	}
	chans, err := h.Store.AlertChannels(ctx)
	if err != nil {
		return err
	}
	p.NoChannels = len(chans) == 0
	return Render(c, views.Alerts(p))
}

func parseCursor(s string) (time.Time, int64, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '_' {
			t, err := time.Parse(time.RFC3339Nano, s[:i])
			id, err2 := strconv.ParseInt(s[i+1:], 10, 64)
			return t, id, err == nil && err2 == nil
		}
	}
	return time.Time{}, 0, false
}

// Acknowledge records who is on an alert; it stops repeating.
func (h Alerts) Acknowledge(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return store.ErrNotFound
	}
	a, err := h.Store.AcknowledgeAlert(c.UserContext(), Actor(c), int64(id))
	switch {
	case errors.Is(err, store.ErrConflict):
		h.Flash(c, "info", fmt.Sprintf("“%s” is already %s.", a.Title, views.AlertStateLabel(a.State)))
	case err != nil:
		return err
	default:
		h.Flash(c, "success", fmt.Sprintf("You are on “%s”: it is no longer sent again, and resolves by itself once its cause is gone.", a.Title))
	}
	return Redirect(c, "/alerts")
}

var ruleWords = map[string]struct{ title, help, label, hint string }{
	store.AlertWebhookFailureRate: {"Webhooks failing", "Shopify's webhook deliveries turned away (wrong signature...) or failing to process, as a share of all deliveries in the window.",
		"Alert above (% of deliveries)", "Above 0 and below 100, e.g. 5."},
	store.AlertIntakeStuck: {"Webhook intake stuck", "A webhook event Shopify delivered has waited longer than this to become syncs: intake is stopped or stuck, and every later event waits behind it. /readyz answers 503 on the same condition.",
		"Alert when an event waits longer than (minutes)", "From 1 to 10080."},
	store.AlertLongWorkStuck: {"Long work stuck", "A comparison or a bulk try-again that no Crossdock replica has worked on for this long. Work of a replica that stopped is taken over within a minute, so this means every replica is stopped, or the work waits behind a long comparison.",
		"Alert when nothing happened for (minutes)", "From 1 to 10080."},
	store.AlertQueueLag: {"Queue lag per flow", "The oldest change waiting in a flow has waited longer than this.",
		"Alert when waiting longer than (minutes)", "From 1 to 10080."},
	store.AlertFreshnessMissed: {"Freshness target missed", "A flow has not delivered within its own freshness target (set under Sources of truth) while changes wait.", "", ""},
	store.AlertFailedSyncsBurst: {"Failed syncs burst", "This many syncs of one flow fail (or start retrying) within the window: you hear of the first burst, not after the last retry.",
		"Alert at (failed syncs)", "A whole number, at least 1."},
	store.AlertBreakerOpen:  {"System unavailable", "Crossdock paused sending to a system after it failed several times in a row (circuit breaker open).", "", ""},
	store.AlertSignInEnding: {"Reconnect needed", "A system Crossdock is connected to by signing in (QuickBooks Online lets a sign-in last at most 5 years) must be connected again: 30 days before its sign-in ends, again 7 days before, and when it ended or the system refused it.", "", ""},
	store.AlertReconDiscrepancies: {"Reconciliation differences piling up", "A kind of data has this many open (or acknowledged) differences between systems after its comparisons.",
		"Alert at (open differences in one kind of data)", "A whole number, at least 1."},
	store.AlertReconRunFailed:   {"Reconciliation failing", "The latest comparison of a kind of data failed, so differences may go unnoticed; it clears when a later comparison gets through.", "", ""},
	store.AlertSubscriptionGone: {"Shopify webhook subscription missing", "A webhook subscription Crossdock needs is missing or points elsewhere (Shopify deletes failing ones without warning). Checked once per window.", "", ""},
}

func ruleForm(r store.AlertRule) views.AlertRuleForm {
	w := ruleWords[r.Kind]
	return views.AlertRuleForm{Kind: r.Kind, Title: w.title, Help: w.help, Enabled: r.Enabled, UsesThreshold: store.UsesThreshold(r.Kind),
		ThresholdLabel: w.label, ThresholdHint: w.hint, Threshold: strconv.FormatFloat(r.Threshold, 'f', -1, 64),
		Window: strconv.Itoa(r.WindowMinutes), Repeat: strconv.Itoa(r.RepeatMinutes)}
}

// Settings shows the rules, channels and mail server.
func (h Alerts) Settings(c *fiber.Ctx) error {
	p, err := h.settingsPage(c)
	if err != nil {
		return err
	}
	return Render(c, views.AlertSettings(p))
}

func (h Alerts) settingsPage(c *fiber.Ctx) (views.AlertSettingsPage, error) {
	ctx := c.UserContext()
	p := views.AlertSettingsPage{Meta: h.Meta(c, "Alert rules and channels", "alerts"), Channel: views.AlertChannelForm{Kind: store.ChannelEmail},
		SMTP: views.SMTPForm{Port: "587"}}
	rs, err := h.Store.AlertRules(ctx)
	if err != nil {
		return p, err
	}
	for _, r := range rs {
		p.Rules = append(p.Rules, ruleForm(r))
	}
	chans, err := h.Store.AlertChannels(ctx)
	if err != nil {
		return p, err
	}
	for _, ch := range chans {
		p.Channels = append(p.Channels, views.AlertChannelRow{ID: ch.ID, Kind: ch.Kind, Name: ch.Name, Target: ch.Target})
	}
	s, err := h.Store.SMTP(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return p, err
	default:
		p.SMTP = views.SMTPForm{Host: s.Host, Port: strconv.Itoa(s.Port), From: s.From, Username: s.Username, HasPassword: s.Password != ""}
	}
	return p, nil
}

// UpdateRule saves one rule; impossible values come back next to their fields.
func (h Alerts) UpdateRule(c *fiber.Ctx) error {
	kind := c.Params("kind")
	in := store.AlertRuleInput{Kind: kind, Enabled: c.FormValue("enabled") == "1", Threshold: c.FormValue("threshold"),
		WindowMinutes: c.FormValue("window_minutes"), RepeatMinutes: c.FormValue("repeat_minutes")}
	if _, ok := ruleWords[kind]; !ok {
		return store.ErrNotFound
	}
	_, err := h.Store.UpdateAlertRule(c.UserContext(), Actor(c), in)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		p, perr := h.settingsPage(c)
		if perr != nil {
			return perr
		}
		for i, r := range p.Rules {
			if r.Kind == kind {
				p.Rules[i].Enabled, p.Rules[i].Threshold, p.Rules[i].Window, p.Rules[i].Repeat, p.Rules[i].Errors = in.Enabled, in.Threshold, in.WindowMinutes, in.RepeatMinutes, fe
			}
		}
		p.Meta.Flash = &layout.Flash{Kind: "critical", Message: "The rule “" + ruleWords[kind].title + "” was not saved: " + fe.Error()}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.AlertSettings(p))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", "The rule “"+ruleWords[kind].title+"” is saved.")
	return Redirect(c, "/alerts/settings")
}

// CreateChannel adds a channel.
func (h Alerts) CreateChannel(c *fiber.Ctx) error {
	in := store.AlertChannelInput{Kind: c.FormValue("kind"), Name: c.FormValue("name"), Target: c.FormValue("target"), Secret: c.FormValue("secret")}
	ch, err := h.Store.CreateAlertChannel(c.UserContext(), Actor(c), in)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		p, perr := h.settingsPage(c)
		if perr != nil {
			return perr
		}
		p.Channel = views.AlertChannelForm{Kind: string(in.Kind), Name: in.Name, Target: in.Target, Errors: fe}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.AlertSettings(p))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("The channel %s is added. Send it a test alert to check that it arrives.", ch.Name))
	return Redirect(c, "/alerts/settings#channels")
}

// DeleteChannel removes a channel.
func (h Alerts) DeleteChannel(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return store.ErrNotFound
	}
	if err := h.Store.DeleteAlertChannel(c.UserContext(), Actor(c), int64(id)); err != nil {
		return err
	}
	h.Flash(c, "success", "The channel is removed.")
	return Redirect(c, "/alerts/settings#channels")
}

// TestChannel sends a test alert through a channel now.
func (h Alerts) TestChannel(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return store.ErrNotFound
	}
	if h.Sender == nil {
		h.Flash(c, "critical", "Alerts cannot be sent: the sync engine is not running.")
		return Redirect(c, "/alerts/settings#channels")
	}
	err = h.Sender.SendTestAlert(c.UserContext(), int64(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return err
	case err != nil:
		h.Flash(c, "critical", "The test alert did not get through: "+err.Error()+".")
	default:
		h.Flash(c, "success", "The test alert was accepted. Check that it arrived where you expect it.")
	}
	return Redirect(c, "/alerts/settings#channels")
}

// SaveSMTP saves the mail server.
func (h Alerts) SaveSMTP(c *fiber.Ctx) error {
	in := store.SMTPSettingsInput{Host: c.FormValue("host"), Port: c.FormValue("port"), From: c.FormValue("from"),
		Username: c.FormValue("username"), Password: c.FormValue("password")}
	_, err := h.Store.SaveSMTP(c.UserContext(), Actor(c), in)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		p, perr := h.settingsPage(c)
		if perr != nil {
			return perr
		}
		p.SMTP = views.SMTPForm{Host: in.Host, Port: in.Port, From: in.From, Username: in.Username, HasPassword: p.SMTP.HasPassword, Errors: fe}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.AlertSettings(p))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", "The mail server is saved. Send a test e-mail to check it.")
	return Redirect(c, "/alerts/settings#smtp")
}

// TestSMTP sends a test e-mail with the saved mail server.
func (h Alerts) TestSMTP(c *fiber.Ctx) error {
	to := c.FormValue("to")
	if _, err := mail.ParseAddress(to); err != nil {
		p, perr := h.settingsPage(c)
		if perr != nil {
			return perr
		}
		p.SMTP.TestTo = to
		p.SMTP.Errors = map[string]string{"to": "Enter the e-mail address to send the test to."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.AlertSettings(p))
	}
	if h.Sender == nil {
		h.Flash(c, "critical", "E-mails cannot be sent: the sync engine is not running.")
		return Redirect(c, "/alerts/settings#smtp")
	}
	if err := h.Sender.SendTestEmail(c.UserContext(), to); err != nil {
		h.Flash(c, "critical", "The test e-mail was not sent: "+err.Error()+".")
	} else {
		h.Flash(c, "success", "The mail server accepted the test e-mail to "+to+". Check that it arrived.")
	}
	return Redirect(c, "/alerts/settings#smtp")
}
