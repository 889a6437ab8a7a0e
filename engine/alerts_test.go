package engine_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/vocab"
)

// smtpServer is a real SMTP listener on loopback that keeps what it receives.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") } //nolint:errcheck
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			s.mu.Lock()
			s.rcpt = append(s.rcpt, strings.Trim(strings.TrimSpace(line)[8:], "<>"))
			s.mu.Unlock()
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, b.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// receiver is an httptest server that records alert posts, answering status.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func startReceiver(t *testing.T, status int) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.sigs = append(r.sigs, req.Header.Get(engine.SignatureHeader))
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.bodies) }

// alertsSetup is an engine whose only enabled rule is the failed-syncs burst
// (the sandbox shop has no webhook subscriptions, which would fire too).
func alertsSetup(t *testing.T) *env {
	e := setup(t, options{configure: func(c *engine.Config) {
		c.NotifyAttempts, c.NotifyBackoff, c.NotifyTimeout = 3, time.Millisecond, 2*time.Second
		c.BaseURL = "https://crossdock.test"
	}})
	rs, err := e.st.AlertRules(t.Context())
	require.NoError(t, err)
	for _, r := range rs {
		if r.Kind != store.AlertFailedSyncsBurst {
			setRule(t, e, r.Kind, false, r.Threshold, r.WindowMinutes, r.RepeatMinutes)
		}
	}
	return e
}

func setRule(t *testing.T, e *env, kind string, on bool, threshold float64, window, repeat int) {
	t.Helper()
	_, err := e.st.UpdateAlertRule(t.Context(), store.SystemActor("test"), store.AlertRuleInput{Kind: kind, Enabled: on,
		Threshold: strconv.FormatFloat(threshold, 'f', -1, 64), WindowMinutes: strconv.Itoa(window), RepeatMinutes: strconv.Itoa(repeat)})
	require.NoError(t, err)
}

func failedStock(e *env, n int) []store.NewSync {
	var out []store.NewSync
	for i := range n {
		ref := "SKU-" + strconv.Itoa(i)
		out = append(out, store.NewSync{Family: "inventory", Direction: "odoo_to_shopify", Flow: "inventory.odoo_shopify",
			SourceConnectionID: e.odooConn.ID, TargetConnectionID: e.shopConn.ID, Trigger: store.TriggerSweep, EntityType: "stock",
			EntityRef: ref, EntityKey: ref, Payload: map[string]string{"sku": ref}, IdempotencyKey: "alert-" + ref, MaxAttempts: 8,
			Status: vocab.SyncFailed, ErrorClass: vocab.ClassValidation, Message: ref + " was refused."})
	}
	return out
}

