package shopify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// RequiredScopes are the access scopes Crossdock needs. A write scope implies
// its read scope in Shopify, so MissingScopes accepts either.
//
//   - read_products/write_products: variants, SKUs, prices (productVariantsBulkUpdate), bulk exports
//   - read_inventory/write_inventory: inventory levels, inventorySetQuantities
//   - read_locations: the locations stock is kept at
//   - read_orders: orders, refunds and fulfillments (read only)
//   - read_customers: customers
//
// write_fulfillments is not required: Crossdock reads fulfillments, it does not create them.
var RequiredScopes = []string{
	"write_products", "write_inventory", "read_locations", "read_orders", "read_customers",
}

// MissingScopes returns the RequiredScopes not covered by have.
func MissingScopes(have []string) []string {
	var missing []string
	for _, need := range RequiredScopes {
		if slices.Contains(have, need) {
			continue
		}
		if r, ok := strings.CutPrefix(need, "read_"); ok && slices.Contains(have, "write_"+r) {
			continue
		}
		missing = append(missing, need)
	}
	return missing
}

// PageInfo is a connection's pagination state.
type PageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// Money is a MoneyV2: a decimal string amount and a currency.
type Money struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

type moneyBag struct {
	ShopMoney Money `json:"shopMoney"`
}

// ShopQuery reads what "Test connection" shows.
const ShopQuery = `query CrossdockShop {
  shop { name myshopifyDomain currencyCode plan { displayName } }
  currentAppInstallation { accessScopes { handle } }
}`

// ShopInfo is what "Test connection" reports.
type ShopInfo struct {
	Name            string
	MyshopifyDomain string
	CurrencyCode    string
	Plan            string
	Scopes          []string
	APIVersion      string
}

// Shop reads the shop and the scopes granted to the app.
func (c *Client) Shop(ctx context.Context) (ShopInfo, error) {
	var out struct {
		Shop struct {
			Name            string `json:"name"`
			MyshopifyDomain string `json:"myshopifyDomain"`
			CurrencyCode    string `json:"currencyCode"`
			Plan            struct {
				DisplayName string `json:"displayName"`
			} `json:"plan"`
		} `json:"shop"`
		CurrentAppInstallation struct {
			AccessScopes []struct {
				Handle string `json:"handle"`
			} `json:"accessScopes"`
		} `json:"currentAppInstallation"`
	}
	if err := c.Do(ctx, ShopQuery, nil, &out); err != nil {
		return ShopInfo{}, err
	}
	info := ShopInfo{
		Name:            out.Shop.Name,
		MyshopifyDomain: out.Shop.MyshopifyDomain,
		CurrencyCode:    out.Shop.CurrencyCode,
		Plan:            out.Shop.Plan.DisplayName,
		APIVersion:      c.version,
	}
	for _, s := range out.CurrentAppInstallation.AccessScopes {
		info.Scopes = append(info.Scopes, s.Handle)
	}
	return info, nil
}

// ProductVariantsQuery pages through all variants.
const ProductVariantsQuery = `query CrossdockVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id sku barcode price compareAtPrice updatedAt
      product { id title }
      inventoryItem { id unitCost { amount currencyCode } }
    }
  }
}`

