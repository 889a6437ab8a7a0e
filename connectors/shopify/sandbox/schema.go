package sandbox

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// The sandbox knows just enough of the 2026-04 Admin schema to validate field
// names, compute query costs and project answers. A field's type is written as
//
//	"Name"      an object (or union) type defined below
//	"[Name]"    a plain list of objects
//	"*Name"     a connection of Name (edges, nodes, pageInfo)
//	anything else (String, Int, Money...) is a scalar or enum.
var schema = map[string]map[string]string{
	"QueryRoot": {
		"shop": "Shop", "currentAppInstallation": "AppInstallation",
		"productVariants": "*ProductVariant", "productVariant": "ProductVariant",
		"products": "*Product", "product": "Product", "collections": "*Collection", "collection": "Collection",
		"inventoryItem": "InventoryItem", "locations": "*Location", "location": "Location",
		"customers": "*Customer", "customer": "Customer", "orders": "*Order", "order": "Order",
		"bulkOperation": "BulkOperation", "currentBulkOperation": "BulkOperation", "node": "Node",
		"webhookSubscriptions": "*WebhookSubscription", "webhookSubscription": "WebhookSubscription",
	},
	"Mutation": {
		"inventorySetQuantities":    "InventorySetQuantitiesPayload",
		"productVariantsBulkUpdate": "ProductVariantsBulkUpdatePayload",
		"productUpdate":             "ProductUpdatePayload",
		"productCreate":             "ProductCreatePayload",
		"bulkOperationRunQuery":     "BulkOperationRunQueryPayload",
		"webhookSubscriptionCreate": "WebhookSubscriptionCreatePayload",
		"webhookSubscriptionDelete": "WebhookSubscriptionDeletePayload",
	},
	"Shop": {"id": "ID", "name": "String", "email": "String", "myshopifyDomain": "String",
		"currencyCode": "CurrencyCode", "ianaTimezone": "String", "plan": "ShopPlan"},
	"ShopPlan":        {"displayName": "String", "partnerDevelopment": "Boolean", "shopifyPlus": "Boolean", "publicDisplayName": "String"},
	"AppInstallation": {"id": "ID", "accessScopes": "[AccessScope]"},
	"AccessScope":     {"handle": "String", "description": "String"},
	"Product": {"id": "ID", "title": "String", "handle": "String", "status": "ProductStatus", "vendor": "String",
		"productType": "String", "descriptionHtml": "HTML", "createdAt": "DateTime", "updatedAt": "DateTime", "totalInventory": "Int",
		"variants": "*ProductVariant", "collections": "*Collection", "featuredMedia": "Media"},
	// Media: the fields of the Media interface every image answers (the
	// twin's media are all images).
	"Media":             {"id": "ID", "alt": "String", "mediaContentType": "MediaContentType", "status": "MediaStatus", "preview": "MediaPreviewImage"},
	"MediaPreviewImage": {"image": "Image", "status": "MediaPreviewImageStatus"},
	"Image":             {"id": "ID", "url": "URL", "altText": "String", "width": "Int", "height": "Int"},
	"Collection":        {"id": "ID", "title": "String", "handle": "String", "updatedAt": "DateTime", "products": "*Product"},
	"ProductVariant": {"id": "ID", "title": "String", "displayName": "String", "sku": "String", "barcode": "String",
		"price": "Money", "compareAtPrice": "Money", "inventoryQuantity": "Int", "createdAt": "DateTime",
		"updatedAt": "DateTime", "product": "Product", "inventoryItem": "InventoryItem", "image": "Image"},
	"InventoryItem": {"id": "ID", "sku": "String", "tracked": "Boolean", "unitCost": "MoneyV2", "variant": "ProductVariant",
		"createdAt": "DateTime", "updatedAt": "DateTime", "inventoryLevels": "*InventoryLevel", "inventoryLevel": "InventoryLevel"},
	"MoneyV2":  {"amount": "Decimal", "currencyCode": "CurrencyCode"},
	"MoneyBag": {"shopMoney": "MoneyV2", "presentmentMoney": "MoneyV2"},
	"Location": {"id": "ID", "name": "String", "isActive": "Boolean", "inventoryLevels": "*InventoryLevel",
		"inventoryLevel": "InventoryLevel"},
	"InventoryLevel": {"id": "ID", "item": "InventoryItem", "location": "Location", "quantities": "[InventoryQuantity]",
		"createdAt": "DateTime", "updatedAt": "DateTime", "canDeactivate": "Boolean"},
	"InventoryQuantity": {"id": "ID", "name": "String", "quantity": "Int", "updatedAt": "DateTime"},
	"Customer": {"id": "ID", "firstName": "String", "lastName": "String", "displayName": "String", "email": "String",
		"phone": "String", "defaultEmailAddress": "CustomerEmailAddress", "numberOfOrders": "UnsignedInt64",
		"state": "CustomerState", "createdAt": "DateTime", "updatedAt": "DateTime", "defaultAddress": "MailingAddress"},
	"MailingAddress": {"id": "ID", "address1": "String", "address2": "String", "city": "String", "zip": "String",
		"phone": "String", "countryCodeV2": "CountryCode", "name": "String"},
	"CustomerEmailAddress": {"emailAddress": "String", "marketingState": "CustomerEmailAddressMarketingState"},
	"Order": {"id": "ID", "name": "String", "email": "String", "createdAt": "DateTime", "updatedAt": "DateTime",
		"processedAt": "DateTime", "cancelledAt": "DateTime", "closed": "Boolean",
		"displayFinancialStatus": "OrderDisplayFinancialStatus", "displayFulfillmentStatus": "OrderDisplayFulfillmentStatus",
		"currencyCode": "CurrencyCode", "totalPriceSet": "MoneyBag", "subtotalPriceSet": "MoneyBag",
		"customer": "Customer", "lineItems": "*LineItem", "refunds": "[Refund]", "fulfillments": "[Fulfillment]"},
	"LineItem": {"id": "ID", "sku": "String", "title": "String", "name": "String", "quantity": "Int",
		"currentQuantity": "Int", "variant": "ProductVariant", "originalUnitPriceSet": "MoneyBag"},
	"Refund": {"id": "ID", "createdAt": "DateTime", "note": "String", "totalRefundedSet": "MoneyBag",
		"refundLineItems": "*RefundLineItem", "order": "Order"},
	"RefundLineItem":          {"id": "ID", "quantity": "Int", "restockType": "RefundLineItemRestockType", "lineItem": "LineItem"},
	"Fulfillment":             {"id": "ID", "name": "String", "status": "FulfillmentStatus", "createdAt": "DateTime", "updatedAt": "DateTime", "trackingInfo": "[FulfillmentTrackingInfo]"},
	"FulfillmentTrackingInfo": {"company": "String", "number": "String", "url": "URL"},
	"BulkOperation": {"id": "ID", "type": "BulkOperationType", "status": "BulkOperationStatus", "errorCode": "BulkOperationErrorCode",
		"createdAt": "DateTime", "completedAt": "DateTime", "objectCount": "UnsignedInt64", "rootObjectCount": "UnsignedInt64",
		"fileSize": "UnsignedInt64", "url": "URL", "partialDataUrl": "URL", "query": "String"},
	"WebhookSubscription": {"id": "ID", "topic": "WebhookSubscriptionTopic", "uri": "String", "name": "String",
		"format": "WebhookSubscriptionFormat", "includeFields": "String", "metafieldNamespaces": "String",
		"filter": "String", "apiVersion": "ApiVersion", "createdAt": "DateTime", "updatedAt": "DateTime",
		"endpoint": "WebhookSubscriptionEndpoint"},
	"WebhookSubscriptionEndpoint": {},
	"WebhookHttpEndpoint":         {"callbackUrl": "URL"},
	"WebhookEventBridgeEndpoint":  {"arn": "String"},
	"WebhookPubSubEndpoint":       {"pubSubProject": "String", "pubSubTopic": "String"},
	"ApiVersion":                  {"handle": "String", "displayName": "String", "supported": "Boolean"},
	"Node":                        {"id": "ID"},
	"InventorySetQuantitiesPayload": {"inventoryAdjustmentGroup": "InventoryAdjustmentGroup",
		"userErrors": "[InventorySetQuantitiesUserError]"},
	"InventoryAdjustmentGroup": {"id": "ID", "createdAt": "DateTime", "reason": "String",
		"referenceDocumentUri": "String", "changes": "[InventoryChange]"},
	"InventoryChange": {"name": "String", "delta": "Int", "quantityAfterChange": "Int", "item": "InventoryItem",
		"location": "Location", "ledgerDocumentUri": "String"},
	"InventorySetQuantitiesUserError":    {"code": "InventorySetQuantitiesUserErrorCode", "field": "String", "message": "String"},
	"ProductVariantsBulkUpdatePayload":   {"product": "Product", "productVariants": "[ProductVariant]", "userErrors": "[ProductVariantsBulkUpdateUserError]"},
	"ProductVariantsBulkUpdateUserError": {"code": "ProductVariantsBulkUpdateUserErrorCode", "field": "String", "message": "String"},
	"BulkOperationRunQueryPayload":       {"bulkOperation": "BulkOperation", "userErrors": "[BulkOperationUserError]"},
	"BulkOperationUserError":             {"code": "BulkOperationUserErrorCode", "field": "String", "message": "String"},
	"WebhookSubscriptionCreatePayload":   {"webhookSubscription": "WebhookSubscription", "userErrors": "[UserError]"},
	"WebhookSubscriptionDeletePayload":   {"deletedWebhookSubscriptionId": "ID", "userErrors": "[UserError]"},
	"UserError":                          {"field": "String", "message": "String"},
	"ProductUpdatePayload":               {"product": "Product", "userErrors": "[UserError]"},
	"ProductCreatePayload":               {"product": "Product", "userErrors": "[UserError]"},
	"PageInfo":                           {"hasNextPage": "Boolean", "hasPreviousPage": "Boolean", "startCursor": "String", "endCursor": "String"},
}

