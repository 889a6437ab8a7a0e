package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/connectors"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// ConnectionStore is what the connection pages need from the store. It
// seals secrets itself (store.Vault): the pages never hold the key.
type ConnectionStore interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
	ConnectionByID(ctx context.Context, id int64) (store.Connection, error)
	CreateConnection(ctx context.Context, a store.Actor, in store.ConnectionInput) (store.Connection, error)
	UpdateConnection(ctx context.Context, a store.Actor, id int64, in store.ConnectionInput) (store.Connection, error)
	SecretsSet(c store.Connection) map[string]bool
	SetConnectionEnabled(ctx context.Context, a store.Actor, id int64, enabled bool) (store.Connection, error)
	ConnectionCallStats(ctx context.Context, id int64, since time.Time) (store.CallStats, error)
	MayWriteInto(ctx context.Context, a store.Actor, connectionIDs ...int64) error
}

// CatalogueReader reads a connection's catalogue into the mapping pages' records.
type CatalogueReader interface {
	RefreshCatalogue(ctx context.Context, a store.Actor, connectionID int64) (engine.CatalogueCounts, error)
}

// ConnectionEngine is what the connection pages ask of the sync engine.
// Every call to a connected system goes through it, so its concurrency
// limit, circuit breaker, API budget and calls health see them all.
type ConnectionEngine interface {
	CatalogueReader
	CheckConnection(ctx context.Context, id int64) (connectors.CheckResult, error)
	WebhookSubscriptions(ctx context.Context, id int64) ([]connectors.Subscription, error)
	RegisterWebhooks(ctx context.Context, id int64) (int, error)
}

// Connections handles adding, editing, testing and watching connections.
type Connections struct {
	Base
	Store   ConnectionStore
	Kinds   *connectors.Registry
	BaseURL string // where the connected systems reach Crossdock's webhooks
	// Engine is nil when no sync engine runs: tests and catalogue
	// refreshes then say so.
	Engine ConnectionEngine
}

func (h Connections) load(c *fiber.Ctx) (store.Connection, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Connection{}, store.ErrNotFound
	}
	return h.Store.ConnectionByID(c.UserContext(), id)
}

// List shows every connection with its health at a glance.
func (h Connections) List(c *fiber.Ctx) error {
	cs, err := h.Store.ListConnections(c.UserContext())
	if err != nil {
		return err
	}
	p := views.ConnectionsPage{Meta: h.Meta(c, "Connections", "connections"), CanManage: isAdmin(c), Now: now()}
	for _, conn := range cs {
		p.Rows = append(p.Rows, connectionRow(h.Kinds, conn, p.Now))
	}
	return Render(c, views.Connections(p))
}

// connectionRow is a connection as lists show it, with a warning when the
// API version it uses is near or past its end of support at now.
func connectionRow(kinds *connectors.Registry, conn store.Connection, now time.Time) views.ConnectionRow {
	k, _ := kinds.Kind(conn.Kind)
	r := views.ConnectionRow{ID: conn.ID, Name: conn.Name, Kind: cmp.Or(k.Label, string(conn.Kind)), Environment: string(conn.Environment), Enabled: conn.Enabled,
		LastSuccessAt: conn.LastSuccessAt, LastErrorAt: conn.LastErrorAt, LastError: conn.LastError}
	if k.Address != nil {
		r.Address = k.Address(conn.Settings)
	}
	sup := k.Support(conn.Settings, now)
	r.Support, r.SupportEnded = sup.Notice, sup.Ended
	return r
}

func isAdmin(c *fiber.Ctx) bool {
	u := CurrentUser(c)
	return u != nil && u.Role == vocab.RoleAdmin
}

func (h Connections) form(c *fiber.Ctx, kind vocab.Kind) views.ConnectionForm {
	k, _ := h.Kinds.Kind(kind)
	return views.ConnectionForm{Meta: h.Meta(c, "Add a connection", "connections"), Kind: string(k.Key), KindLabel: k.Label,
		KindDescription: k.Description, Environment: string(vocab.EnvProduction), Fields: fieldViews(k, nil, nil, nil), Kinds: h.kindChoices()}
}

func (h Connections) kindChoices() []views.KindChoice {
	var out []views.KindChoice
	for _, k := range h.Kinds.Kinds() {
		out = append(out, views.KindChoice{Key: string(k.Key), Label: k.Label, Description: k.Description})
	}
	return out
}

