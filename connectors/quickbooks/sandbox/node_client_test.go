package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crossdock/connectors/quickbooks/sandbox"
)

// nodeDir holds the script and its pinned node-quickbooks (make npm-deps).
const nodeDir = "testdata/nodeqb"

// nodeFault is what proof.js reports of an error node-quickbooks returned.
type nodeFault struct {
	IsError    bool   `json:"is_error"`
	Status     int    `json:"status"`
	Type       string `json:"type"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Detail     string `json:"detail"`
	OAuthError string `json:"oauth_error"`
}

// nodeProof is proof.js's output.
type nodeProof struct {
	Endpoint string `json:"endpoint"`
	Refresh  struct {
		Error            *nodeFault `json:"error"`
		Rotated          bool       `json:"rotated"`
		RefreshToken     string     `json:"refresh_token"`
		HasAccessToken   bool       `json:"has_access_token"`
		TokenType        string     `json:"token_type"`
		ExpiresIn        int        `json:"expires_in"`
		RefreshExpiresIn int        `json:"refresh_expires_in"`
	} `json:"refresh"`
	BadRefresh *nodeFault `json:"bad_refresh"`
	Customer   struct {
		Error       *nodeFault `json:"error"`
		ID          string     `json:"id"`
		DisplayName string     `json:"display_name"`
	} `json:"customer"`
	DuplicateCustomer *nodeFault `json:"duplicate_customer"`
	Receipt           struct {
		Error      *nodeFault `json:"error"`
		ID         string     `json:"id"`
		ReplayID   string     `json:"replay_id"`
		SameAnswer bool       `json:"same_answer"`
		Total      float64    `json:"total"`
		DocNumber  string     `json:"doc_number"`
		SyncToken  string     `json:"sync_token"`
	} `json:"receipt"`
	Read struct {
		Error     *nodeFault `json:"error"`
		ID        string     `json:"id"`
		SyncToken string     `json:"sync_token"`
		Customer  string     `json:"customer"`
	} `json:"read"`
	Update struct {
		Error     *nodeFault `json:"error"`
		SyncToken string     `json:"sync_token"`
		Note      string     `json:"note"`
		Lines     int        `json:"lines"`
		Total     float64    `json:"total"`
	} `json:"update"`
	Stale *nodeFault `json:"stale"`
	Query struct {
		Error *nodeFault `json:"error"`
		IDs   []string   `json:"ids"`
	} `json:"query"`
	QueryQuote struct {
		Error *nodeFault `json:"error"`
		IDs   []string   `json:"ids"`
	} `json:"query_quote"`
	QueryLike struct {
		Error *nodeFault `json:"error"`
		IDs   []string   `json:"ids"`
	} `json:"query_like"`
	QueryCount struct {
		Error *nodeFault `json:"error"`
		Total int        `json:"total"`
	} `json:"query_count"`
	CDC struct {
		Error   *nodeFault          `json:"error"`
		Changed map[string][]string `json:"changed"`
	} `json:"cdc"`
	Missing nodeFault `json:"missing"`
	Delete  struct {
		Error     *nodeFault `json:"error"`
		ID        string     `json:"id"`
		Status    string     `json:"status"`
		ReadAfter *nodeFault `json:"read_after"`
	} `json:"delete"`
}

// requireNode finds node and the installed node-quickbooks. Without node it
// skips on a developer's machine and fails in CI (CI set); without the
// package it fails, saying how to install it.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		msg := "node is not installed: apt-get install nodejs npm, then make npm-deps"
		if os.Getenv("CI") == "" {
			t.Skip(msg + " (this test runs in CI)")
		}
		t.Fatal(msg)
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "node-quickbooks", "package.json")); err != nil {
		t.Fatalf("node-quickbooks is not installed in %s: run make npm-deps (npm ci there)", nodeDir)
	}
	return node
}

// TestNodeQuickBooksAgainstTwin runs the widely used npm client
// node-quickbooks 2.0.50, unchanged apart from its base URLs, against the
// twin over real HTTP: token refresh with rotation, a customer, a sales
// receipt created twice with one requestid, read, sparse update, the stale
// SyncToken fault, queries, change data capture, faults as errors, delete.
// It checks what the client saw and what the twin holds.
func TestNodeQuickBooksAgainstTwin(t *testing.T) {
	t.Parallel()
	node := requireNode(t)
	tw := sandbox.New(sandbox.Options{Items: []sandbox.SeedItem{{SKU: "TENT-2P", Name: "Two-person tent", Price: 120}}})
	srv := httptest.NewServer(tw)
	t.Cleanup(srv.Close)
	item, ok := tw.ItemBySKU("TENT-2P")
	require.True(t, ok)
	refresh := tw.IssueRefreshToken()
	id, secret := tw.ClientCredentials()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "proof.js")
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "QB_BASE="+srv.URL, "QB_REALM="+tw.RealmID(), "QB_CLIENT_ID="+id, "QB_CLIENT_SECRET="+secret,
		"QB_REFRESH_TOKEN="+refresh, "QB_ITEM_ID="+item, "NODE_ENV=production")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "proof.js: %s", stderr.String())
	var p nodeProof
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &p), stdout.String())
	t.Logf("node-quickbooks saw: %s", stdout.String())

	// The client called the twin, not Intuit.
	require.Equal(t, srv.URL+"/v3/company/", p.Endpoint)

	// Refresh: a new refresh token, kept by the client; the old one still
	// honoured for a day, the new one valid; a stranger's is invalid_grant.
	require.Nil(t, p.Refresh.Error)
	require.True(t, p.Refresh.Rotated)
	require.True(t, p.Refresh.HasAccessToken)
	require.Equal(t, "bearer", p.Refresh.TokenType)
	require.Equal(t, 3600, p.Refresh.ExpiresIn)
	require.Equal(t, 8726400, p.Refresh.RefreshExpiresIn)
	require.True(t, tw.ValidRefreshToken(p.Refresh.RefreshToken))
	require.True(t, tw.ValidRefreshToken(refresh), "the previous token lives 24 hours after its successor")
	require.NotNil(t, p.BadRefresh)
	require.Equal(t, 400, p.BadRefresh.Status)
	require.Equal(t, "invalid_grant", p.BadRefresh.OAuthError)

	// The customer, and its name refused a second time (6240).
	require.Nil(t, p.Customer.Error)
	require.Equal(t, "Ada O'Brien", p.Customer.DisplayName)
	require.NotNil(t, p.DuplicateCustomer)
	require.Equal(t, 400, p.DuplicateCustomer.Status)
	require.Equal(t, "6240", p.DuplicateCustomer.Code)
	require.Equal(t, "ValidationFault", p.DuplicateCustomer.Type)
	customers := tw.Records("Customer")
	require.Len(t, customers, 1)
	require.Equal(t, p.Customer.ID, customers[0]["Id"])

	// One receipt for two creates with one requestid, the same answer twice.
	require.Nil(t, p.Receipt.Error)
	require.Equal(t, p.Receipt.ID, p.Receipt.ReplayID)
	require.True(t, p.Receipt.SameAnswer)
	require.Equal(t, 240.0, p.Receipt.Total)
	require.Equal(t, "1001", p.Receipt.DocNumber)
	require.Equal(t, "0", p.Receipt.SyncToken)
	creates := 0
	for _, w := range tw.Writes() {
		if w.Entity == "SalesReceipt" && w.RequestID == "proof-receipt-1" && !w.Update {
			creates++
		}
	}
	require.Equal(t, 1, creates, "the repeated requestid created nothing")

	// Read, sparse update (the lines kept), stale update refused (5010).
	require.Nil(t, p.Read.Error)
	require.Equal(t, p.Receipt.ID, p.Read.ID)
	require.Equal(t, p.Customer.ID, p.Read.Customer)
	require.Nil(t, p.Update.Error)
	require.Equal(t, "1", p.Update.SyncToken)
	require.Equal(t, "Shopify order #1001", p.Update.Note)
	require.Equal(t, 1, p.Update.Lines, "a sparse update keeps the lines it did not send")
	require.Equal(t, 240.0, p.Update.Total)
	require.NotNil(t, p.Stale)
	require.Equal(t, 400, p.Stale.Status)
	require.Equal(t, "5010", p.Stale.Code)
	require.Equal(t, "Stale Object Error", p.Stale.Message)

	// Queries: by number, a name with a quote, LIKE, a count.
	require.Nil(t, p.Query.Error)
	require.Equal(t, []string{p.Receipt.ID}, p.Query.IDs)
	require.Nil(t, p.QueryQuote.Error)
	require.Equal(t, []string{p.Customer.ID}, p.QueryQuote.IDs)
	require.Nil(t, p.QueryLike.Error)
	require.Equal(t, []string{p.Customer.ID}, p.QueryLike.IDs)
	require.Nil(t, p.QueryCount.Error)
	require.Equal(t, 1, p.QueryCount.Total)

	// Change data capture: the customer and the receipt changed.
	require.Nil(t, p.CDC.Error)
	require.Equal(t, []string{p.Customer.ID}, p.CDC.Changed["Customer"])
	require.Equal(t, []string{p.Receipt.ID}, p.CDC.Changed["SalesReceipt"])

	// A fault envelope reaches the caller as an error, not as data.
	require.True(t, p.Missing.IsError)
	require.Equal(t, 400, p.Missing.Status)
	require.Equal(t, "610", p.Missing.Code)

	// Delete: gone from the twin, and reading it is a fault.
	require.Nil(t, p.Delete.Error)
	require.Equal(t, "Deleted", p.Delete.Status)
	require.NotNil(t, p.Delete.ReadAfter)
	require.Equal(t, "610", p.Delete.ReadAfter.Code)

	// The twin's state: one receipt left, updated once, with its note.
	receipts := tw.Records("SalesReceipt")
	require.Len(t, receipts, 1)
	require.Equal(t, p.Receipt.ID, receipts[0]["Id"])
	require.Equal(t, "1", receipts[0]["SyncToken"])
	require.Equal(t, "Shopify order #1001", receipts[0]["PrivateNote"])
}
