package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"crossdock/store"
)

// SignatureHeader carries hex(HMAC-SHA256(body, channel secret)) on the
// generic webhook channel, as "sha256=<hex>".
const SignatureHeader = "X-Crossdock-Signature"

// Payload is the JSON body of the generic webhook channel.
type Payload struct {
	Event        string     `json:"event"` // firing, repeat, resolved, test
	ID           int64      `json:"id"`
	Kind         string     `json:"kind"`
	Key          string     `json:"key"`
	State        string     `json:"state"`
	Title        string     `json:"title"`
	Message      string     `json:"message"`
	Value        float64    `json:"value"`
	StartedAt    time.Time  `json:"started_at"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	ConsoleURL   string     `json:"console_url,omitempty"`
	Acknowledged string     `json:"acknowledged_by,omitempty"`
}

func payloadOf(n store.AlertNotice, base string) Payload {
	a := n.Alert
	p := Payload{Event: n.Event, ID: a.ID, Kind: a.Kind, Key: a.Key, State: a.State, Title: a.Title, Message: a.Message,
		Value: a.Value, StartedAt: a.StartedAt, ResolvedAt: a.ResolvedAt, Acknowledged: a.AcknowledgedBy}
	if base != "" {
		p.ConsoleURL = strings.TrimRight(base, "/") + "/alerts"
	}
	return p
}

func (p Payload) subject() string {
	switch p.Event {
	case "resolved":
		return "Resolved: " + p.Title
	case "test":
		return p.Title
	}
	return "Alert: " + p.Title
}

func (p Payload) text() string {
	s := p.subject() + "\n\n" + p.Message
	if p.ConsoleURL != "" {
		s += "\n\nSee " + p.ConsoleURL
	}
	return s
}

// sendNotices sends each notice to every enabled channel, records every
// delivery, and marks the alert notified with what could not be delivered.
// A channel that fails does not hold the others back, nor the alert: it
// stays visible in the console whatever the channels do.
func (s *Service) sendNotices(ctx context.Context, notices []store.AlertNotice) {
	if len(notices) == 0 {
		return
	}
	chans, err := s.st.AlertChannels(ctx)
	if err != nil {
		s.log.Warn("alert channels not read", "err", err)
		return
	}
	for _, n := range notices {
		var problems []string
		sent := 0
		for _, ch := range chans {
			if !ch.Enabled {
				continue
			}
			attempts, err := s.deliver(ctx, ch, payloadOf(n, s.baseURL))
			d := store.AlertDelivery{AlertID: n.Alert.ID, ChannelID: &ch.ID, Channel: ch.Name, Event: n.Event, Attempts: attempts, OK: err == nil}
			if err != nil {
				d.Error = err.Error()
				problems = append(problems, ch.Name+": "+err.Error())
			} else {
				sent++
			}
			if err := s.st.RecordAlertDelivery(ctx, d); err != nil {
				s.log.Warn("alert delivery not recorded", "err", err)
			}
		}
		if sent == 0 && len(problems) == 0 {
			problems = append(problems, "No alert channel is set up, so nobody was told: add one under Alerts → Settings.")
		}
		if err := s.st.MarkAlertNotified(ctx, n.Alert.ID, n.Event, time.Now(), strings.Join(problems, " ")); err != nil {
			s.log.Warn("alert not marked notified", "err", err)
		}
	}
}

// deliver sends one payload to one channel, trying at most NotifyAttempts
// times with a growing pause; it returns the attempts made and the last
// problem in plain words.
func (s *Service) deliver(ctx context.Context, ch store.AlertChannel, p Payload) (int, error) {
	var err error
	for attempt := 1; attempt <= s.cfg.NotifyAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return attempt - 1, err
			case <-time.After(s.cfg.NotifyBackoff << (attempt - 2)):
			}
		}
		err = s.deliverOnce(ctx, ch, p)
		if err == nil {
			return attempt, nil
		}
		var perm permanent
		if errors.As(err, &perm) {
			return attempt, err
		}
	}
	return s.cfg.NotifyAttempts, fmt.Errorf("%w (gave up after %d attempts)", err, s.cfg.NotifyAttempts)
}

// permanent is a delivery problem that retrying cannot fix (bad settings).
type permanent struct{ error }

func (s *Service) deliverOnce(ctx context.Context, ch store.AlertChannel, p Payload) error {
	switch ch.Kind {
	case store.ChannelEmail:
		set, err := s.st.SMTP(ctx, s.box)
		if errors.Is(err, store.ErrNotFound) {
			return permanent{errors.New("no mail server is set up: enter one under Alerts → Settings")}
		}
		if err != nil {
			return permanent{fmt.Errorf("the mail server settings cannot be read: %v", err)}
		}
		return s.sendMail(ctx, set, splitAddrs(ch.Target), p.subject(), p.text())
	case store.ChannelWebhook:
		body, err := json.Marshal(p)
		if err != nil {
			return permanent{err}
		}
		secret, err := store.ChannelSecret(s.box, ch)
		if err != nil {
			return permanent{errors.New("the channel's signing secret cannot be opened (was the secret key changed?); add the channel again")}
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return s.post(ctx, ch.Target, body, map[string]string{SignatureHeader: "sha256=" + hex.EncodeToString(mac.Sum(nil))})
	case store.ChannelSlack:
		body, err := json.Marshal(map[string]string{"text": p.text()})
		if err != nil {
			return permanent{err}
		}
		return s.post(ctx, ch.Target, body, nil)
	}
	return permanent{fmt.Errorf("unknown channel kind %q", ch.Kind)}
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (s *Service) post(ctx context.Context, url string, body []byte, headers map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent{fmt.Errorf("the address %s is not valid", url)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Crossdock alerts")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s could not be reached (%s)", hostOf(url), shortNetErr(err))
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) //nolint:errcheck
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("%s answered %d instead of accepting the alert", hostOf(url), res.StatusCode)
	}
	return nil
}

func hostOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		u = u[:i]
	}
	return u
}

func shortNetErr(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "no such host"):
		return "no such host"
	}
	return err.Error()
}

// sendMail speaks SMTP with deadlines (net/smtp.SendMail has none): STARTTLS
// when the server offers it, AUTH PLAIN when a username is set.
func (s *Service) sendMail(ctx context.Context, set store.SMTPSettings, to []string, subject, text string) error {
	addr := net.JoinHostPort(set.Host, strconv.Itoa(set.Port))
	d := net.Dialer{Timeout: s.cfg.NotifyTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("the mail server %s could not be reached (%s); check its host and port under Alerts → Settings", addr, shortNetErr(err))
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * s.cfg.NotifyTimeout)) //nolint:errcheck
	c, err := smtp.NewClient(conn, set.Host)
	if err != nil {
		return fmt.Errorf("the mail server %s did not greet Crossdock (%v)", addr, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: set.Host}); err != nil {
			return permanent{fmt.Errorf("the mail server %s offered TLS but it failed (%v)", addr, err)}
		}
	}
	if set.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", set.Username, set.Password, set.Host)); err != nil {
			return permanent{fmt.Errorf("the mail server %s refused the username and password (%v)", addr, err)}
		}
	}
	if err := c.Mail(set.From); err != nil {
		return permanent{fmt.Errorf("the mail server %s refused the sender %s (%v)", addr, set.From, err)}
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return permanent{fmt.Errorf("the mail server %s refused the recipient %s (%v)", addr, rcpt, err)}
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("the mail server %s did not take the message (%v)", addr, err)
	}
	msg := "From: " + set.From + "\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: " + strings.ReplaceAll(subject, "\n", " ") +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"
	if _, err := w.Write([]byte(msg)); err != nil {
		return fmt.Errorf("the mail server %s dropped the message (%v)", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("the mail server %s did not accept the message (%v)", addr, err)
	}
	return c.Quit()
}

// SendTestAlert sends a test notice through one channel now and records it;
// the error says in plain words what went wrong.
func (s *Service) SendTestAlert(ctx context.Context, channelID int64) error {
	ch, err := s.st.AlertChannelByID(ctx, channelID)
	if err != nil {
		return err
	}
	_, err = s.deliver(ctx, ch, Payload{Event: "test", Kind: "test", State: "test", StartedAt: time.Now(),
		Title:   "Test alert from Crossdock",
		Message: "This is a test: alerts from Crossdock reach this channel.", ConsoleURL: s.alertsURL()})
	return err
}

// SendTestEmail sends a test e-mail to one address with the saved SMTP settings.
func (s *Service) SendTestEmail(ctx context.Context, to string) error {
	set, err := s.st.SMTP(ctx, s.box)
	if errors.Is(err, store.ErrNotFound) {
		return errors.New("no mail server is saved yet: save its settings first")
	}
	if err != nil {
		return err
	}
	p := Payload{Event: "test", Title: "Test e-mail from Crossdock", Message: "Alert e-mails from Crossdock reach you.", ConsoleURL: s.alertsURL()}
	return s.sendMail(ctx, set, []string{to}, p.subject(), p.text())
}

func (s *Service) alertsURL() string {
	if s.baseURL == "" {
		return ""
	}
	return strings.TrimRight(s.baseURL, "/") + "/alerts"
}