// abstract types: fields are selected through fragments on their members.
var abstractTypes = map[string]bool{"Node": true, "WebhookSubscriptionEndpoint": true}

type fieldKind int

const (
	kindScalar fieldKind = iota
	kindObject
	kindList
	kindConn
)

// lookupField returns the kind and target type of typ.field. Connection and
// edge types are synthesized.
func lookupField(typ, field string) (fieldKind, string, bool) {
	if field == "__typename" {
		return kindScalar, "String", true
	}
	if node, ok := strings.CutSuffix(typ, "Connection"); ok && schema[node] != nil {
		switch field {
		case "edges":
			return kindList, node + "Edge", true
		case "nodes":
			return kindList, node, true
		case "pageInfo":
			return kindObject, "PageInfo", true
		}
		return 0, "", false
	}
	if node, ok := strings.CutSuffix(typ, "Edge"); ok && schema[node] != nil {
		switch field {
		case "cursor":
			return kindScalar, "String", true
		case "node":
			return kindObject, node, true
		}
		return 0, "", false
	}
	t, ok := schema[typ][field]
	if !ok {
		return 0, "", false
	}
	switch {
	case strings.HasPrefix(t, "*"):
		return kindConn, t[1:] + "Connection", true
	case strings.HasPrefix(t, "["):
		return kindList, strings.Trim(t, "[]"), true
	case schema[t] != nil:
		return kindObject, t, true
	}
	return kindScalar, t, true
}

