package shipbob

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// AddressUpdate is PUT /shipment/{id}:updateAddress's body
// (Orders.UpdateAddressRequest, 2026-01): the address of one shipment that
// has not shipped yet. ShipBob changes addresses per shipment, not per order.
type AddressUpdate struct {
	RecipientName string `json:"recipient_name,omitempty"`
	Street1       string `json:"street_address1"`
	Street2       string `json:"street_address2,omitempty"`
	CompanyName   string `json:"company_name,omitempty"`
	City          string `json:"city"`
	State         string `json:"state,omitempty"`
	CountryCode   string `json:"country_code,omitempty"`
	ZipCode       string `json:"zip_code,omitempty"`
	Email         string `json:"email,omitempty"`
	PhoneNumber   string `json:"phone_number,omitempty"`
}

// AddressUpdateOf is the update that gives a shipment a recipient's address.
func AddressUpdateOf(r Recipient) AddressUpdate {
	a := r.Address
	return AddressUpdate{RecipientName: r.Name, Street1: a.Address1, Street2: a.Address2, CompanyName: a.CompanyName, City: a.City,
		State: a.State, CountryCode: a.Country, ZipCode: a.ZipCode, Email: r.Email, PhoneNumber: r.PhoneNumber}
}

// SameAddress reports whether two recipients ship to the same place (case
// and spacing aside).
func SameAddress(a, b Recipient) bool {
	eq := func(x, y string) bool {
		return strings.EqualFold(strings.Join(strings.Fields(x), " "), strings.Join(strings.Fields(y), " "))
	}
	return eq(a.Name, b.Name) && eq(a.Address.Address1, b.Address.Address1) && eq(a.Address.Address2, b.Address.Address2) &&
		eq(a.Address.CompanyName, b.Address.CompanyName) && eq(a.Address.City, b.Address.City) && eq(a.Address.State, b.Address.State) &&
		eq(a.Address.Country, b.Address.Country) && eq(a.Address.ZipCode, b.Address.ZipCode)
}

// UpdateShipmentAddress changes the address of a shipment that has not
// shipped. ShipBob answers 200 with is_success false (and an error code)
// when it refuses; that is an *Error of KindValidation too.
func (c *Client) UpdateShipmentAddress(ctx context.Context, shipmentID int64, u AddressUpdate) error {
	path := "/shipment/" + strconv.FormatInt(shipmentID, 10) + ":updateAddress"
	var out struct {
		ID        int64 `json:"id"`
		IsSuccess *bool `json:"is_success"`
		Error     *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if _, err := c.call(ctx, http.MethodPut, path, nil, u, &out, false); err != nil {
		return err
	}
	if out.IsSuccess != nil && !*out.IsSuccess {
		e := &Error{Kind: KindValidation, Status: http.StatusOK, Method: http.MethodPut, Path: path, Message: "ShipBob did not change the address"}
		if out.Error != nil {
			e.Message = strings.TrimSpace(out.Error.Code + ": " + out.Error.Message)
		}
		return e
	}
	return nil
}