func TestAlertLifecycleAndChannels(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	a := store.SystemActor("test")
	box, err := secretbox.New(secretKey)
	require.NoError(t, err)

	// Only the burst rule matters here: the others stay quiet on this data.
	_, err = e.st.UpdateAlertRule(ctx, a, store.AlertRuleInput{Kind: store.AlertFailedSyncsBurst, Enabled: true,
		Threshold: "3", WindowMinutes: "10", RepeatMinutes: "60"})
	require.NoError(t, err)

	mail := startSMTP(t)
	_, err = e.st.SaveSMTP(ctx, a, box, store.SMTPSettingsInput{Host: "127.0.0.1", Port: strconv.Itoa(mail.ln.Addr().(*net.TCPAddr).Port), From: "crossdock@shop.test"})
	require.NoError(t, err)
	hook, slack, broken := startReceiver(t, 200), startReceiver(t, 200), startReceiver(t, 500)
	const secret = "a-signing-secret-of-some-length"
	for _, in := range []store.AlertChannelInput{
		{Kind: store.ChannelEmail, Name: "Ops mail", Target: "ops@shop.test"},
		{Kind: store.ChannelWebhook, Name: "Pager", Target: hook.srv.URL, Secret: secret},
		{Kind: store.ChannelSlack, Name: "Slack #ops", Target: slack.srv.URL},
		{Kind: store.ChannelWebhook, Name: "Broken hook", Target: broken.srv.URL, Secret: secret},
	} {
		_, err := e.st.CreateAlertChannel(ctx, a, box, in)
		require.NoError(t, err)
	}

	// Two failures: below the threshold, nothing fires.
	ids, err := e.st.InsertSyncs(ctx, failedStock(e, 2))
	require.NoError(t, err)
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, notices)

	// The third one is the burst: one alert, sent to every channel.
	more, err := e.st.InsertSyncs(ctx, failedStock(e, 3)[2:])
	require.NoError(t, err)
	ids = append(ids, more...)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, "firing", notices[0].Event)
	require.Equal(t, "inventory", notices[0].Alert.Key)

	require.Equal(t, 1, hook.count())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(hook.bodies[0])
	require.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), hook.sigs[0], "the webhook body is signed with the channel's secret")
	var p engine.AlertPayload
	require.NoError(t, json.Unmarshal(hook.bodies[0], &p))
	require.Equal(t, store.AlertFailedSyncsBurst, p.Kind)
	require.Equal(t, "https://crossdock.test/alerts", p.ConsoleURL)
	require.Equal(t, 1, slack.count())
	require.Contains(t, string(slack.bodies[0]), `"text":"Alert: Inventory: 3 syncs failed`)
	msgs := mail.messages()
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0], "Subject: Alert: Inventory: 3 syncs failed")
	require.Equal(t, 3, broken.count(), "a channel answering 500 is tried a bounded number of times")

	open, _, err := e.st.ListAlerts(ctx, store.AlertFilter{Open: true})
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Contains(t, open[0].DeliveryError, "Broken hook")
	require.Contains(t, open[0].DeliveryError, "answered 500")
	ds, err := e.st.AlertDeliveries(ctx, open[0].ID)
	require.NoError(t, err)
	require.Len(t, ds, 4)

	// Still failing: the same alert, nothing sent again before the repeat interval.
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, notices)
	require.Equal(t, 1, hook.count())

	// Acknowledged by someone, it stays until the condition clears.
	acked, err := e.st.AcknowledgeAlert(ctx, store.Actor{Label: "Ada Admin"}, open[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.AlertAcknowledged, acked.State)
	require.Equal(t, "Ada Admin", acked.AcknowledgedBy)
	_, err = e.st.AcknowledgeAlert(ctx, store.Actor{Label: "Ada Admin"}, open[0].ID)
	require.ErrorIs(t, err, store.ErrConflict)

	// Fixed: it resolves by itself, and the channels hear of it.
	for _, id := range ids {
		require.NoError(t, e.st.ResolveSync(ctx, id))
	}
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, "resolved", notices[0].Event)
	require.Equal(t, 2, hook.count())
	open, _, err = e.st.ListAlerts(ctx, store.AlertFilter{Open: true})
	require.NoError(t, err)
	require.Empty(t, open)
	all, _, err := e.st.ListAlerts(ctx, store.AlertFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, store.AlertResolved, all[0].State)
	require.Equal(t, "Ada Admin", all[0].AcknowledgedBy, "the history keeps who acknowledged it")
}

func TestAlertRepeatsWhenNobodyAcknowledges(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	_, err := e.st.UpdateAlertRule(ctx, store.SystemActor("test"), store.AlertRuleInput{Kind: store.AlertFailedSyncsBurst, Enabled: true,
		Threshold: "1", WindowMinutes: "10", RepeatMinutes: "5"})
	require.NoError(t, err)
	_, err = e.st.InsertSyncs(ctx, failedStock(e, 1))
	require.NoError(t, err)
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	open, _, err := e.st.ListAlerts(ctx, store.AlertFilter{Open: true})
	require.NoError(t, err)
	require.Contains(t, open[0].DeliveryError, "No alert channel is set up", "an alert nobody could be told of says so")

	// Five minutes later (moved back in the database), it is sent again.
	_, err = e.st.DB.ExecContext(ctx, `UPDATE alerts SET last_notified_at = now() - interval '6 minutes'`)
	require.NoError(t, err)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, "repeat", notices[0].Event)
}

