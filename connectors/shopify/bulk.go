package shopify

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

const bulkFields = `id type status errorCode createdAt completedAt objectCount fileSize url partialDataUrl`

// RunBulkQueryMutation starts a bulk export.
const RunBulkQueryMutation = `mutation CrossdockBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { ` + bulkFields + ` }
    userErrors { code field message }
  }
}`

// BulkOperationQuery reads one bulk operation.
const BulkOperationQuery = `query CrossdockBulkOperation($id: ID!) {
  bulkOperation(id: $id) { ` + bulkFields + ` }
}`

// CurrentBulkOperationQuery reads the app's latest bulk query operation.
const CurrentBulkOperationQuery = `query CrossdockCurrentBulkOperation {
  currentBulkOperation(type: QUERY) { ` + bulkFields + ` }
}`

// BulkOperation is a bulk operation's state.
type BulkOperation struct {
	ID             string
	Type           string
	Status         string
	ErrorCode      string
	CreatedAt      time.Time
	CompletedAt    *time.Time
	ObjectCount    int64
	FileSize       int64
	URL            string
	PartialDataURL string
}

// Done reports whether the operation reached a final status.
func (b BulkOperation) Done() bool {
	switch b.Status {
	case "COMPLETED", "FAILED", "CANCELED", "EXPIRED":
		return true
	}
	return false
}

type bulkJSON struct {
	ID             string     `json:"id"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	ErrorCode      *string    `json:"errorCode"`
	CreatedAt      time.Time  `json:"createdAt"`
	CompletedAt    *time.Time `json:"completedAt"`
	ObjectCount    string     `json:"objectCount"` // UnsignedInt64 is a string
	FileSize       *string    `json:"fileSize"`
	URL            *string    `json:"url"`
	PartialDataURL *string    `json:"partialDataUrl"`
}

func (b *bulkJSON) op() BulkOperation {
	o := BulkOperation{ID: b.ID, Type: b.Type, Status: b.Status, CreatedAt: b.CreatedAt, CompletedAt: b.CompletedAt}
	o.ObjectCount, _ = strconv.ParseInt(b.ObjectCount, 10, 64)
	if b.FileSize != nil {
		o.FileSize, _ = strconv.ParseInt(*b.FileSize, 10, 64)
	}
	if b.ErrorCode != nil {
		o.ErrorCode = *b.ErrorCode
	}
	if b.URL != nil {
		o.URL = *b.URL
	}
	if b.PartialDataURL != nil {
		o.PartialDataURL = *b.PartialDataURL
	}
	return o
}

// RunBulkQuery starts a bulk export of query (a query document without
// pagination arguments). OPERATION_IN_PROGRESS and other userErrors answer KindValidation.
func (c *Client) RunBulkQuery(ctx context.Context, query string) (BulkOperation, error) {
	var out struct {
		BulkOperationRunQuery struct {
			BulkOperation *bulkJSON   `json:"bulkOperation"`
			UserErrors    []UserError `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := c.Do(ctx, RunBulkQueryMutation, map[string]any{"query": query}, &out); err != nil {
		return BulkOperation{}, err
	}
	if err := userErrorsToError(out.BulkOperationRunQuery.UserErrors); err != nil {
		return BulkOperation{}, err
	}
	if out.BulkOperationRunQuery.BulkOperation == nil {
		return BulkOperation{}, &Error{Kind: KindProtocol, Message: "bulkOperationRunQuery returned no operation"}
	}
	return out.BulkOperationRunQuery.BulkOperation.op(), nil
}

// BulkOperation reads a bulk operation by id.
func (c *Client) BulkOperation(ctx context.Context, id string) (BulkOperation, error) {
	var out struct {
		BulkOperation *bulkJSON `json:"bulkOperation"`
	}
	if err := c.Do(ctx, BulkOperationQuery, map[string]any{"id": id}, &out); err != nil {
		return BulkOperation{}, err
	}
	if out.BulkOperation == nil {
		return BulkOperation{}, &Error{Kind: KindValidation, Message: "bulk operation " + id + " does not exist"}
	}
	return out.BulkOperation.op(), nil
}

// CurrentBulkOperation reads the latest bulk query operation; ok is false when there is none.
func (c *Client) CurrentBulkOperation(ctx context.Context) (op BulkOperation, ok bool, err error) {
	var out struct {
		CurrentBulkOperation *bulkJSON `json:"currentBulkOperation"`
	}
	if err := c.Do(ctx, CurrentBulkOperationQuery, nil, &out); err != nil {
		return BulkOperation{}, false, err
	}
	if out.CurrentBulkOperation == nil {
		return BulkOperation{}, false, nil
	}
	return out.CurrentBulkOperation.op(), true, nil
}

// WaitBulk polls a bulk operation every poll until it finishes or ctx ends.
// An operation that finishes other than COMPLETED answers an *Error.
func (c *Client) WaitBulk(ctx context.Context, id string, poll time.Duration) (BulkOperation, error) {
	if poll <= 0 {
		poll = time.Second
	}
	for {
		op, err := c.BulkOperation(ctx, id)
		if err != nil {
			return op, err
		}
		if op.Done() {
			if op.Status != "COMPLETED" {
				kind := KindTransient
				if op.ErrorCode == "ACCESS_DENIED" {
					kind = KindAuth
				}
				return op, &Error{Kind: kind, Code: op.ErrorCode, Message: fmt.Sprintf("bulk operation %s ended %s", id, op.Status)}
			}
			return op, nil
		}
		if err := sleepCtx(ctx, poll); err != nil {
			return op, &Error{Kind: KindTransient, Message: "waiting for bulk operation: " + err.Error(), Err: err}
		}
	}
}

// maxJSONLLine bounds one JSONL line; a product with a long description
// and many metafields can be large, but never this large.
const maxJSONLLine = 64 << 20

// StreamJSONL downloads a bulk result and calls fn for each non-empty line, in
// order, without holding the file in memory. The line is only valid during
// the call. The access token is not sent: result URLs are pre-signed.
func (c *Client) StreamJSONL(ctx context.Context, url string, fn func(line []byte) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &Error{Kind: KindProtocol, Message: "bulk result URL: " + err.Error(), Err: err}
	}
	// The default client timeout would cut a large download: use the transport
	// with ctx as the only bound.
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		return &Error{Kind: KindTransient, Message: "downloading bulk result: " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		kind := KindTransient
		if resp.StatusCode < 500 {
			kind = KindNotFound
		}
		return &Error{Kind: kind, Status: resp.StatusCode, Message: "downloading bulk result"}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &Error{Kind: KindTransient, Message: "reading bulk result: " + err.Error(), Err: err}
	}
	return nil
}