// Variant is a product variant as Crossdock reads it.
type Variant struct {
	ID             string    `json:"id"`
	SKU            string    `json:"sku"`
	Barcode        *string   `json:"barcode"`
	Price          string    `json:"price"`
	CompareAtPrice *string   `json:"compareAtPrice"`
	UpdatedAt      time.Time `json:"updatedAt"`
	Product        struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"product"`
	InventoryItem struct {
		ID       string `json:"id"`
		UnitCost *Money `json:"unitCost"`
	} `json:"inventoryItem"`
}

// VariantPage is one page of variants.
type VariantPage struct {
	Variants []Variant
	PageInfo PageInfo
}

// maxVariantPage keeps ProductVariantsQuery under Shopify's 1,000-point
// single-query limit (each variant node costs 4 points: itself, product,
// inventoryItem and unitCost).
const maxVariantPage = 200

func clampFirst(first, def, limit int) int {
	if first <= 0 {
		return def
	}
	return min(first, limit)
}

func cursor(after string) any {
	if after == "" {
		return nil
	}
	return after
}

// ProductVariants reads one page of variants; pass PageInfo.EndCursor as after for the next.
func (c *Client) ProductVariants(ctx context.Context, after string, first int) (VariantPage, error) {
	var out struct {
		ProductVariants struct {
			PageInfo PageInfo  `json:"pageInfo"`
			Nodes    []Variant `json:"nodes"`
		} `json:"productVariants"`
	}
	vars := map[string]any{"first": clampFirst(first, 100, maxVariantPage), "after": cursor(after)}
	if err := c.Do(ctx, ProductVariantsQuery, vars, &out); err != nil {
		return VariantPage{}, err
	}
	return VariantPage{Variants: out.ProductVariants.Nodes, PageInfo: out.ProductVariants.PageInfo}, nil
}

// LocationsQuery reads locations.
const LocationsQuery = `query CrossdockLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id name isActive }
  }
}`

// Location is a place stock is kept.
type Location struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	IsActive bool   `json:"isActive"`
}

// Locations reads every location of the shop.
func (c *Client) Locations(ctx context.Context) ([]Location, error) {
	var all []Location
	after := ""
	for {
		var out struct {
			Locations struct {
				PageInfo PageInfo   `json:"pageInfo"`
				Nodes    []Location `json:"nodes"`
			} `json:"locations"`
		}
		if err := c.Do(ctx, LocationsQuery, map[string]any{"first": 100, "after": cursor(after)}, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Locations.Nodes...)
		if !out.Locations.PageInfo.HasNextPage {
			return all, nil
		}
		after = out.Locations.PageInfo.EndCursor
	}
}

// InventoryLevelsQuery reads the levels stocked at one location.
const InventoryLevelsQuery = `query CrossdockInventoryLevels($locationId: ID!, $first: Int!, $after: String) {
  location(id: $locationId) {
    id
    inventoryLevels(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id updatedAt
        item { id sku }
        quantities(names: ["available", "on_hand"]) { name quantity }
      }
    }
  }
}`

// InventoryLevel is the stock of one inventory item at one location.
type InventoryLevel struct {
	ID         string
	ItemID     string
	SKU        string
	LocationID string
	Available  int
	OnHand     int
	UpdatedAt  time.Time
}

// InventoryLevelPage is one page of inventory levels.
type InventoryLevelPage struct {
	Levels   []InventoryLevel
	PageInfo PageInfo
}

// InventoryLevels reads one page of the levels at a location.
func (c *Client) InventoryLevels(ctx context.Context, locationID, after string, first int) (InventoryLevelPage, error) {
	var out struct {
		Location *struct {
			ID              string `json:"id"`
			InventoryLevels struct {
				PageInfo PageInfo `json:"pageInfo"`
				Nodes    []struct {
					ID        string    `json:"id"`
					UpdatedAt time.Time `json:"updatedAt"`
					Item      struct {
						ID  string `json:"id"`
						SKU string `json:"sku"`
					} `json:"item"`
					Quantities []struct {
						Name     string `json:"name"`
						Quantity int    `json:"quantity"`
					} `json:"quantities"`
				} `json:"nodes"`
			} `json:"inventoryLevels"`
		} `json:"location"`
	}
	vars := map[string]any{"locationId": locationID, "first": clampFirst(first, 100, 250), "after": cursor(after)}
	if err := c.Do(ctx, InventoryLevelsQuery, vars, &out); err != nil {
		return InventoryLevelPage{}, err
	}
	if out.Location == nil {
		return InventoryLevelPage{}, &Error{Kind: KindValidation, Message: "location " + locationID + " does not exist"}
	}
	page := InventoryLevelPage{PageInfo: out.Location.InventoryLevels.PageInfo}
	for _, n := range out.Location.InventoryLevels.Nodes {
		l := InventoryLevel{ID: n.ID, ItemID: n.Item.ID, SKU: n.Item.SKU, LocationID: out.Location.ID, UpdatedAt: n.UpdatedAt}
		for _, q := range n.Quantities {
			switch q.Name {
			case "available":
				l.Available = q.Quantity
			case "on_hand":
				l.OnHand = q.Quantity
			}
		}
		page.Levels = append(page.Levels, l)
	}
	return page, nil
}

// CustomersQuery reads customers.
const CustomersQuery = `query CrossdockCustomers($first: Int!, $after: String) {
  customers(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName displayName createdAt updatedAt
      defaultEmailAddress { emailAddress }
    }
  }
}`

// Customer is a Shopify customer.
type Customer struct {
	ID          string
	FirstName   string
	LastName    string
	DisplayName string
	Email       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CustomerPage is one page of customers.
type CustomerPage struct {
	Customers []Customer
	PageInfo  PageInfo
}

// Customers reads one page of customers.
func (c *Client) Customers(ctx context.Context, after string, first int) (CustomerPage, error) {
	var out struct {
		Customers struct {
			PageInfo PageInfo `json:"pageInfo"`
			Nodes    []struct {
				ID                  string    `json:"id"`
				FirstName           string    `json:"firstName"`
				LastName            string    `json:"lastName"`
				DisplayName         string    `json:"displayName"`
				CreatedAt           time.Time `json:"createdAt"`
				UpdatedAt           time.Time `json:"updatedAt"`
				DefaultEmailAddress *struct {
					EmailAddress string `json:"emailAddress"`
				} `json:"defaultEmailAddress"`
			} `json:"nodes"`
		} `json:"customers"`
	}
	vars := map[string]any{"first": clampFirst(first, 100, 250), "after": cursor(after)}
	if err := c.Do(ctx, CustomersQuery, vars, &out); err != nil {
		return CustomerPage{}, err
	}
	page := CustomerPage{PageInfo: out.Customers.PageInfo}
	for _, n := range out.Customers.Nodes {
		cu := Customer{ID: n.ID, FirstName: n.FirstName, LastName: n.LastName, DisplayName: n.DisplayName, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
		if n.DefaultEmailAddress != nil {
			cu.Email = n.DefaultEmailAddress.EmailAddress
		}
		page.Customers = append(page.Customers, cu)
	}
	return page, nil
}

// orderFields is shared by the orders and order(id:) queries.
const orderFields = `id name createdAt updatedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus currencyCode email
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { id }
      lineItems(first: 20) {
        nodes { id sku title quantity variant { id } originalUnitPriceSet { shopMoney { amount currencyCode } } }
      }
      refunds(first: 5) {
        id createdAt note
        totalRefundedSet { shopMoney { amount currencyCode } }
        refundLineItems(first: 10) { nodes { quantity lineItem { id sku } } }
      }
      fulfillments(first: 5) { id status createdAt trackingInfo { company number url } }`

// OrdersQuery reads orders matching a Shopify search query (e.g. "updated_at:>2026-04-01").
const OrdersQuery = `query CrossdockOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      ` + orderFields + `
    }
  }
}`

// OrderQuery reads one order.
const OrderQuery = `query CrossdockOrder($id: ID!) {
  order(id: $id) {
      ` + orderFields + `
  }
}`

// LineItem is one line of an order.
type LineItem struct {
	ID       string `json:"id"`
	SKU      string `json:"sku"`
	Title    string `json:"title"`
	Quantity int    `json:"quantity"`
	Variant  *struct {
		ID string `json:"id"`
	} `json:"variant"`
	OriginalUnitPriceSet moneyBag `json:"originalUnitPriceSet"`
}

// UnitPrice is the line's original unit price in shop currency.
func (l LineItem) UnitPrice() Money { return l.OriginalUnitPriceSet.ShopMoney }

// Refund is a refund of an order.
type Refund struct {
	ID               string    `json:"id"`
	CreatedAt        time.Time `json:"createdAt"`
	Note             *string   `json:"note"`
	TotalRefundedSet moneyBag  `json:"totalRefundedSet"`
	RefundLineItems  struct {
		Nodes []struct {
			Quantity int `json:"quantity"`
			// RestockType is asked by refundCreate only ("" elsewhere).
			RestockType string `json:"restockType,omitempty"`
			LineItem    struct {
				ID  string `json:"id"`
				SKU string `json:"sku"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"refundLineItems"`
	// Transactions are asked by refundCreate only (nil elsewhere): the
	// money the refund moved.
	Transactions *struct {
		Nodes []OrderTransaction `json:"nodes"`
	} `json:"transactions,omitempty"`
}

// OrderTransaction is a payment or refund of an order's money.
type OrderTransaction struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Status    string   `json:"status"`
	Gateway   string   `json:"gateway"`
	AmountSet moneyBag `json:"amountSet"`
}

// Amount is the transaction's amount in shop currency.
func (t OrderTransaction) Amount() Money { return t.AmountSet.ShopMoney }

// Fulfillment is a (minimal) fulfillment of an order.
type Fulfillment struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"createdAt"`
	TrackingInfo []struct {
		Company *string `json:"company"`
		Number  *string `json:"number"`
		URL     *string `json:"url"`
	} `json:"trackingInfo"`
}