func TestAlertChannelProblemsInPlainWords(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	a := store.SystemActor("test")
	box, err := secretbox.New(secretKey)
	require.NoError(t, err)

	// No mail server saved yet.
	require.ErrorContains(t, e.eng.SendTestEmail(ctx, "ops@shop.test"), "no mail server is saved yet")

	// A mail server nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = e.st.SaveSMTP(ctx, a, box, store.SMTPSettingsInput{Host: "127.0.0.1", Port: strconv.Itoa(port), From: "crossdock@shop.test"})
	require.NoError(t, err)
	err = e.eng.SendTestEmail(ctx, "ops@shop.test")
	require.ErrorContains(t, err, "could not be reached (connection refused)")
	require.ErrorContains(t, err, "check its host and port")

	// A working one.
	mail := startSMTP(t)
	_, err = e.st.SaveSMTP(ctx, a, box, store.SMTPSettingsInput{Host: "127.0.0.1", Port: strconv.Itoa(mail.ln.Addr().(*net.TCPAddr).Port), From: "crossdock@shop.test"})
	require.NoError(t, err)
	require.NoError(t, e.eng.SendTestEmail(ctx, "ops@shop.test"))
	require.Len(t, mail.messages(), 1)
	require.Contains(t, mail.messages()[0], "Subject: Test e-mail from Crossdock")

	// A webhook answering 500, tried three times.
	broken := startReceiver(t, 500)
	ch, err := e.st.CreateAlertChannel(ctx, a, box, store.AlertChannelInput{Kind: store.ChannelSlack, Name: "Slack", Target: broken.srv.URL})
	require.NoError(t, err)
	err = e.eng.SendTestAlert(ctx, ch.ID)
	require.ErrorContains(t, err, "answered 500 instead of accepting the alert (gave up after 3 attempts)")
	require.Equal(t, 3, broken.count())
}

func TestAlertMissingSubscriptionsClearOnceRegistered(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	setRule(t, e, store.AlertSubscriptionGone, true, 0, 1, 240)
	setRule(t, e, store.AlertFailedSyncsBurst, false, 10, 10, 60)
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, strconv.FormatInt(e.shopConn.ID, 10), notices[0].Alert.Key)
	require.Contains(t, notices[0].Alert.Title, "Main store is not sending orders/create")
	require.Contains(t, notices[0].Alert.Message, "register them")

	// Someone registers them; once the check runs again the alert resolves.
	cl, err := connectors.Shopify(connectors.Conn{Name: e.shopConn.Name, Kind: e.shopConn.Kind, Settings: e.shopConn.Settings}, map[string]string{"access_token": e.shop.AccessToken()}, http.DefaultClient)
	require.NoError(t, err)
	n, err := connectors.RegisterMissing(ctx, cl, "https://crossdock.test/webhooks/shopify/"+strconv.FormatInt(e.shopConn.ID, 10))
	require.NoError(t, err)
	require.NotZero(t, n)
	engine.ForgetSubscriptionCheck(e.eng)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, "resolved", notices[0].Event)
}

func TestAlertQueueLag(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	setRule(t, e, store.AlertFailedSyncsBurst, false, 10, 10, 60)
	setRule(t, e, store.AlertQueueLag, true, 10, 1, 60)
	waiting := failedStock(e, 1)[0]
	waiting.Status, waiting.ErrorClass, waiting.Message = "", "", "waiting"
	_, err := e.st.InsertSyncs(ctx, []store.NewSync{waiting})
	require.NoError(t, err)
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, notices, "a fresh sync is not lag")

	_, err = e.st.DB.ExecContext(ctx, `UPDATE syncs SET created_at = now() - interval '25 minutes'`)
	require.NoError(t, err)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, "The stock levels flow is 25 minutes behind", notices[0].Alert.Title)
}

