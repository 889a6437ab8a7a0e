package quickbooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"crossdock/connectors"
)

// Entity names as the API spells them in paths (lower case) and in bodies.
const (
	EntityCustomer      = "Customer"
	EntityItem          = "Item"
	EntitySalesReceipt  = "SalesReceipt"
	EntityInvoice       = "Invoice"
	EntityRefundReceipt = "RefundReceipt"
	EntityCreditMemo    = "CreditMemo"
	EntityDeposit       = "Deposit"
	EntityAccount       = "Account"
	EntityTaxCode       = "TaxCode"
	EntityPaymentMethod = "PaymentMethod"
)

// ShippingItemID is the item QuickBooks reserves for shipping lines on
// sales forms (when Preferences.SalesFormsPrefs.AllowShipping is on).
const ShippingItemID = "SHIPPING_ITEM_ID"

// Ref points at another record: {"value":"42","name":"Amy's Bird Sanctuary"}.
type Ref struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// Email is an e-mail address field.
type Email struct {
	Address string `json:"Address"`
}

// MetaData is when a record was created and last changed.
type MetaData struct {
	CreateTime      string `json:"CreateTime,omitempty"`
	LastUpdatedTime string `json:"LastUpdatedTime,omitempty"`
}

// Customer is a QuickBooks customer.
type Customer struct {
	ID               string    `json:"Id,omitempty"`
	SyncToken        string    `json:"SyncToken,omitempty"`
	Sparse           bool      `json:"sparse,omitempty"`
	DisplayName      string    `json:"DisplayName,omitempty"`
	GivenName        string    `json:"GivenName,omitempty"`
	FamilyName       string    `json:"FamilyName,omitempty"`
	CompanyName      string    `json:"CompanyName,omitempty"`
	PrimaryEmailAddr *Email    `json:"PrimaryEmailAddr,omitempty"`
	Active           *bool     `json:"Active,omitempty"`
	Notes            string    `json:"Notes,omitempty"`
	MetaData         *MetaData `json:"MetaData,omitempty"`
}

// Item is a product or service.
type Item struct {
	ID             string    `json:"Id,omitempty"`
	SyncToken      string    `json:"SyncToken,omitempty"`
	Name           string    `json:"Name,omitempty"`
	Sku            string    `json:"Sku,omitempty"`
	Type           string    `json:"Type,omitempty"` // Inventory, NonInventory, Service
	Active         *bool     `json:"Active,omitempty"`
	UnitPrice      float64   `json:"UnitPrice,omitempty"`
	PurchaseCost   float64   `json:"PurchaseCost,omitempty"`
	TrackQtyOnHand bool      `json:"TrackQtyOnHand,omitempty"`
	QtyOnHand      float64   `json:"QtyOnHand,omitempty"`
	IncomeAccount  *Ref      `json:"IncomeAccountRef,omitempty"`
	MetaData       *MetaData `json:"MetaData,omitempty"`
	// Status is "Deleted" for an item change data capture reports deleted.
	Status string `json:"status,omitempty"`
}

// SalesItemLineDetail is an item line's detail.
type SalesItemLineDetail struct {
	ItemRef    Ref     `json:"ItemRef"`
	Qty        float64 `json:"Qty,omitempty"`
	UnitPrice  float64 `json:"UnitPrice,omitempty"`
	TaxCodeRef *Ref    `json:"TaxCodeRef,omitempty"`
}

// DiscountLineDetail is a discount line's detail.
type DiscountLineDetail struct {
	PercentBased bool `json:"PercentBased"`
}

// Line is one line of a sales document.
type Line struct {
	ID                  string               `json:"Id,omitempty"`
	LineNum             int                  `json:"LineNum,omitempty"`
	Description         string               `json:"Description,omitempty"`
	Amount              float64              `json:"Amount"`
	DetailType          string               `json:"DetailType"` // SalesItemLineDetail, DiscountLineDetail, SubTotalLineDetail
	SalesItemLineDetail *SalesItemLineDetail `json:"SalesItemLineDetail,omitempty"`
	DiscountLineDetail  *DiscountLineDetail  `json:"DiscountLineDetail,omitempty"`
}