func fieldViews(k connectors.Kind, settings map[string]string, haveSecret map[string]bool, errs map[string]string) []views.ConnectionField {
	var out []views.ConnectionField
	for _, f := range k.Fields {
		fv := views.ConnectionField{Key: f.Key, Label: f.Label, Hint: f.Hint, Placeholder: f.Placeholder, Secret: f.Secret,
			Required: f.Required, Options: f.Options, Advanced: f.Advanced, Error: errs[f.Key]}
		if f.Secret {
			fv.IsSet = haveSecret[f.Key]
		} else {
			fv.Value = settings[f.Key]
		}
		out = append(out, fv)
	}
	return out
}

// New shows the add-connection form for a kind (or the choice of kinds).
func (h Connections) New(c *fiber.Ctx) error {
	kind := vocab.Kind(c.Query("kind"))
	if _, ok := h.Kinds.Kind(kind); !ok {
		kind = ""
	}
	return Render(c, views.NewConnection(h.form(c, kind)))
}

// parse reads the connection form; ok is false for oversized fields.
func parseConnectionForm(c *fiber.Ctx, k connectors.Kind) (store.ConnectionInput, bool) {
	in := store.ConnectionInput{Kind: k.Key, Settings: map[string]string{}, Secrets: map[string]string{}}
	okAll := true
	var ok bool
	in.Name, ok = form(c, "name", 400)
	okAll = okAll && ok
	var env string
	env, ok = form(c, "environment", 40)
	in.Environment = vocab.Environment(env)
	okAll = okAll && ok
	for _, f := range k.Fields {
		v, ok := form(c, "f_"+f.Key, 2000)
		okAll = okAll && ok
		if f.Secret {
			in.Secrets[f.Key] = v
		} else {
			in.Settings[f.Key] = strings.TrimSpace(v)
		}
	}
	if d := in.Settings["shop_domain"]; d != "" {
		in.Settings["shop_domain"] = strings.ToLower(d)
	}
	return in, okAll
}

func mergeErrors(a, b vocab.FieldErrors) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Create adds a connection.
func (h Connections) Create(c *fiber.Ctx) error {
	k, ok := h.Kinds.Kind(vocab.Kind(c.FormValue("kind")))
	if !ok {
		f := h.form(c, "")
		f.Errors = map[string]string{"kind": h.Kinds.ChooseKind()}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewConnection(f))
	}
	in, sizeOK := parseConnectionForm(c, k)
	f := h.form(c, k.Key)
	f.Name, f.Environment = in.Name, string(in.Environment)
	f.Fields = fieldViews(k, in.Settings, nil, nil)
	if !sizeOK {
		f.Errors = map[string]string{"form": "One of the fields is far too long."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewConnection(f))
	}
	if errs := mergeErrors(in.Validate(), h.Kinds.Validate(k.Key, in.Settings, in.Secrets, nil)); len(errs) > 0 {
		f.Errors = errs
		f.Fields = fieldViews(k, in.Settings, nil, errs)
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewConnection(f))
	}
	conn, err := h.Store.CreateConnection(c.UserContext(), Actor(c), in)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewConnection(f))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Added %s. Test it to check that Crossdock can reach it.", conn.Name))
	return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
}

