package quickbooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors"
	"crossdock/connectors/quickbooks"
	"crossdock/connectors/quickbooks/sandbox"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// memKeeper is a TokenKeeper in memory with the same compare-and-swap rule
// as the engine's.
type memKeeper struct {
	mu       sync.Mutex
	tok      connectors.RefreshToken
	failSave int
	swaps    int
}

func (k *memKeeper) LoadToken(context.Context) (connectors.RefreshToken, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tok, nil
}

func (k *memKeeper) SwapToken(_ context.Context, old string, next connectors.RefreshToken) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failSave > 0 {
		k.failSave--
		return false, errors.New("the database is away")
	}
	if k.tok.Token != old {
		return false, nil
	}
	k.tok = next
	k.swaps++
	return true, nil
}

type twin struct {
	srv *sandbox.Server
	url string
}

func newTwin(t *testing.T, o sandbox.Options) twin { return newTwinTB(t, o) }

func newTwinTB(t testing.TB, o sandbox.Options) twin {
	t.Helper()
	if o.Items == nil {
		o.Items = []sandbox.SeedItem{{SKU: "SKU-1", Name: "Tent", Price: 120}, {SKU: "SKU-2", Name: "Stove", Price: 40}}
	}
	s := sandbox.New(o)
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	return twin{srv: s, url: h.URL}
}

func (tw twin) client(t *testing.T, k connectors.TokenKeeper, tune func(*quickbooks.Config)) *quickbooks.Client {
	t.Helper()
	id, secret := tw.srv.ClientCredentials()
	cfg := quickbooks.Config{BaseURL: tw.url, TokenURL: sandbox.TokenURL(tw.url), RealmID: tw.srv.RealmID(),
		ClientID: id, ClientSecret: secret, ThrottleWait: time.Millisecond}
	if k == nil {
		cfg.RefreshToken = tw.srv.IssueRefreshToken()
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := quickbooks.NewClient(cfg)
	require.NoError(t, err)
	if k != nil {
		c.KeepTokensWith(k)
	}
	return c
}

func keys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestFaultFixtures(t *testing.T) {
	t.Parallel()
	tmpl := fixture(t, "quickbooks-error-fault-template.json")
	var env struct {
		Fault struct {
			Error []map[string]string
			Type  string `json:"type"`
		}
		Time string `json:"time"`
	}
	require.NoError(t, json.Unmarshal(tmpl, &env))
	require.Equal(t, "ValidationFault", env.Fault.Type)

	// The real 5010 list, inside the documented envelope.
	list := fixture(t, "quickbooks-error-stale-object-errors-array.json")
	body := []byte(`{"Fault":{"Error":` + string(list) + `,"type":"ValidationFault"},"time":"2017-09-29T09:17:31.892-07:00"}`)
	tw := newTwin(t, sandbox.Options{})
	// The twin's 5010 carries the same keys and words as the real one.
	cl := tw.client(t, nil, nil)
	ctx := context.Background()
	var c quickbooks.Customer
	require.NoError(t, cl.Create(ctx, quickbooks.EntityCustomer, "r-1", quickbooks.Customer{DisplayName: "Ann"}, &c))
	tw.srv.ConflictNextUpdates(5)
	err := cl.SparseUpdate(ctx, quickbooks.EntityCustomer, c.ID, func(id, st string) any {
		return quickbooks.Customer{ID: id, SyncToken: st, Sparse: true, GivenName: "Ann"}
	}, nil)
	var qe *quickbooks.Error
	require.ErrorAs(t, err, &qe)
	require.Equal(t, quickbooks.KindStale, qe.Kind)
	require.Equal(t, "5010", qe.Code)
	var twinEnv, realEnv struct {
		Fault struct{ Error []map[string]string } `json:"Fault"`
	}
	require.NoError(t, json.Unmarshal(qe.Body, &twinEnv))
	require.NoError(t, json.Unmarshal(body, &realEnv))
	require.Equal(t, realEnv.Fault.Error[0], twinEnv.Fault.Error[0], "the twin's 5010 is QuickBooks' word for word")
	require.Equal(t, keys(t, body), keys(t, qe.Body))
	var twinFault, tmplFault map[string]any
	require.NoError(t, json.Unmarshal(qe.Body, &twinFault))
	require.NoError(t, json.Unmarshal(tmpl, &tmplFault))
	require.ElementsMatch(t, keys(t, mustJSON(tmplFault["Fault"])), keys(t, mustJSON(twinFault["Fault"])))
	s, ok := quickbooks.Explain(err)
	require.True(t, ok)
	require.Contains(t, s, "Someone changed this record in QuickBooks")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestExplainCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		status     int
		kind       quickbooks.ErrorKind
		words      string
	}{
		{"duplicate name", `{"Fault":{"Error":[{"Message":"Duplicate Name Exists Error","Detail":"The name supplied already exists.","code":"6240"}],"type":"ValidationFault"}}`, 400, quickbooks.KindDuplicate, "names must be unique"},
		{"duplicate number", `{"Fault":{"Error":[{"Message":"Duplicate Document Number Error","code":"6210"}],"type":"ValidationFault"}}`, 400, quickbooks.KindDuplicate, "document with this number"},
		{"inactive", `{"Fault":{"Error":[{"Message":"Object Not Found","code":"610"}],"type":"ValidationFault"}}`, 400, quickbooks.KindNotFound, "deleted or inactive"},
		{"auth", `{"Fault":{"Error":[{"Message":"AuthenticationFailed","code":"120"}],"type":"AUTHENTICATION"}}`, 401, quickbooks.KindAuth, "Connect to QuickBooks"},
		{"throttled", `{"Fault":{"Error":[{"Message":"ThrottleExceeded","code":"3001"}],"type":"ThrottlingFault"}}`, 429, quickbooks.KindThrottled, "500 requests a minute"},
		{"throttled without a body", ``, 429, quickbooks.KindThrottled, "waits and sends"},
		{"fault in a 200", `{"Fault":{"Error":[{"Message":"x","code":"6000","Detail":"Business Validation Error: no"}],"type":"ValidationFault"}}`, 200, quickbooks.KindValidation, "refused the change"},
		{"invalid grant", `{"error_description":"Token invalid","error":"invalid_grant"}`, 400, quickbooks.KindAuth, "no longer accepts"},
		{"server error", `<html>oops</html>`, 503, quickbooks.KindTransient, "temporary problem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := quickbooks.FaultFromAnswer(tc.status, []byte(tc.body))
			var qe *quickbooks.Error
			require.ErrorAs(t, err, &qe)
			require.Equal(t, tc.kind, qe.Kind)
			s, ok := quickbooks.Explain(err)
			require.True(t, ok)
			require.Contains(t, s, tc.words)
		})
	}
	_, ok := quickbooks.Explain(errors.New("not ours"))
	require.False(t, ok)
}