// Txn is a sales document: a sales receipt, an invoice, a refund receipt or
// a credit memo share these fields.
type Txn struct {
	ID                  string    `json:"Id,omitempty"`
	SyncToken           string    `json:"SyncToken,omitempty"`
	Sparse              bool      `json:"sparse,omitempty"`
	DocNumber           string    `json:"DocNumber,omitempty"`
	TxnDate             string    `json:"TxnDate,omitempty"`
	PrivateNote         string    `json:"PrivateNote,omitempty"`
	CustomerRef         *Ref      `json:"CustomerRef,omitempty"`
	CurrencyRef         *Ref      `json:"CurrencyRef,omitempty"`
	PaymentMethodRef    *Ref      `json:"PaymentMethodRef,omitempty"`
	DepositToAccountRef *Ref      `json:"DepositToAccountRef,omitempty"`
	BillEmail           *Email    `json:"BillEmail,omitempty"`
	Line                []Line    `json:"Line,omitempty"`
	TotalAmt            float64   `json:"TotalAmt,omitempty"`
	Balance             float64   `json:"Balance,omitempty"`
	MetaData            *MetaData `json:"MetaData,omitempty"`
}

// DepositLineDetail names the account a deposit line's money comes from.
type DepositLineDetail struct {
	AccountRef Ref `json:"AccountRef"`
}

// DepositLine is one line of a deposit: an amount from an account, negative
// for money kept back (fees).
type DepositLine struct {
	ID                string             `json:"Id,omitempty"`
	Description       string             `json:"Description,omitempty"`
	Amount            float64            `json:"Amount"`
	DetailType        string             `json:"DetailType"` // DepositLineDetail
	DepositLineDetail *DepositLineDetail `json:"DepositLineDetail,omitempty"`
}

// Deposit is money put into a bank account: its total is the sum of its
// lines, computed by QuickBooks.
type Deposit struct {
	ID                  string        `json:"Id,omitempty"`
	SyncToken           string        `json:"SyncToken,omitempty"`
	TxnDate             string        `json:"TxnDate,omitempty"`
	PrivateNote         string        `json:"PrivateNote,omitempty"`
	DepositToAccountRef *Ref          `json:"DepositToAccountRef,omitempty"`
	CurrencyRef         *Ref          `json:"CurrencyRef,omitempty"`
	Line                []DepositLine `json:"Line,omitempty"`
	TotalAmt            float64       `json:"TotalAmt,omitempty"`
	MetaData            *MetaData     `json:"MetaData,omitempty"`
}

// DepositLineOf is a deposit line of amount from an account.
func DepositLineOf(description string, amount float64, account string) DepositLine {
	return DepositLine{Description: description, Amount: amount, DetailType: "DepositLineDetail",
		DepositLineDetail: &DepositLineDetail{AccountRef: Ref{Value: account}}}
}

// DepositsBetween lists the deposits dated from from to to (inclusive,
// dates as YYYY-MM-DD), at most 1000.
func (c *Client) DepositsBetween(ctx context.Context, from, to string) ([]Deposit, error) {
	return queryAll[Deposit](ctx, c, EntityDeposit, "select * from Deposit where TxnDate >= "+Quote(from)+" and TxnDate <= "+Quote(to)+" MAXRESULTS 1000")
}

// RequestID derives a requestid (at most 50 characters, unique per company)
// from an idempotency key: the same key always gives the same id, so a
// retry or a replay gets QuickBooks' first answer instead of a duplicate.
func RequestID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:36]
}

// Create creates a record of entity (SalesReceipt, Customer…) with a
// requestid, and decodes the created record into out.
func (c *Client) Create(ctx context.Context, entity, requestID string, in, out any) error {
	if requestID == "" {
		return fmt.Errorf("quickbooks: create %s without a requestid", entity)
	}
	if len(requestID) > 50 {
		return fmt.Errorf("quickbooks: requestid %q is longer than 50 characters", requestID)
	}
	return c.entityCall(ctx, "POST", entity, "", url.Values{"requestid": {requestID}}, in, out)
}

// Read reads one record by id.
func (c *Client) Read(ctx context.Context, entity, id string, out any) error {
	return c.entityCall(ctx, "GET", entity, id, nil, nil, out)
}

