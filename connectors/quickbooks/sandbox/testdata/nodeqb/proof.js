// node-quickbooks, unchanged apart from its base URLs, against Crossdock's
// QuickBooks Online twin. The Go test (../../node_client_test.go) starts the
// twin, runs this script and checks what it prints (one JSON object) and
// the twin's state.
//
// Environment: QB_BASE (the twin's address), QB_REALM, QB_CLIENT_ID,
// QB_CLIENT_SECRET, QB_REFRESH_TOKEN, QB_ITEM_ID.
'use strict';

const QuickBooks = require('node-quickbooks');

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(k + ' is not set');
  return v;
};
const base = env('QB_BASE').replace(/\/$/, '');

// The only change: where the client sends its calls (FACTS-next §7).
QuickBooks.TOKEN_URL = base + '/oauth2/v1/tokens/bearer';
QuickBooks.V3_ENDPOINT_BASE_URL = base + '/v3/company/';

// call turns a node-quickbooks callback method into a promise of
// {err, data}: the script reports errors instead of throwing them.
function call(qbo, method, ...args) {
  return new Promise((resolve) => {
    qbo[method](...args, (err, data) => resolve({ err, data }));
  });
}

// fault reads the QuickBooks fault out of what node-quickbooks hands back
// as an error: the axios error of a non-2xx answer, or the body itself
// when a 200 answer held a Fault.
function fault(err) {
  if (!err) return null;
  const body = (err.response && err.response.data) || err;
  const f = body && body.Fault;
  const first = f && f.Error && f.Error[0];
  return {
    status: err.response ? err.response.status : null,
    type: f ? f.type : null,
    code: first ? first.code : null,
    message: first ? first.Message : null,
    detail: first ? first.Detail : null,
    oauth_error: body && body.error ? body.error : null,
    is_error: true,
  };
}

// ids lists the ids a query answered (none after an error).
function ids(r, key) {
  const qr = !r.err && r.data && r.data.QueryResponse;
  return qr && qr[key] ? qr[key].map((x) => x.Id) : [];
}