func TestOAuthFixtures(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	id, secret := tw.srv.ClientCredentials()
	post := func(form url.Values, hard bool) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, sandbox.TokenURL(tw.url), strings.NewReader(form.Encode()))
		req.SetBasicAuth(id, secret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if hard {
			req.Header.Set("x-include-refresh-token-hard-expires-in", "true")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b []byte
		b, err = readAll(resp)
		require.NoError(t, err)
		return resp, b
	}
	resp, body := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, false)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.JSONEq(t, string(fixture(t, "quickbooks-oauth-error-invalid-grant.json")), string(body))
	require.NotEmpty(t, resp.Header.Get("intuit_tid"))

	rt := tw.srv.IssueRefreshToken()
	resp, body = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, keys(t, fixture(t, "quickbooks-oauth-token-response.json")), keys(t, body), "same keys as Intuit's own SDK mock")
	var tr map[string]any
	require.NoError(t, json.Unmarshal(body, &tr))
	require.EqualValues(t, 3600, tr["expires_in"])
	require.EqualValues(t, 8726400, tr["x_refresh_token_expires_in"])
	require.NotEqual(t, rt, tr["refresh_token"], "refresh tokens rotate")
	require.True(t, tw.srv.ValidRefreshToken(rt), "the previous refresh token stays valid for 24 hours")

	_, body = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr["refresh_token"].(string)}}, true)
	require.Contains(t, keys(t, body), "x_refresh_token_hard_expires_in")
}

func readAll(resp *http.Response) ([]byte, error) {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			if err.Error() == "EOF" {
				return []byte(b.String()), nil
			}
			return nil, err
		}
	}
}

func TestWebhookFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"quickbooks-webhook-legacy.json", "quickbooks-webhook-cloudevents.json"} {
		evs, err := quickbooks.DecodeWebhook(fixture(t, name))
		require.NoError(t, err, name)
		require.Len(t, evs, 1)
		require.Equal(t, "310687", evs[0].RealmID)
		require.Equal(t, "Account", evs[0].Entity)
		require.Equal(t, "1234", evs[0].ID)
		require.Equal(t, "Create", evs[0].Operation)
		require.False(t, evs[0].Time.IsZero())
	}
	tw := newTwin(t, sandbox.Options{})
	for _, format := range []string{sandbox.FormatLegacy, sandbox.FormatCloudEvents} {
		body, sig := tw.srv.Notification(format, "verifier-1", []sandbox.Change{{Entity: "SalesReceipt", ID: "42", Operation: "Update", At: time.Now()}})
		k := quickbooks.Kind()
		h := http.Header{}
		h.Set(quickbooks.SignatureHeader, sig)
		require.NoError(t, k.VerifyWebhook(body, h, []string{"old", "verifier-1"}), format)
		require.ErrorIs(t, k.VerifyWebhook(append(body, ' '), h, []string{"verifier-1"}), connectors.ErrBadSignature)
		require.ErrorIs(t, k.VerifyWebhook(body, h, []string{"the client secret"}), connectors.ErrBadSignature)
		evs, err := quickbooks.DecodeWebhook(body)
		require.NoError(t, err)
		require.Equal(t, []string{"SalesReceipt", "42", "Update", tw.srv.RealmID()}, []string{evs[0].Entity, evs[0].ID, evs[0].Operation, evs[0].RealmID})
		// The twin's keys are the fixture's.
		fx := fixture(t, map[string]string{sandbox.FormatLegacy: "quickbooks-webhook-legacy.json", sandbox.FormatCloudEvents: "quickbooks-webhook-cloudevents.json"}[format])
		require.Equal(t, shape(t, fx), shape(t, body), format)
	}
	for _, bad := range []string{``, `null`, `"x"`, `{}`, `[{"type":"qbo.customer"}]`, `[{"type":"qbo.customer.created.v1","intuitaccountid":"1"}]`, "[\x00]"} {
		_, err := quickbooks.DecodeWebhook([]byte(bad))
		require.Error(t, err, bad)
	}
}