// Show displays a connection's health.
func (h Connections) Show(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	stats, err := h.Store.ConnectionCallStats(c.UserContext(), conn.ID, time.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	k, _ := h.Kinds.Kind(conn.Kind)
	p := views.ConnectionPage{Meta: h.Meta(c, conn.Name, "connections"), CanManage: isAdmin(c), Now: now(), CanReadCatalogue: h.Engine != nil,
		CallsOK: stats.OK, CallsFailed: stats.Failed, ErrorRate: stats.ErrorRate(), HasWebhooks: k.Webhooks != nil,
		WebhookURL: connectors.WebhookURL(h.BaseURL, conn.Kind, conn.ID), SecretsChangedAt: conn.SecretsChangedAt}
	p.Row = connectionRow(h.Kinds, conn, p.Now)
	if si, ok := h.signIn(); ok {
		p.SignIn, p.SignedIn = si.SignsIn(conn)
	}
	if si, ok := h.signIn(); ok && p.SignIn {
		if t, ok := si.ReconnectBy(c.UserContext(), conn.ID); ok {
			p.ReconnectBy = &t
		}
	}
	if len(conn.Budget) > 0 {
		var b struct{ MaximumAvailable, CurrentlyAvailable, RestoreRate float64 }
		if json.Unmarshal(conn.Budget, &b) == nil && b.MaximumAvailable > 0 {
			p.Budget = &views.BudgetView{Available: b.CurrentlyAvailable, Maximum: b.MaximumAvailable, RestoreRate: b.RestoreRate, SeenAt: conn.BudgetSeenAt}
		}
	}
	return Render(c, views.ConnectionShow(p))
}

// Test calls the system through the engine and shows what works, in plain
// words.
func (h Connections) Test(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	if h.Engine == nil {
		return RenderStatus(c, fiber.StatusServiceUnavailable, views.CheckResultPanel(views.CheckView{Summary: "The sync engine is not running, so Crossdock cannot test the connection."}))
	}
	res, err := h.Engine.CheckConnection(c.UserContext(), conn.ID)
	if err != nil {
		return err
	}
	v := views.CheckView{Done: true, OK: res.OK, Summary: res.Summary, At: time.Now()}
	for _, l := range res.Lines {
		v.Lines = append(v.Lines, views.CheckLineView{Label: l.Label, Value: l.Value, OK: l.OK})
	}
	if !IsHTMX(c) {
		kind := "success"
		if !res.OK {
			kind = "critical"
		}
		h.Flash(c, kind, res.Summary)
		return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
	}
	return Render(c, views.CheckResultPanel(v))
}

// Subscriptions shows which webhook topics are registered (Shopify only).
func (h Connections) Subscriptions(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	return Render(c, views.SubscriptionsPanel(h.subscriptions(c, conn, "")))
}

func (h Connections) subscriptions(c *fiber.Ctx, conn store.Connection, notice string) views.SubscriptionsView {
	v := views.SubscriptionsView{ConnectionID: conn.ID, CanManage: isAdmin(c), CallbackURL: connectors.WebhookURL(h.BaseURL, conn.Kind, conn.ID), Notice: notice}
	if k, _ := h.Kinds.Kind(conn.Kind); k.Webhooks == nil {
		return v
	}
	v.AddressProblem = webhookAddressProblem(h.BaseURL, []store.Connection{conn})
	if h.Engine == nil {
		v.Error = "The sync engine is not running, so Crossdock cannot read the webhook subscriptions."
		return v
	}
	subs, err := h.Engine.WebhookSubscriptions(c.UserContext(), conn.ID)
	if errors.Is(err, connectors.ErrNoWebhooks) {
		k, _ := h.Kinds.Kind(conn.Kind)
		v.Notice = k.Label + " does not let Crossdock register its webhooks: enter the address above in your app's webhook settings (for QuickBooks: developer.intuit.com → your app → Webhooks), with the verifier token it shows saved on this connection."
		return v
	}
	if err != nil {
		v.Error = "Could not read the webhook subscriptions: " + h.Kinds.Explain(err)
		return v
	}
	v.Loaded = true
	for _, s := range subs {
		v.Rows = append(v.Rows, views.SubscriptionRow{Topic: s.Topic, Registered: s.Registered, Elsewhere: s.Elsewhere})
		if !s.Registered {
			v.Missing++
		}
	}
	return v
}

// RegisterSubscriptions subscribes the missing webhook topics.
func (h Connections) RegisterSubscriptions(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	k, _ := h.Kinds.Kind(conn.Kind)
	if k.Webhooks == nil {
		return fiber.NewError(fiber.StatusBadRequest, "only systems that send webhooks have webhook subscriptions")
	}
	// Registering creates subscriptions in the system: a write into it.
	if err := h.Store.MayWriteInto(c.UserContext(), Actor(c), conn.ID); err != nil {
		return err
	}
	if h.Engine == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "the sync engine is not running")
	}
	n, err := h.Engine.RegisterWebhooks(c.UserContext(), conn.ID)
	notice := fmt.Sprintf("Registered %s.", components.Count(n, "webhook subscription", "webhook subscriptions"))
	if err != nil {
		notice = fmt.Sprintf("Registered %s, then %s refused: %s", components.Number(n), k.Label, h.Kinds.Explain(err))
	} else {
		Toast(c, "success", notice)
	}
	return Render(c, views.SubscriptionsPanel(h.subscriptions(c, conn, notice)))
}

// Edit shows the edit form; secrets are never shown, only whether they are set.
func (h Connections) Edit(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	return Render(c, views.EditConnection(h.editForm(c, conn, nil, nil)))
}

