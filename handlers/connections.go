package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/connectors"
	"crossdock/connectors/shopify"
	"crossdock/engine"
	"crossdock/store"
	"crossdock/store/secretbox"
	"crossdock/views"
	"crossdock/views/components"
	"crossdock/vocab"
)

// ConnectionStore is what the connection pages need from the store.
type ConnectionStore interface {
	ListConnections(ctx context.Context) ([]store.Connection, error)
	ConnectionByID(ctx context.Context, id int64) (store.Connection, error)
	CreateConnection(ctx context.Context, a store.Actor, box *secretbox.Box, in store.ConnectionInput) (store.Connection, error)
	UpdateConnection(ctx context.Context, a store.Actor, box *secretbox.Box, id int64, in store.ConnectionInput) (store.Connection, error)
	SetConnectionEnabled(ctx context.Context, a store.Actor, id int64, enabled bool) (store.Connection, error)
	RecordConnectionCall(ctx context.Context, id int64, call store.ConnectionCall) error
	ConnectionCallStats(ctx context.Context, id int64, since time.Time) (store.CallStats, error)
	MayWriteInto(ctx context.Context, a store.Actor, connectionIDs ...int64) error
}

// CatalogueReader reads a connection's catalogue into the mapping pages' records.
type CatalogueReader interface {
	RefreshCatalogue(ctx context.Context, a store.Actor, connectionID int64) (engine.CatalogueCounts, error)
}

// Connections handles adding, editing, testing and watching connections.
type Connections struct {
	Base
	Store     ConnectionStore
	Box       *secretbox.Box
	BaseURL   string       // where Shopify reaches Crossdock's webhooks
	HTTP      *http.Client // for calls to the connected systems
	Catalogue CatalogueReader
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
		p.Rows = append(p.Rows, connectionRow(conn))
	}
	return Render(c, views.Connections(p))
}

func connectionRow(conn store.Connection) views.ConnectionRow {
	k, _ := connectors.KindByKey(conn.Kind)
	r := views.ConnectionRow{ID: conn.ID, Name: conn.Name, Kind: k.Label, Environment: string(conn.Environment), Enabled: conn.Enabled,
		LastSuccessAt: conn.LastSuccessAt, LastErrorAt: conn.LastErrorAt, LastError: conn.LastError}
	switch conn.Kind {
	case vocab.KindShopify:
		r.Address = conn.Settings["shop_domain"]
	case vocab.KindOdoo:
		r.Address = conn.Settings["url"] + " · " + conn.Settings["database"]
	}
	return r
}

func isAdmin(c *fiber.Ctx) bool {
	u := CurrentUser(c)
	return u != nil && u.Role == vocab.RoleAdmin
}

func (h Connections) form(c *fiber.Ctx, kind vocab.Kind) views.ConnectionForm {
	k, _ := connectors.KindByKey(kind)
	return views.ConnectionForm{Meta: h.Meta(c, "Add a connection", "connections"), Kind: string(k.Key), KindLabel: k.Label,
		KindDescription: k.Description, Environment: string(vocab.EnvProduction), Fields: fieldViews(k, nil, nil, nil), Kinds: kindChoices()}
}

func kindChoices() []views.KindChoice {
	var out []views.KindChoice
	for _, k := range connectors.Kinds() {
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
	if _, ok := connectors.KindByKey(kind); !ok {
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
	k, ok := connectors.KindByKey(vocab.Kind(c.FormValue("kind")))
	if !ok {
		f := h.form(c, "")
		f.Errors = map[string]string{"kind": "Choose the kind of system: Shopify or Odoo."}
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
	if errs := mergeErrors(in.Validate(), connectors.Validate(k.Key, in.Settings, in.Secrets, nil)); len(errs) > 0 {
		f.Errors = errs
		f.Fields = fieldViews(k, in.Settings, nil, errs)
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewConnection(f))
	}
	conn, err := h.Store.CreateConnection(c.UserContext(), Actor(c), h.Box, in)
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
	p := views.ConnectionPage{Meta: h.Meta(c, conn.Name, "connections"), Row: connectionRow(conn), CanManage: isAdmin(c), Now: now(), CanReadCatalogue: h.Catalogue != nil,
		CallsOK: stats.OK, CallsFailed: stats.Failed, ErrorRate: stats.ErrorRate(), IsShopify: conn.Kind == vocab.KindShopify,
		WebhookURL: h.webhookURL(conn), SecretsChangedAt: conn.SecretsChangedAt}
	if len(conn.Budget) > 0 {
		var b shopify.BudgetStatus
		if json.Unmarshal(conn.Budget, &b) == nil && b.MaximumAvailable > 0 {
			p.Budget = &views.BudgetView{Available: b.CurrentlyAvailable, Maximum: b.MaximumAvailable, RestoreRate: b.RestoreRate, SeenAt: conn.BudgetSeenAt}
		}
	}
	return Render(c, views.ConnectionShow(p))
}

func (h Connections) webhookURL(conn store.Connection) string {
	return strings.TrimRight(h.BaseURL, "/") + fmt.Sprintf("/webhooks/shopify/%d", conn.ID)
}

func (h Connections) client(c *fiber.Ctx, conn store.Connection) *http.Client {
	// Record every call for the connection's health, on a context that
	// outlives the request only as long as the write takes.
	return connectors.RecordingClient(h.HTTP, func(ok bool, problem string) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 5*time.Second)
		defer cancel()
		h.Store.RecordConnectionCall(ctx, conn.ID, store.ConnectionCall{OK: ok, Error: problem}) //nolint:errcheck // health is best effort
	})
}