// Order is a Shopify order with its lines, refunds and fulfillments.
type Order struct {
	ID                       string     `json:"id"`
	Name                     string     `json:"name"`
	CreatedAt                time.Time  `json:"createdAt"`
	UpdatedAt                time.Time  `json:"updatedAt"`
	CancelledAt              *time.Time `json:"cancelledAt"`
	DisplayFinancialStatus   string     `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string     `json:"displayFulfillmentStatus"`
	CurrencyCode             string     `json:"currencyCode"`
	Email                    *string    `json:"email"`
	TotalPriceSet            moneyBag   `json:"totalPriceSet"`
	Customer                 *struct {
		ID string `json:"id"`
	} `json:"customer"`
	LineItems struct {
		Nodes []LineItem `json:"nodes"`
	} `json:"lineItems"`
	Refunds      []Refund      `json:"refunds"`
	Fulfillments []Fulfillment `json:"fulfillments"`
}

// Total is the order total in shop currency.
func (o Order) Total() Money { return o.TotalPriceSet.ShopMoney }

// OrderPage is one page of orders.
type OrderPage struct {
	Orders   []Order
	PageInfo PageInfo
}

// maxOrderPage keeps OrdersQuery under the 1,000-point limit: one order with
// its 20 lines, refunds and fulfillments is requested at about 115 points.
const maxOrderPage = 8

// Orders reads one page of orders matching query ("" for all), at most 8 per page.
func (c *Client) Orders(ctx context.Context, query, after string, first int) (OrderPage, error) {
	var out struct {
		Orders struct {
			PageInfo PageInfo `json:"pageInfo"`
			Nodes    []Order  `json:"nodes"`
		} `json:"orders"`
	}
	vars := map[string]any{"first": clampFirst(first, maxOrderPage, maxOrderPage), "after": cursor(after)}
	if query != "" {
		vars["query"] = query
	}
	if err := c.Do(ctx, OrdersQuery, vars, &out); err != nil {
		return OrderPage{}, err
	}
	return OrderPage{Orders: out.Orders.Nodes, PageInfo: out.Orders.PageInfo}, nil
}

// Order reads one order by GID; it answers KindValidation when the order does not exist.
func (c *Client) Order(ctx context.Context, id string) (Order, error) {
	var out struct {
		Order *Order `json:"order"`
	}
	if err := c.Do(ctx, OrderQuery, map[string]any{"id": id}, &out); err != nil {
		return Order{}, err
	}
	if out.Order == nil {
		return Order{}, &Error{Kind: KindValidation, Message: "order " + id + " does not exist"}
	}
	return *out.Order, nil
}

// Refunds reads the refunds of an order.
func (c *Client) Refunds(ctx context.Context, orderID string) ([]Refund, error) {
	o, err := c.Order(ctx, orderID)
	return o.Refunds, err
}

// Fulfillments reads the fulfillments of an order.
func (c *Client) Fulfillments(ctx context.Context, orderID string) ([]Fulfillment, error) {
	o, err := c.Order(ctx, orderID)
	return o.Fulfillments, err
}

var errNoKey = errors.New("an idempotency key is required")
