package odoo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"crossdock/connectors"
	"crossdock/vocab"
)

// Kind describes Odoo to the connectors registry.
func Kind() connectors.Kind {
	return connectors.Kind{
		Key: "odoo", Label: "Odoo", Description: "Your Odoo ERP (version 14 to 21 over JSON-RPC, or 19+ over the JSON-2 API).",
		Fields: []connectors.Field{
			{Key: "url", Label: "Odoo address", Placeholder: "https://your-company.odoo.com", Required: true},
			{Key: "database", Label: "Database", Required: true, Hint: "Shown on Odoo's database selector, or in Settings → Technical."},
			{Key: "username", Label: "User (login)", Placeholder: "integration@your-company.com", Hint: "Needed for JSON-RPC; JSON-2 identifies you by the API key."},
			{Key: "api_key", Label: "API key or password", Secret: true, Required: true, Hint: "Create an API key in Odoo: your profile → Account Security → New API key."},
			{Key: "protocol", Label: "Protocol", Options: []string{string(ProtocolJSONRPC), string(ProtocolJSON2)}, Hint: "jsonrpc for Odoo 14–21; json2 for Odoo 19 and newer."},
		},
		Validate: validate,
		Address:  func(s map[string]string) string { return s["url"] + " · " + s["database"] },
		NewClient: func(c connectors.Conn, hc *http.Client) (any, error) {
			return ClientFor(c, hc)
		},
		Check:   check,
		Explain: explain,
		Offers: map[vocab.Family][]connectors.Capability{
			vocab.Products:     {connectors.Read, connectors.Write, connectors.Sweep},
			vocab.Prices:       {connectors.Read, connectors.Write, connectors.Sweep},
			vocab.Costs:        {connectors.Read, connectors.Sweep},
			vocab.Inventory:    {connectors.Read, connectors.Write, connectors.Sweep},
			vocab.Customers:    {connectors.Read, connectors.Write, connectors.Erase},
			vocab.Orders:       {connectors.Read, connectors.Write},
			vocab.Refunds:      {connectors.Read, connectors.Write},
			vocab.Fulfillments: {connectors.Read, connectors.Sweep},
			vocab.Payouts:      {connectors.Read},
		},
	}
}

func validate(settings map[string]string) connectors.FieldErrors {
	fe := connectors.FieldErrors{}
	if msg := connectors.CheckURL(settings["url"]); msg != "" {
		fe["url"] = msg
	}
	if settings["protocol"] != string(ProtocolJSON2) && strings.TrimSpace(settings["username"]) == "" {
		fe["username"] = "The user is required for the JSON-RPC protocol."
	}
	return fe
}

// ClientFor builds the Odoo client of a connection.
func ClientFor(c connectors.Conn, hc *http.Client) (*Client, error) {
	proto := Protocol(c.Settings["protocol"])
	if proto == "" {
		proto = ProtocolJSONRPC
	}
	return NewClient(Config{URL: c.Settings["url"], Database: c.Settings["database"], Username: c.Settings["username"],
		Secret: c.Secrets["api_key"], Protocol: proto, HTTPClient: hc})
}

func check(ctx context.Context, client any) connectors.CheckResult {
	cl, ok := client.(*Client)
	if !ok {
		return connectors.CheckResult{Summary: fmt.Sprintf("Crossdock cannot test this connection with a %T.", client)}
	}
	r, err := cl.Check(ctx)
	res := connectors.CheckResult{OK: err == nil && r.OK(), Summary: r.Summary()}
	if err != nil && len(r.Problems) == 0 {
		res.Summary = err.Error()
		if s, ok := explain(err); ok {
			res.Summary = s
		}
	}
	res.Lines = append(res.Lines, connectors.CheckLine{Label: "Reachable", Value: connectors.YesNo(r.Reachable), OK: r.Reachable})
	if r.Reachable {
		res.Lines = append(res.Lines,
			connectors.CheckLine{Label: "Credentials accepted", Value: connectors.YesNo(r.CredentialsValid), OK: r.CredentialsValid},
			connectors.CheckLine{Label: "Odoo version", Value: r.Version.Version, OK: r.Version.Version != ""},
			connectors.CheckLine{Label: "Protocol", Value: string(r.Protocol), OK: true})
		for _, m := range r.Models {
			v := "yes — " + m.Purpose
			if !m.Accessible {
				v = m.Problem
			}
			res.Lines = append(res.Lines, connectors.CheckLine{Label: "Access to " + m.Model, Value: v, OK: m.Accessible})
		}
	}
	return res
}

func explain(err error) (string, bool) {
	var oe *Error
	if !errors.As(err, &oe) {
		return "", false
	}
	switch oe.Kind {
	case KindAuth:
		return "Odoo refused the user or API key. Check the database name, the user and the API key.", true
	case KindTransient:
		return "Odoo could not be reached or answered with an error; this is usually temporary. " + oe.Error(), true
	}
	return oe.Error(), true
}

// ReadCatalogue reads every product variant, a page at a time, then the
// stock locations (connectors.CatalogueReader).
func (c *Client) ReadCatalogue(ctx context.Context, put func(entity string, batch []connectors.Record) error) error {
	const page = 500
	for offset := 0; ; offset += page {
		ps, err := c.Products(ctx, nil, offset, page)
		if err != nil {
			return err
		}
		recs := make([]connectors.Record, 0, len(ps))
		for _, p := range ps {
			recs = append(recs, connectors.Record{ExternalID: strconv.Itoa(p.ID), SKU: p.DefaultCode, Barcode: p.Barcode, Name: p.Name})
		}
		if err := put(connectors.EntityVariant, recs); err != nil {
			return err
		}
		if len(ps) < page {
			break
		}
	}
	locs, err := c.Locations(ctx)
	if err != nil {
		return err
	}
	recs := make([]connectors.Record, 0, len(locs))
	for _, l := range locs {
		recs = append(recs, connectors.Record{ExternalID: strconv.Itoa(l.ID), Name: l.CompleteName})
	}
	return put(connectors.EntityLocation, recs)
}