func TestAlertReconciliation(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	setRule(t, e, store.AlertFailedSyncsBurst, false, 10, 10, 60)
	setRule(t, e, store.AlertReconDiscrepancies, true, 3, 60, 240)
	setRule(t, e, store.AlertReconRunFailed, true, 0, 60, 240)
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := e.st.DB.ExecContext(ctx, q, args...)
		require.NoError(t, err)
	}
	// Stock: a failed run after a good one, and 3 open differences; prices:
	// a failed run followed by a good one, and 2 differences (below 3).
	exec(`INSERT INTO recon_runs (family, trigger, status, finished_at, message) VALUES
 ('inventory', 'schedule', 'succeeded', now() - interval '2 hours', ''),
 ('inventory', 'schedule', 'failed', now() - interval '1 hour', 'Odoo could not be reached.'),
 ('prices', 'schedule', 'failed', now() - interval '2 hours', 'Shopify could not be reached.'),
 ('prices', 'schedule', 'succeeded', now() - interval '1 hour', '')`)
	for i, fam := range []string{"inventory", "inventory", "inventory", "prices", "prices"} {
		exec(`INSERT INTO discrepancies (family, kind, key, label, first_run_id, last_run_id) VALUES ($1, 'stock', $2, 'x', 1, 1)`,
			fam, strconv.Itoa(i))
	}
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	got := map[string]store.AlertNotice{}
	for _, n := range notices {
		got[n.Alert.Kind+"/"+n.Alert.Key] = n
	}
	require.Len(t, got, 2, "only stock crosses either threshold: %v", notices)
	require.Equal(t, "Inventory: 3 differences between systems are open", got["recon_discrepancies/inventory"].Alert.Title)
	require.Contains(t, got["recon_run_failed/inventory"].Alert.Message, "Odoo could not be reached.")

	// A later good run and fixed differences clear both.
	exec(`INSERT INTO recon_runs (family, trigger, status, finished_at) VALUES ('inventory', 'manual', 'succeeded', now())`)
	exec(`UPDATE discrepancies SET status = 'resolved' WHERE family = 'inventory' AND key = '0'`)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 2)
	for _, n := range notices {
		require.Equal(t, "resolved", n.Event, n.Alert.Title)
	}
}

// Shopify accepts https webhook addresses only: on an http base URL the
// missing subscriptions can never be registered, so no alert is raised (the
// Overview and the connection's page say to set CROSSDOCK_BASE_URL instead).
func TestAlertMissingSubscriptionsNotRaisedOnAnHTTPAddress(t *testing.T) {
	t.Parallel()
	e := setup(t, options{configure: func(c *engine.Config) { c.BaseURL = "http://crossdock.test:8080" }})
	ctx := t.Context()
	rs, err := e.st.AlertRules(ctx)
	require.NoError(t, err)
	for _, r := range rs {
		setRule(t, e, r.Kind, r.Kind == store.AlertSubscriptionGone, r.Threshold, r.WindowMinutes, r.RepeatMinutes)
	}
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, notices, "nothing is registered, but registering could not succeed")
	open, err := e.st.DB.QueryContext(ctx, `SELECT 1 FROM alerts WHERE kind = $1`, store.AlertSubscriptionGone)
	require.NoError(t, err)
	defer open.Close()
	require.False(t, open.Next(), "no alert row either")
}

// A comparison that failed before any source was set for its family cannot
// be cleared by the merchant: it raises nothing. One that fails once the
// family has a source does.
func TestAlertFailedComparisonNeedsASource(t *testing.T) {
	t.Parallel()
	e := alertsSetup(t)
	ctx := t.Context()
	setRule(t, e, store.AlertFailedSyncsBurst, false, 10, 10, 60)
	setRule(t, e, store.AlertReconRunFailed, true, 0, 60, 240)
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := e.st.DB.ExecContext(ctx, q, args...)
		require.NoError(t, err)
	}
	// Nobody decides prices: its comparison fails.
	exec(`INSERT INTO recon_runs (family, trigger, status, created_at, finished_at, message) VALUES
 ('prices', 'schedule', 'failed', now() - interval '1 hour', now() - interval '1 hour', 'Nobody decides prices yet.')`)
	notices, err := e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, notices, "no source for prices: nothing the merchant can clear")

	// A source is set now: the old failure still says nothing about it.
	_, err = e.st.SaveSourceRule(ctx, store.SystemActor("test"), store.SourceRuleInput{Family: "prices", Master: e.odooConn.ID,
		Receivers: []int64{e.shopConn.ID}, Trigger: "scheduled", SweepMinutes: 60, FreshnessMinutes: 60, Policy: "master_wins"})
	require.NoError(t, err)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, notices, "the failure predates the source")

	// A comparison under the source fails: that one is raised.
	exec(`INSERT INTO recon_runs (family, trigger, status, finished_at, message) VALUES
 ('prices', 'schedule', 'failed', now(), 'Shopify could not be reached.')`)
	notices, err = e.eng.EvaluateAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, notices, 1)
	require.Equal(t, "prices", notices[0].Alert.Key)
	require.Contains(t, notices[0].Alert.Message, "Shopify could not be reached.")
}