// shape is the set of key paths of a JSON document (array elements merged).
func shape(t *testing.T, b []byte) []string {
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	set := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				set[prefix+"."+k] = true
				walk(prefix+"."+k, c)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	var out []string
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestCreateWithRequestIDOnce(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	cl := tw.client(t, nil, nil)
	ctx := context.Background()
	item, _ := tw.srv.ItemBySKU("SKU-1")
	var cust quickbooks.Customer
	require.NoError(t, cl.Create(ctx, quickbooks.EntityCustomer, quickbooks.RequestID("c1"), quickbooks.Customer{DisplayName: "Ann Lee",
		PrimaryEmailAddr: &quickbooks.Email{Address: "ann@example.com"}}, &cust))
	receipt := quickbooks.Txn{DocNumber: "1001", CustomerRef: &quickbooks.Ref{Value: cust.ID}, Line: []quickbooks.Line{
		{Amount: 240, DetailType: "SalesItemLineDetail", SalesItemLineDetail: &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: item}, Qty: 2, UnitPrice: 120}},
		{Amount: 10, DetailType: "SalesItemLineDetail", SalesItemLineDetail: &quickbooks.SalesItemLineDetail{ItemRef: quickbooks.Ref{Value: quickbooks.ShippingItemID}}},
		{Amount: 20, DetailType: "DiscountLineDetail", DiscountLineDetail: &quickbooks.DiscountLineDetail{}},
	}}
	rid := quickbooks.RequestID("gid://shopify/Order/1")
	require.LessOrEqual(t, len(rid), 50)
	var first, again quickbooks.Txn
	require.NoError(t, cl.Create(ctx, quickbooks.EntitySalesReceipt, rid, receipt, &first))
	require.NoError(t, cl.Create(ctx, quickbooks.EntitySalesReceipt, rid, receipt, &again))
	require.Equal(t, first.ID, again.ID, "the same requestid gets the first answer")
	require.Len(t, tw.srv.Records(quickbooks.EntitySalesReceipt), 1)
	require.InDelta(t, 230, first.TotalAmt, 0.001)

	// Without the requestid the same number collides (6210).
	err := cl.Create(ctx, quickbooks.EntitySalesReceipt, quickbooks.RequestID("other"), receipt, nil)
	require.True(t, quickbooks.IsKind(err, quickbooks.KindDuplicate), "%v", err)
	// A display name is unique across customers (6240).
	err = cl.Create(ctx, quickbooks.EntityCustomer, quickbooks.RequestID("c2"), quickbooks.Customer{DisplayName: "ann lee"}, nil)
	var qe *quickbooks.Error
	require.ErrorAs(t, err, &qe)
	require.Equal(t, "6240", qe.Code)
	// An unknown item is 610.
	receipt.DocNumber, receipt.Line[0].SalesItemLineDetail.ItemRef.Value = "1002", "999"
	err = cl.Create(ctx, quickbooks.EntitySalesReceipt, quickbooks.RequestID("x3"), receipt, nil)
	require.ErrorAs(t, err, &qe)
	require.Equal(t, "610", qe.Code)
	// So are an unknown payment method and an unknown deposit account.
	receipt.Line[0].SalesItemLineDetail.ItemRef.Value = item
	for i, bad := range []quickbooks.Txn{{PaymentMethodRef: &quickbooks.Ref{Value: "999"}}, {DepositToAccountRef: &quickbooks.Ref{Value: "999"}}} {
		r := receipt
		r.PaymentMethodRef, r.DepositToAccountRef = bad.PaymentMethodRef, bad.DepositToAccountRef
		err = cl.Create(ctx, quickbooks.EntitySalesReceipt, quickbooks.RequestID("bad-ref-"+strconv.Itoa(i)), r, nil)
		require.ErrorAs(t, err, &qe)
		require.Equal(t, "610", qe.Code, "%v", err)
	}

	found, ok, err := cl.TxnByDocNumber(ctx, quickbooks.EntitySalesReceipt, "1001")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, first.ID, found.ID)
	c, ok, err := cl.CustomerByEmail(ctx, "ann@example.com")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, cust.ID, c.ID)
	_, ok, err = cl.CustomerByDisplayName(ctx, "O'Brien")
	require.NoError(t, err)
	require.False(t, ok)
	require.Error(t, cl.Create(ctx, quickbooks.EntityCustomer, strings.Repeat("x", 51), quickbooks.Customer{DisplayName: "Z"}, nil))
}

func TestSparseUpdateRereadsOnStaleToken(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	cl := tw.client(t, nil, nil)
	ctx := context.Background()
	var c quickbooks.Customer
	require.NoError(t, cl.Create(ctx, quickbooks.EntityCustomer, "r1", quickbooks.Customer{DisplayName: "Bo", CompanyName: "Bo's"}, &c))
	tw.srv.ConflictNextUpdates(2) // someone edits it twice meanwhile
	var out quickbooks.Customer
	require.NoError(t, cl.SparseUpdate(ctx, quickbooks.EntityCustomer, c.ID, func(id, st string) any {
		return quickbooks.Customer{ID: id, SyncToken: st, Sparse: true, GivenName: "Bo"}
	}, &out))
	require.Equal(t, "Bo", out.GivenName)
	require.Equal(t, "Bo's", out.CompanyName, "a sparse update keeps what it does not send")
	require.Equal(t, "3", out.SyncToken)
}

func TestThrottledCallsWaitAndGoThrough(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	cl := tw.client(t, nil, func(c *quickbooks.Config) { c.MaxThrottled = 3 })
	ctx := context.Background()
	tw.srv.ThrottleNext(3)
	_, err := cl.CompanyInfo(ctx)
	require.NoError(t, err)
	tw.srv.ThrottleNext(4)
	_, err = cl.CompanyInfo(ctx)
	require.True(t, quickbooks.IsKind(err, quickbooks.KindThrottled), "%v", err)
}

func TestTwinRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tw := newTwin(t, sandbox.Options{Now: clock, RatePerMinute: 20})
	// The client's own pacing is off: the twin must refuse the 21st call
	// of the minute.
	cl := tw.client(t, nil, func(c *quickbooks.Config) { c.RatePerMinute, c.MaxThrottled, c.Now = 1e6, -1, clock })
	ctx := context.Background()
	var throttled int
	for range 21 {
		if _, err := cl.Preferences(ctx); quickbooks.IsKind(err, quickbooks.KindThrottled) {
			throttled++
		} else {
			require.NoError(t, err)
		}
	}
	require.Equal(t, 1, throttled)
	mu.Lock()
	now = now.Add(3 * time.Second) // one call's worth of a 20/min budget
	mu.Unlock()
	_, err := cl.Preferences(ctx)
	require.NoError(t, err)
}

func TestRefreshRotatesAndKeepsTheNewest(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	k := &memKeeper{tok: connectors.RefreshToken{Token: tw.srv.IssueRefreshToken()}}
	first := k.tok.Token
	cl := tw.client(t, k, nil)
	ctx := context.Background()
	_, err := cl.CompanyInfo(ctx)
	require.NoError(t, err)
	require.NotEqual(t, first, k.tok.Token, "the rotated token is stored")
	require.Equal(t, first, k.tok.Previous, "and the one before it kept")
	require.False(t, k.tok.HardExpiresAt.IsZero(), "the 5-year limit is kept")
	require.WithinDuration(t, time.Now().AddDate(5, 0, 0), cl.HardExpiry(), time.Hour)
	second := k.tok.Token
	tw.srv.ExpireAccessTokens() // mid-run: the next call gets 401 and refreshes
	_, err = cl.Preferences(ctx)
	require.NoError(t, err)
	require.NotEqual(t, second, k.tok.Token)
	require.Equal(t, 2, k.swaps)
}

func TestRefreshSurvivesAFailedSave(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	k := &memKeeper{tok: connectors.RefreshToken{Token: tw.srv.IssueRefreshToken()}, failSave: 1}
	kept := k.tok.Token
	ctx := context.Background()
	_, err := tw.client(t, k, nil).CompanyInfo(ctx)
	require.NoError(t, err, "the call goes on with its access token")
	require.Equal(t, kept, k.tok.Token, "nothing was saved")
	// A fresh client (the next run, after a crash) refreshes from the kept
	// token, which QuickBooks still honours.
	_, err = tw.client(t, k, nil).CompanyInfo(ctx)
	require.NoError(t, err)
	require.NotEqual(t, kept, k.tok.Token)
}

func TestRefreshFallsBackToThePreviousToken(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	good := tw.srv.IssueRefreshToken()
	k := &memKeeper{tok: connectors.RefreshToken{Token: "RT1-unknown", Previous: good}}
	_, err := tw.client(t, k, nil).CompanyInfo(context.Background())
	require.NoError(t, err)
	tw.srv.RevokeRefreshTokens()
	_, err = tw.client(t, k, nil).CompanyInfo(context.Background())
	require.True(t, quickbooks.IsKind(err, quickbooks.KindAuth), "%v", err)
	s, _ := quickbooks.Explain(err)
	require.Contains(t, s, "Connect to QuickBooks")
}