// gqlError is one entry of an answer's errors array.
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []location     `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func locOf(p *ast.Position) []location {
	if p == nil {
		return nil
	}
	return []location{{Line: p.Line, Column: p.Column}}
}

// analyzer validates field names against the schema and computes the
// requested cost with Shopify's documented rules: scalars and enums 0,
// objects 1, connections 2 plus first × the cost of one node, mutations 10.
type analyzer struct {
	doc  *ast.QueryDocument
	vars map[string]any
	bulk bool // bulk queries need no first/last
	errs []gqlError
	// execErrs are reported like execution errors: data null, with cost.
	execErrs []gqlError
}

func (a *analyzer) operation(op *ast.OperationDefinition) float64 {
	root := "QueryRoot"
	if op.Operation == ast.Mutation {
		root = "Mutation"
	}
	return a.selection(root, op.SelectionSet, []any{string(op.Operation)}, op.Operation == ast.Mutation)
}

func (a *analyzer) selection(typ string, ss ast.SelectionSet, path []any, mutationRoot bool) float64 {
	var cost float64
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			cost += a.field(typ, s, path, mutationRoot)
		case *ast.InlineFragment:
			t := typ
			if s.TypeCondition != "" {
				t = s.TypeCondition
			}
			cost += a.selection(t, s.SelectionSet, path, mutationRoot)
		case *ast.FragmentSpread:
			fd := a.doc.Fragments.ForName(s.Name)
			if fd == nil {
				a.errs = append(a.errs, gqlError{Message: fmt.Sprintf("Fragment %s was used, but not defined", s.Name),
					Locations: locOf(s.Position), Extensions: map[string]any{"code": "useAndDefineFragment", "fragmentName": s.Name}})
				continue
			}
			cost += a.selection(fd.TypeCondition, fd.SelectionSet, path, mutationRoot)
		}
	}
	return cost
}

func (a *analyzer) field(typ string, f *ast.Field, path []any, mutationRoot bool) float64 {
	p := append(append([]any{}, path...), f.Alias)
	kind, target, ok := lookupField(typ, f.Name)
	if !ok {
		a.errs = append(a.errs, gqlError{
			Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.Name, typ), Locations: locOf(f.Position), Path: p,
			Extensions: map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": f.Name},
		})
		return 0
	}
	if kind == kindScalar {
		if len(f.SelectionSet) > 0 {
			a.errs = append(a.errs, gqlError{
				Message:   fmt.Sprintf("Selections can't be made on scalars (field '%s' returns %s but has selections [%s])", f.Name, target, selNames(f.SelectionSet)),
				Locations: locOf(f.Position), Path: p,
				Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.Name + "'", "typeName": target},
			})
		}
		return 0
	}
	if len(f.SelectionSet) == 0 {
		a.errs = append(a.errs, gqlError{
			Message:   fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", f.Name, target, f.Name),
			Locations: locOf(f.Position), Path: p,
			Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.Name + "'", "typeName": target},
		})
		return 0
	}
	sub := a.selection(target, f.SelectionSet, p, false)
	if mutationRoot {
		return 10
	}
	if isConnType(typ) {
		// pageInfo is free and edges only wrap the nodes: the node cost is what counts.
		switch f.Name {
		case "pageInfo":
			return 0
		case "edges":
			return sub
		}
	}
	if kind != kindConn {
		return 1 + sub
	}
	n := a.pageSize(f)
	if n < 0 {
		if !a.bulk {
			a.execErrs = append(a.execErrs, gqlError{Message: "you must provide one of first or last", Locations: locOf(f.Position), Path: p[1:]})
		}
		n = 1
	}
	// sub already holds the node cost once (through nodes or edges.node).
	return 2 + float64(n)*sub
}

func (a *analyzer) pageSize(f *ast.Field) int {
	for _, name := range []string{"first", "last"} {
		if arg := f.Arguments.ForName(name); arg != nil {
			v, err := arg.Value.Value(a.vars)
			if err == nil && v != nil {
				return toInt(v)
			}
		}
	}
	return -1
}

func isConnType(typ string) bool {
	node, ok := strings.CutSuffix(typ, "Connection")
	return ok && schema[node] != nil
}

func selNames(ss ast.SelectionSet) string {
	var names []string
	for _, s := range ss {
		if f, ok := s.(*ast.Field); ok {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ", ")
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}