// entityCall calls /{entity}[/{id}] and unwraps {"<Entity>": {...}}.
func (c *Client) entityCall(ctx context.Context, method, entity, id string, q url.Values, in, out any) error {
	path := strings.ToLower(entity)
	if id != "" {
		path += "/" + url.PathEscape(id)
	}
	var env map[string]json.RawMessage
	if err := c.do(ctx, method, path, q, in, &env); err != nil {
		return err
	}
	raw, ok := env[entity]
	if !ok {
		return &Error{Kind: KindProtocol, Entity: entity, Message: "the answer has no " + entity}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// SparseUpdate changes only the fields change sets on a record: it reads the
// record's current SyncToken, sends {Id, SyncToken, sparse:true, …}, and on
// a stale token (Fault 5010: someone changed it meanwhile) reads again and
// retries, up to 3 times. change receives the id and SyncToken and returns
// the body to send.
func (c *Client) SparseUpdate(ctx context.Context, entity, id string, change func(id, syncToken string) any, out any) error {
	var err error
	for range 3 {
		var cur struct {
			SyncToken string `json:"SyncToken"`
		}
		if err = c.Read(ctx, entity, id, &cur); err != nil {
			return err
		}
		err = c.entityCall(ctx, "POST", entity, "", nil, change(id, cur.SyncToken), out)
		if !IsKind(err, KindStale) {
			return err
		}
	}
	return err
}

// QueryPage is one page of a query's answer: the records of its entity.
type QueryPage struct {
	Records       []json.RawMessage
	StartPosition int
	MaxResults    int
	TotalCount    int
}

// Query runs a query (`select * from Customer where … STARTPOSITION n
// MAXRESULTS m`) and returns the records of entity.
func (c *Client) Query(ctx context.Context, entity, query string) (QueryPage, error) {
	var env struct {
		QueryResponse map[string]json.RawMessage `json:"QueryResponse"`
	}
	if err := c.do(ctx, "GET", "query", url.Values{"query": {query}}, nil, &env); err != nil {
		return QueryPage{}, err
	}
	var p QueryPage
	if raw, ok := env.QueryResponse[entity]; ok {
		if err := json.Unmarshal(raw, &p.Records); err != nil {
			return QueryPage{}, &Error{Kind: KindProtocol, Entity: entity, Err: err}
		}
	}
	for k, dst := range map[string]*int{"startPosition": &p.StartPosition, "maxResults": &p.MaxResults, "totalCount": &p.TotalCount} {
		if raw, ok := env.QueryResponse[k]; ok {
			_ = json.Unmarshal(raw, dst)
		}
	}
	return p, nil
}

// Quote escapes a value for a query's single-quoted string.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// queryOne runs a query expected to find at most one record.
func queryOne[T any](ctx context.Context, c *Client, entity, where string) (T, bool, error) {
	var zero T
	p, err := c.Query(ctx, entity, "select * from "+entity+" where "+where+" MAXRESULTS 1")
	if err != nil || len(p.Records) == 0 {
		return zero, false, err
	}
	var out T
	if err := json.Unmarshal(p.Records[0], &out); err != nil {
		return zero, false, &Error{Kind: KindProtocol, Entity: entity, Err: err}
	}
	return out, true, nil
}

// CustomerByEmail finds a customer by primary e-mail.
func (c *Client) CustomerByEmail(ctx context.Context, email string) (Customer, bool, error) {
	return queryOne[Customer](ctx, c, EntityCustomer, "PrimaryEmailAddr = "+Quote(email))
}

// customerMemory remembers the customers the client found or created by
// e-mail, for a while: a shop's repeat buyers then cost one lookup per
// CustomerMemory, not one per order, out of the company's 500 requests a
// minute. A customer made inactive or merged in QuickBooks meanwhile fails
// the document that names it (610): the caller forgets it and looks again.
type customerMemory struct {
	mu sync.Mutex
	m  map[string]knownCustomer // lower-case e-mail →
}

type knownCustomer struct {
	c     Customer
	until time.Time
}

// CustomerMemory is how long a customer found by e-mail is remembered.
const CustomerMemory = 10 * time.Minute

// maxKnownCustomers bounds the memory; when full it starts again.
const maxKnownCustomers = 50000

// KnownCustomer returns the customer remembered for an e-mail.
func (c *Client) KnownCustomer(email string) (Customer, bool) {
	c.known.mu.Lock()
	defer c.known.mu.Unlock()
	k, ok := c.known.m[strings.ToLower(email)]
	if !ok || !c.cfg.Now().Before(k.until) {
		return Customer{}, false
	}
	return k.c, true
}

// RememberCustomer remembers the customer of an e-mail for CustomerMemory.
func (c *Client) RememberCustomer(email string, cust Customer) {
	if email == "" || cust.ID == "" {
		return
	}
	c.known.mu.Lock()
	defer c.known.mu.Unlock()
	if c.known.m == nil || len(c.known.m) >= maxKnownCustomers {
		c.known.m = map[string]knownCustomer{}
	}
	c.known.m[strings.ToLower(email)] = knownCustomer{c: cust, until: c.cfg.Now().Add(CustomerMemory)}
}

// ForgetCustomer drops what is remembered of an e-mail's customer.
func (c *Client) ForgetCustomer(email string) {
	c.known.mu.Lock()
	delete(c.known.m, strings.ToLower(email))
	c.known.mu.Unlock()
}

// CustomerByDisplayName finds a customer by display name.
func (c *Client) CustomerByDisplayName(ctx context.Context, name string) (Customer, bool, error) {
	return queryOne[Customer](ctx, c, EntityCustomer, "DisplayName = "+Quote(name))
}

// TxnByDocNumber finds a sales document of entity by its number.
func (c *Client) TxnByDocNumber(ctx context.Context, entity, doc string) (Txn, bool, error) {
	return queryOne[Txn](ctx, c, entity, "DocNumber = "+Quote(doc))
}

// Items lists items, a page at a time (at most 1000 a page).
func (c *Client) Items(ctx context.Context, start, max int) ([]Item, error) {
	return queryAll[Item](ctx, c, EntityItem, fmt.Sprintf("select * from Item STARTPOSITION %d MAXRESULTS %d", start, max))
}

// Changes are the records of each entity changed since a time (CDC).
type Changes map[string][]json.RawMessage

// CDC lists what changed in entities since a time (QuickBooks looks back at
// most 30 days and answers at most 1000 objects).
func (c *Client) CDC(ctx context.Context, entities []string, since time.Time) (Changes, error) {
	var env struct {
		CDCResponse []struct {
			QueryResponse []map[string]json.RawMessage `json:"QueryResponse"`
		} `json:"CDCResponse"`
	}
	q := url.Values{"entities": {strings.Join(entities, ",")}, "changedSince": {since.UTC().Format(time.RFC3339)}}
	if err := c.do(ctx, "GET", "cdc", q, nil, &env); err != nil {
		return nil, err
	}
	out := Changes{}
	for _, r := range env.CDCResponse {
		for _, qr := range r.QueryResponse {
			for _, e := range entities {
				if raw, ok := qr[e]; ok {
					var recs []json.RawMessage
					if err := json.Unmarshal(raw, &recs); err != nil {
						return nil, &Error{Kind: KindProtocol, Entity: "cdc", Err: err}
					}
					out[e] = append(out[e], recs...)
				}
			}
		}
	}
	return out, nil
}

// CompanyInfo is the company's name and address.
type CompanyInfo struct {
	CompanyName string `json:"CompanyName"`
	Country     string `json:"Country"`
	CompanyAddr *struct {
		Country string `json:"Country"`
	} `json:"CompanyAddr,omitempty"`
}

// Preferences are the company settings the flows depend on.
type Preferences struct {
	ProductAndServicesPrefs struct {
		QuantityOnHand bool `json:"QuantityOnHand"`
	} `json:"ProductAndServicesPrefs"`
	SalesFormsPrefs struct {
		AllowShipping bool `json:"AllowShipping"`
		AllowDiscount bool `json:"AllowDiscount"`
	} `json:"SalesFormsPrefs"`
	CurrencyPrefs struct {
		HomeCurrency Ref `json:"HomeCurrency"`
	} `json:"CurrencyPrefs"`
	TaxPrefs struct {
		UsingSalesTax bool `json:"UsingSalesTax"`
	} `json:"TaxPrefs"`
}

// CompanyInfo reads the company's name and country.
func (c *Client) CompanyInfo(ctx context.Context) (CompanyInfo, error) {
	var ci CompanyInfo
	err := c.entityCall(ctx, "GET", "CompanyInfo", c.cfg.RealmID, nil, nil, &ci)
	return ci, err
}

// Preferences reads the company's preferences.
func (c *Client) Preferences(ctx context.Context) (Preferences, error) {
	var p Preferences
	err := c.entityCall(ctx, "GET", "Preferences", "", nil, nil, &p)
	return p, err
}

// ReadCatalogue lists the company's active products and services, a page
// at a time, as variants to map Shopify's to (connectors.CatalogueReader);
// then its tax codes, and its payment methods with the accounts sales
// receipts can be deposited to (AccountRefPrefix), for the mappings of
// Shopify's taxes and payment gateways. QuickBooks has no stock locations.
func (c *Client) ReadCatalogue(ctx context.Context, put func(entity string, batch []connectors.Record) error) error {
	const page = 1000
	for start := 1; ; start += page {
		items, err := c.Items(ctx, start, page)
		if err != nil {
			return err
		}
		recs := make([]connectors.Record, 0, len(items))
		for _, it := range items {
			if it.Active != nil && !*it.Active || it.Type == "Category" {
				continue
			}
			recs = append(recs, connectors.Record{ExternalID: it.ID, SKU: it.Sku, Name: it.Name})
		}
		if err := put(connectors.EntityVariant, recs); err != nil {
			return err
		}
		if len(items) < page {
			break
		}
	}
	codes, err := List[TaxCode](ctx, c, EntityTaxCode)
	if err != nil {
		return err
	}
	recs := make([]connectors.Record, 0, len(codes))
	for _, t := range codes {
		recs = append(recs, connectors.Record{ExternalID: t.ID, Name: t.Name})
	}
	if err := put(connectors.EntityTaxCode, recs); err != nil {
		return err
	}
	methods, err := List[PaymentMethod](ctx, c, EntityPaymentMethod)
	if err != nil {
		return err
	}
	accounts, err := List[Account](ctx, c, EntityAccount)
	if err != nil {
		return err
	}
	recs = make([]connectors.Record, 0, len(methods)+len(accounts))
	for _, m := range methods {
		recs = append(recs, connectors.Record{ExternalID: m.ID, Name: m.Name})
	}
	for _, a := range accounts {
		if a.DepositsTo() {
			recs = append(recs, connectors.Record{ExternalID: AccountRefPrefix + a.ID, Name: a.Name + " (account)"})
		}
	}
	return put(connectors.EntityPaymentMethod, recs)
}

// TaxCode is a sales tax code: TAX and NON in US companies, a code per
// rate elsewhere.
type TaxCode struct {
	ID      string `json:"Id,omitempty"`
	Name    string `json:"Name,omitempty"`
	Active  *bool  `json:"Active,omitempty"`
	Taxable *bool  `json:"Taxable,omitempty"`
}

// PaymentMethod is how a customer paid ("Credit Card", "PayPal").
type PaymentMethod struct {
	ID     string `json:"Id,omitempty"`
	Name   string `json:"Name,omitempty"`
	Type   string `json:"Type,omitempty"` // CREDIT_CARD, NON_CREDIT_CARD
	Active *bool  `json:"Active,omitempty"`
}

// Account is an account of the chart of accounts.
type Account struct {
	ID          string `json:"Id,omitempty"`
	Name        string `json:"Name,omitempty"`
	AccountType string `json:"AccountType,omitempty"` // Bank, Other Current Asset, Income…
	Active      *bool  `json:"Active,omitempty"`
}

// DepositsTo reports whether sales receipts can be deposited to the
// account: a bank account, or another current asset such as Undeposited
// Funds.
func (a Account) DepositsTo() bool {
	return a.AccountType == "Bank" || a.AccountType == "Other Current Asset"
}

// AccountRefPrefix marks, among the QuickBooks references of a payment
// method mapping, the account its sales receipts are deposited to
// ("account:35"); the others are PaymentMethod ids.
const AccountRefPrefix = "account:"

// List reads every active record of a small list entity (TaxCode,
// PaymentMethod, Account), a page of 1000 at a time.
func List[T any](ctx context.Context, c *Client, entity string) ([]T, error) {
	const page = 1000
	var out []T
	for start := 1; ; start += page {
		rows, err := queryAll[T](ctx, c, entity, fmt.Sprintf("select * from %s STARTPOSITION %d MAXRESULTS %d", entity, start, page))
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if len(rows) < page {
			return out, nil
		}
	}
}