func TestConcurrentRefreshesNeverLoseTheToken(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	k := &memKeeper{tok: connectors.RefreshToken{Token: tw.srv.IssueRefreshToken()}}
	ctx := context.Background()
	// Two replicas: two clients on one keeper, refreshing at once.
	var wg sync.WaitGroup
	for range 4 {
		cl := tw.client(t, k, nil)
		wg.Go(func() {
			_, err := cl.CompanyInfo(ctx)
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.True(t, tw.srv.ValidRefreshToken(k.tok.Token))
	_, err := tw.client(t, k, nil).CompanyInfo(ctx)
	require.NoError(t, err)
}

func TestQueryPagesAndCDC(t *testing.T) {
	t.Parallel()
	var items []sandbox.SeedItem
	for i := range 25 {
		items = append(items, sandbox.SeedItem{SKU: "S-" + string(rune('A'+i)), Name: "Item " + string(rune('A'+i))})
	}
	tw := newTwin(t, sandbox.Options{Items: items})
	cl := tw.client(t, nil, nil)
	ctx := context.Background()
	p1, err := cl.Items(ctx, 1, 10)
	require.NoError(t, err)
	p3, err := cl.Items(ctx, 21, 10)
	require.NoError(t, err)
	require.Len(t, p1, 10)
	require.Len(t, p3, 5)
	byEntity := map[string][]connectors.Record{}
	require.NoError(t, cl.ReadCatalogue(ctx, func(entity string, b []connectors.Record) error {
		byEntity[entity] = append(byEntity[entity], b...)
		return nil
	}))
	recs := byEntity[connectors.EntityVariant]
	require.Len(t, recs, 25)
	require.Equal(t, "S-A", recs[0].SKU)
	// The lists the mappings of taxes and payment gateways pick from, by name.
	names := func(entity string) []string {
		var out []string
		for _, r := range byEntity[entity] {
			require.NotEmpty(t, r.ExternalID)
			out = append(out, r.Name)
		}
		return out
	}
	require.Equal(t, []string{"TAX", "NON", "CA Sales Tax"}, names(connectors.EntityTaxCode))
	require.Equal(t, []string{"Credit Card", "PayPal", "Undeposited Funds (account)", "Checking (account)", "PayPal Bank (account)"},
		names(connectors.EntityPaymentMethod), "payment methods, then the accounts a sales receipt can be deposited to; not income or expense accounts")
	checking, _ := tw.srv.AccountID("Checking")
	require.Contains(t, byEntity[connectors.EntityPaymentMethod], connectors.Record{ExternalID: quickbooks.AccountRefPrefix + checking, Name: "Checking (account)"})

	since := time.Now().Add(-time.Minute)
	require.NoError(t, cl.Create(ctx, quickbooks.EntityCustomer, "cdc-1", quickbooks.Customer{DisplayName: "Cy"}, nil))
	ch, err := cl.CDC(ctx, []string{quickbooks.EntityCustomer, quickbooks.EntityItem}, since)
	require.NoError(t, err)
	require.Len(t, ch[quickbooks.EntityCustomer], 1)
	require.Len(t, ch[quickbooks.EntityItem], 25)
	_, err = cl.CDC(ctx, []string{quickbooks.EntityCustomer}, time.Now().AddDate(0, 0, -31))
	require.True(t, quickbooks.IsKind(err, quickbooks.KindValidation), "%v", err)
	_, err = cl.Query(ctx, quickbooks.EntityItem, "delete from Item")
	require.Error(t, err)
}

func TestCheckSaysWhatWorks(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{NoShipping: true})
	k := quickbooks.Kind()
	res := k.Check(context.Background(), tw.client(t, nil, nil))
	require.True(t, res.OK, res.Summary)
	got := map[string]string{}
	for _, l := range res.Lines {
		got[l.Label] = l.Value
	}
	require.Equal(t, "Sandbox Company_US_1", got["Company"])
	require.Equal(t, "US", got["Country"])
	require.Equal(t, "USD", got["Currency"])
	require.Equal(t, "on", got["Inventory tracking"])
	require.Equal(t, "75", got["API minor version"])
	require.Contains(t, got["Missing settings"], "shipping")
	require.NotEmpty(t, got["Reconnect needed by"])

	tw.srv.RevokeRefreshTokens()
	res = k.Check(context.Background(), tw.client(t, &memKeeper{tok: connectors.RefreshToken{Token: "gone"}}, nil))
	require.False(t, res.OK)
	require.Contains(t, res.Summary, "Connect to QuickBooks")
}

func TestKindForm(t *testing.T) {
	t.Parallel()
	r := connectors.MustRegistry(quickbooks.Kind())
	fe := r.Validate("quickbooks", map[string]string{"environment": "sandbox", "client_id": "abc", "realm_id": "12a", "api_base_url": "ftp://x"},
		map[string]string{"client_secret": "s"}, nil)
	require.Contains(t, fe["realm_id"], "number")
	require.Contains(t, fe["api_base_url"], "https://")
	require.Nil(t, r.Validate("quickbooks", map[string]string{"environment": "production", "client_id": "abc"}, map[string]string{"client_secret": "s"}, nil))
	k, _ := r.Kind("quickbooks")
	_, err := k.NewClient(connectors.Conn{Settings: map[string]string{"client_id": "a"}, Secrets: map[string]string{"client_secret": "b"}}, nil)
	require.ErrorContains(t, err, "connect to QuickBooks first")
	fe = r.Validate("quickbooks", map[string]string{"environment": "production", "client_id": "abc", "payouts_bank_account": "Checking",
		"payouts_fees_account": "12"}, map[string]string{"client_secret": "s"}, nil)
	require.Contains(t, fe["payouts_bank_account"], "account id is a number")
	require.NotContains(t, fe, "payouts_fees_account")
	require.Equal(t, "https://sandbox-quickbooks.api.intuit.com", quickbooks.BaseURL(map[string]string{"environment": "sandbox"}))
}

// A deposit: its total is the sum of its lines (a negative fees line
// lowers it), it is made once per requestid, read back by id and found by
// date; a missing bank account, an unknown account, a line of another
// kind and a negative total are each refused in QuickBooks' words.
func TestTwinDeposits(t *testing.T) {
	t.Parallel()
	tw := newTwin(t, sandbox.Options{})
	cl := tw.client(t, nil, nil)
	ctx := context.Background()
	bank, ok := tw.srv.AccountID("Checking")
	require.True(t, ok)
	clearing, _ := tw.srv.AccountID("Undeposited Funds")
	fees, ok := tw.srv.AccountID("Bank Charges & Fees")
	require.True(t, ok)
	dep := quickbooks.Deposit{TxnDate: "2026-11-03", DepositToAccountRef: &quickbooks.Ref{Value: bank}, PrivateNote: "payout 1",
		Line: []quickbooks.DepositLine{quickbooks.DepositLineOf("Sales", 1234.56, clearing), quickbooks.DepositLineOf("Refunds", -34.50, clearing),
			quickbooks.DepositLineOf("Fees", -37.04, fees)}}
	var made, again, read quickbooks.Deposit
	require.NoError(t, cl.Create(ctx, quickbooks.EntityDeposit, quickbooks.RequestID("p1"), dep, &made))
	require.InDelta(t, 1163.02, made.TotalAmt, 0.001)
	require.NoError(t, cl.Create(ctx, quickbooks.EntityDeposit, quickbooks.RequestID("p1"), dep, &again))
	require.Equal(t, made.ID, again.ID)
	require.Len(t, tw.srv.Records(quickbooks.EntityDeposit), 1, "the same requestid makes one deposit")
	require.NoError(t, cl.Read(ctx, quickbooks.EntityDeposit, made.ID, &read))
	require.Equal(t, quickbooks.Ref{Value: bank, Name: "Checking"}, *read.DepositToAccountRef, "references carry the name")
	require.Len(t, read.Line, 3)
	require.Equal(t, fees, read.Line[2].DepositLineDetail.AccountRef.Value)
	require.InDelta(t, made.TotalAmt, read.TotalAmt, 0.001)

	got, err := cl.DepositsBetween(ctx, "2026-11-01", "2026-11-05")
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, made.ID, got[0].ID)
	require.Equal(t, "2026-11-03", got[0].TxnDate)
	none, err := cl.DepositsBetween(ctx, "2026-11-04", "2026-11-30")
	require.NoError(t, err)
	require.Empty(t, none)

	var qe *quickbooks.Error
	for name, c := range map[string]struct {
		change func(d *quickbooks.Deposit)
		code   string
	}{
		"no bank account": {func(d *quickbooks.Deposit) { d.DepositToAccountRef = nil }, "2020"},
		"unknown bank":    {func(d *quickbooks.Deposit) { d.DepositToAccountRef = &quickbooks.Ref{Value: "999"} }, "610"},
		"unknown line":    {func(d *quickbooks.Deposit) { d.Line[1].DepositLineDetail.AccountRef.Value = "998" }, "610"},
		"sales line":      {func(d *quickbooks.Deposit) { d.Line[0].DetailType = "SalesItemLineDetail" }, "2020"},
		"negative total":  {func(d *quickbooks.Deposit) { d.Line[0].Amount = 10 }, "6000"},
		"no lines":        {func(d *quickbooks.Deposit) { d.Line = nil }, "2020"},
	} {
		d := dep
		d.Line = slices.Clone(dep.Line)
		for i := range d.Line {
			det := *d.Line[i].DepositLineDetail
			d.Line[i].DepositLineDetail = &det
		}
		c.change(&d)
		err := cl.Create(ctx, quickbooks.EntityDeposit, quickbooks.RequestID("bad "+name), d, nil)
		require.ErrorAs(t, err, &qe, name)
		require.Equal(t, c.code, qe.Code, name)
	}
	require.Len(t, tw.srv.Records(quickbooks.EntityDeposit), 1, "no refused deposit was kept")
}