func (h Connections) editForm(c *fiber.Ctx, conn store.Connection, settings map[string]string, errs map[string]string) views.ConnectionForm {
	k, _ := h.Kinds.Kind(conn.Kind)
	have := h.Store.SecretsSet(conn)
	if settings == nil {
		settings = conn.Settings
	}
	return views.ConnectionForm{Meta: h.Meta(c, "Edit "+conn.Name, "connections"), ID: conn.ID, Kind: string(k.Key), KindLabel: k.Label,
		Name: conn.Name, Environment: string(conn.Environment), Fields: fieldViews(k, settings, have, errs), Errors: errs,
		SecretsChangedAt: conn.SecretsChangedAt, Now: now()}
}

// Update saves a connection's settings and any secret that was typed again.
func (h Connections) Update(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	k, _ := h.Kinds.Kind(conn.Kind)
	in, sizeOK := parseConnectionForm(c, k)
	if !sizeOK {
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditConnection(h.editForm(c, conn, in.Settings, map[string]string{"form": "One of the fields is far too long."})))
	}
	if errs := mergeErrors(in.Validate(), h.Kinds.Validate(k.Key, in.Settings, in.Secrets, h.Store.SecretsSet(conn))); len(errs) > 0 {
		f := h.editForm(c, conn, in.Settings, errs)
		f.Name, f.Environment = in.Name, string(in.Environment)
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditConnection(f))
	}
	after, err := h.Store.UpdateConnection(c.UserContext(), Actor(c), conn.ID, in)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		f := h.editForm(c, conn, in.Settings, fe)
		f.Name, f.Environment = in.Name, string(in.Environment)
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditConnection(f))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Saved %s.", after.Name))
	return Redirect(c, fmt.Sprintf("/connections/%d", after.ID))
}

// RefreshCatalogue reads the connection's variants and locations now.
func (h Connections) RefreshCatalogue(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	if h.Engine == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "the sync engine is not running")
	}
	n, err := h.Engine.RefreshCatalogue(c.UserContext(), Actor(c), conn.ID)
	var oos *store.OutOfScopeError
	if errors.As(err, &oos) {
		return err
	}
	if err != nil {
		h.Flash(c, "critical", fmt.Sprintf("Could not read the catalogue of %s: %s", conn.Name, h.Kinds.Explain(err)))
		return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
	}
	msg := fmt.Sprintf("Read %d variants and %d locations from %s.", n.Variants, n.Locations, conn.Name)
	if n.TaxCodes > 0 || n.PaymentMethods > 0 {
		msg = fmt.Sprintf("Read %d products, %d tax codes and %d payment methods and deposit accounts from %s.", n.Variants, n.TaxCodes, n.PaymentMethods, conn.Name)
	}
	if n.Gone > 0 {
		msg += fmt.Sprintf(" %d records it had before are gone.", n.Gone)
	}
	kind := "success"
	if n.MendedCount > 0 {
		kind = "warning"
		msg += fmt.Sprintf(" %s a character that cannot be stored (a NUL byte), kept with � in its place: %s. Correct %s in %s and read the catalogue again.",
			plural(n.MendedCount, "record holds", "records hold"), namedList(n.Mended, n.MendedCount), pick(n.MendedCount, "it", "them"), conn.Name)
	}
	if n.RefusedCount > 0 {
		kind = "warning"
		msg += fmt.Sprintf(" %s left out: %s.", plural(n.RefusedCount, "record was", "records were"), namedList(n.Refused, n.RefusedCount))
	}
	h.Flash(c, kind, msg)
	return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
}

// Disable stops all syncing through a connection.
func (h Connections) Disable(c *fiber.Ctx) error { return h.setEnabled(c, false) }

// Enable resumes a disabled connection.
func (h Connections) Enable(c *fiber.Ctx) error { return h.setEnabled(c, true) }

func (h Connections) setEnabled(c *fiber.Ctx, enabled bool) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	after, err := h.Store.SetConnectionEnabled(c.UserContext(), Actor(c), conn.ID, enabled)
	if err != nil {
		return err
	}
	if enabled {
		h.Flash(c, "success", fmt.Sprintf("%s is enabled again.", after.Name))
	} else {
		h.Flash(c, "warning", fmt.Sprintf("%s is disabled: nothing is read from or written to it until you enable it.", after.Name))
	}
	return Redirect(c, fmt.Sprintf("/connections/%d", after.ID))
}

func plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, pick(n, one, many))
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// namedList joins the named items, saying how many more there are.
func namedList(named []string, total int) string {
	out := strings.Join(named, "; ")
	if more := total - len(named); more > 0 {
		out += fmt.Sprintf(" and %d more", more)
	}
	return out
}