async function main() {
  const out = {};
  const realm = env('QB_REALM');
  const oldRefresh = env('QB_REFRESH_TOKEN');
  const qbo = new QuickBooks(env('QB_CLIENT_ID'), env('QB_CLIENT_SECRET'), null, false, realm,
    true /* sandbox */, false /* debug */, 75, '2.0', oldRefresh);
  out.endpoint = qbo.endpoint;

  // 1. The token: refreshed, and the refresh token rotated.
  let r = await call(qbo, 'refreshAccessToken');
  out.refresh = {
    error: fault(r.err),
    rotated: !!r.data && r.data.refresh_token !== oldRefresh && qbo.refreshToken === r.data.refresh_token,
    refresh_token: qbo.refreshToken,
    has_access_token: !!qbo.token,
    token_type: r.data && r.data.token_type,
    expires_in: r.data && r.data.expires_in,
    refresh_expires_in: r.data && r.data.x_refresh_token_expires_in,
  };
  // A token QuickBooks never issued: invalid_grant, as an error.
  const stranger = new QuickBooks(env('QB_CLIENT_ID'), env('QB_CLIENT_SECRET'), null, false, realm,
    true, false, 75, '2.0', 'RT1-never-issued');
  r = await call(stranger, 'refreshAccessToken');
  out.bad_refresh = fault(r.err);

  // 2. A customer.
  r = await call(qbo, 'createCustomer', { DisplayName: "Ada O'Brien", GivenName: 'Ada', FamilyName: "O'Brien",
    PrimaryEmailAddr: { Address: 'ada@example.com' } });
  out.customer = { error: fault(r.err), id: r.data && r.data.Id, display_name: r.data && r.data.DisplayName };
  const customerId = r.data && r.data.Id;
  // The same name again: Duplicate Name (6240), as an error.
  r = await call(qbo, 'createCustomer', { DisplayName: "Ada O'Brien" });
  out.duplicate_customer = fault(r.err);

  // 3. A sales receipt with a requestid, sent twice: one receipt.
  const receipt = () => ({
    requestId: 'proof-receipt-1',
    DocNumber: '1001',
    CustomerRef: { value: customerId },
    Line: [{ Amount: 240, DetailType: 'SalesItemLineDetail',
      SalesItemLineDetail: { ItemRef: { value: env('QB_ITEM_ID') }, Qty: 2, UnitPrice: 120 } }],
  });
  const first = await call(qbo, 'createSalesReceipt', receipt());
  const again = await call(qbo, 'createSalesReceipt', receipt());
  out.receipt = {
    error: fault(first.err) || fault(again.err),
    id: first.data && first.data.Id,
    replay_id: again.data && again.data.Id,
    same_answer: JSON.stringify(first.data) === JSON.stringify(again.data),
    total: first.data && first.data.TotalAmt,
    doc_number: first.data && first.data.DocNumber,
    sync_token: first.data && first.data.SyncToken,
  };
  const receiptId = first.data && first.data.Id;

  // 4. Read it.
  r = await call(qbo, 'getSalesReceipt', receiptId);
  out.read = { error: fault(r.err), id: r.data && r.data.Id, sync_token: r.data && r.data.SyncToken,
    customer: r.data && r.data.CustomerRef && r.data.CustomerRef.value };
  const staleToken = r.data && r.data.SyncToken;

  // 5. A sparse update with its SyncToken (node-quickbooks sets sparse).
  r = await call(qbo, 'updateSalesReceipt', { Id: receiptId, SyncToken: staleToken, PrivateNote: 'Shopify order #1001' });
  out.update = { error: fault(r.err), sync_token: r.data && r.data.SyncToken, note: r.data && r.data.PrivateNote,
    lines: r.data && r.data.Line ? r.data.Line.length : 0, total: r.data && r.data.TotalAmt };

  // 6. The same update with the SyncToken it started from: 5010.
  r = await call(qbo, 'updateSalesReceipt', { Id: receiptId, SyncToken: staleToken, PrivateNote: 'a stale edit' });
  out.stale = fault(r.err);

  // 7. Queries: by number, by a name with a quote, LIKE, a count.
  r = await call(qbo, 'findSalesReceipts', { DocNumber: '1001' });
  out.query = { error: fault(r.err), ids: ids(r, 'SalesReceipt') };
  r = await call(qbo, 'findCustomers', { DisplayName: "Ada O'Brien" });
  out.query_quote = { error: fault(r.err), ids: ids(r, 'Customer') };
  r = await call(qbo, 'findCustomers', [{ field: 'DisplayName', value: 'Ada%', operator: 'LIKE' }]);
  out.query_like = { error: fault(r.err), ids: ids(r, 'Customer') };
  r = await call(qbo, 'findSalesReceipts', { count: true });
  out.query_count = { error: fault(r.err), total: !r.err && r.data ? r.data.QueryResponse.totalCount : null };

  // 8. Change data capture since an hour ago.
  r = await call(qbo, 'changeDataCapture', ['Customer', 'SalesReceipt'], new Date(Date.now() - 3600 * 1000));
  const changed = {};
  if (r.data && r.data.CDCResponse) {
    for (const qr of r.data.CDCResponse[0].QueryResponse) {
      for (const k of Object.keys(qr)) {
        if (Array.isArray(qr[k])) changed[k] = qr[k].map((x) => x.Id);
      }
    }
  }
  out.cdc = { error: fault(r.err), changed };

  // 9. A fault envelope is an error: a receipt that does not exist.
  r = await call(qbo, 'getSalesReceipt', '999999');
  out.missing = Object.assign(fault(r.err) || { is_error: false }, { data: r.data || null });

  // 10. Delete: a second receipt, then it is gone.
  const second = await call(qbo, 'createSalesReceipt', Object.assign(receipt(), { requestId: 'proof-receipt-2', DocNumber: '1002' }));
  r = await call(qbo, 'deleteSalesReceipt', second.data ? second.data.Id : '0');
  const gone = await call(qbo, 'getSalesReceipt', second.data ? second.data.Id : '0');
  out.delete = { error: fault(second.err) || fault(r.err), id: second.data && second.data.Id,
    status: r.data && r.data.SalesReceipt && r.data.SalesReceipt.status, read_after: fault(gone.err) };

  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write('proof.js: ' + (e && e.stack ? e.stack : String(e)) + '\n');
  process.exit(1);
});