// Test calls the system and shows what works, in plain words.
func (h Connections) Test(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	secrets, err := store.ConnectionSecrets(h.Box, conn)
	if err != nil {
		return RenderStatus(c, fiber.StatusOK, views.CheckResultPanel(views.CheckView{Summary: secretbox.ErrOpen.Error()}))
	}
	res := connectors.Check(c.UserContext(), connectors.Conn{Name: conn.Name, Kind: conn.Kind, Settings: conn.Settings}, secrets, h.client(c, conn))
	if res.Budget != nil {
		b, _ := json.Marshal(res.Budget)
		h.Store.RecordConnectionCall(c.UserContext(), conn.ID, store.ConnectionCall{OK: true, Budget: b}) //nolint:errcheck
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
	v := views.SubscriptionsView{ConnectionID: conn.ID, CanManage: isAdmin(c), CallbackURL: h.webhookURL(conn), Notice: notice}
	if conn.Kind != vocab.KindShopify {
		return v
	}
	v.AddressProblem = webhookAddressProblem(h.BaseURL, []store.Connection{conn})
	secrets, err := store.ConnectionSecrets(h.Box, conn)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	cl, err := connectors.Shopify(connectors.Conn{Name: conn.Name, Kind: conn.Kind, Settings: conn.Settings}, secrets, h.client(c, conn))
	if err != nil {
		v.Error = err.Error()
		return v
	}
	subs, err := connectors.Subscriptions(c.UserContext(), cl, v.CallbackURL)
	if err != nil {
		v.Error = "Could not read the webhook subscriptions: " + connectors.Explain(err)
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
	if conn.Kind != vocab.KindShopify {
		return fiber.NewError(fiber.StatusBadRequest, "only Shopify connections have webhook subscriptions")
	}
	// Registering creates subscriptions in the shop: a write into it.
	if err := h.Store.MayWriteInto(c.UserContext(), Actor(c), conn.ID); err != nil {
		return err
	}
	secrets, err := store.ConnectionSecrets(h.Box, conn)
	if err != nil {
		return err
	}
	cl, err := connectors.Shopify(connectors.Conn{Name: conn.Name, Kind: conn.Kind, Settings: conn.Settings}, secrets, h.client(c, conn))
	if err != nil {
		return err
	}
	n, err := connectors.RegisterMissing(c.UserContext(), cl, h.webhookURL(conn))
	notice := fmt.Sprintf("Registered %s.", components.Count(n, "webhook subscription", "webhook subscriptions"))
	if err != nil {
		notice = fmt.Sprintf("Registered %s, then Shopify refused: %s", components.Number(n), connectors.Explain(err))
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
	k, _ := connectors.KindByKey(conn.Kind)
	have := h.haveSecrets(conn)
	if settings == nil {
		settings = conn.Settings
	}
	return views.ConnectionForm{Meta: h.Meta(c, "Edit "+conn.Name, "connections"), ID: conn.ID, Kind: string(k.Key), KindLabel: k.Label,
		Name: conn.Name, Environment: string(conn.Environment), Fields: fieldViews(k, settings, have, errs), Errors: errs,
		SecretsChangedAt: conn.SecretsChangedAt, Now: now()}
}

func (h Connections) haveSecrets(conn store.Connection) map[string]bool {
	have := map[string]bool{}
	if s, err := store.ConnectionSecrets(h.Box, conn); err == nil {
		for k := range s {
			have[k] = true
		}
	}
	return have
}

// Update saves a connection's settings and any secret that was typed again.
func (h Connections) Update(c *fiber.Ctx) error {
	conn, err := h.load(c)
	if err != nil {
		return err
	}
	k, _ := connectors.KindByKey(conn.Kind)
	in, sizeOK := parseConnectionForm(c, k)
	if !sizeOK {
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditConnection(h.editForm(c, conn, in.Settings, map[string]string{"form": "One of the fields is far too long."})))
	}
	if errs := mergeErrors(in.Validate(), connectors.Validate(k.Key, in.Settings, in.Secrets, h.haveSecrets(conn))); len(errs) > 0 {
		f := h.editForm(c, conn, in.Settings, errs)
		f.Name, f.Environment = in.Name, string(in.Environment)
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditConnection(f))
	}
	after, err := h.Store.UpdateConnection(c.UserContext(), Actor(c), h.Box, conn.ID, in)
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
	if h.Catalogue == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "the sync engine is not running")
	}
	n, err := h.Catalogue.RefreshCatalogue(c.UserContext(), Actor(c), conn.ID)
	var oos *store.OutOfScopeError
	if errors.As(err, &oos) {
		return err
	}
	if err != nil {
		h.Flash(c, "critical", fmt.Sprintf("Could not read the catalogue of %s: %s", conn.Name, connectors.Explain(err)))
		return Redirect(c, fmt.Sprintf("/connections/%d", conn.ID))
	}
	msg := fmt.Sprintf("Read %d variants and %d locations from %s.", n.Variants, n.Locations, conn.Name)
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
