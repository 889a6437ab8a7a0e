package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	odoosandbox "crossdock/connectors/odoo/sandbox"
	shopsandbox "crossdock/connectors/shopify/sandbox"
)

// sandbox runs the Shopify and Odoo twins as standalone servers, for trying
// Crossdock (or another client) against realistic APIs without real systems.
func sandbox(ctx context.Context, args []string, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	shopAddr := fs.String("shopify-addr", "127.0.0.1:8081", "address of the sandbox Shopify store")
	odooAddr := fs.String("odoo-addr", "127.0.0.1:8069", "address of the sandbox Odoo")
	seed := fs.Int("seed", 1000, "number of products to create")
	plan := fs.String("plan", "standard", "Shopify plan: standard, advanced, plus or enterprise (sets the rate limit)")
	webhookURL := fs.String("webhook-url", "", "send Shopify webhooks (orders/create) to this address")
	webhookSecret := fs.String("webhook-secret", "", "secret that signs the webhooks (the connection's API secret key)")
	every := fs.Duration("webhook-every", 10*time.Second, "how often a new order is placed and its webhook sent")
	if err := fs.Parse(args); err != nil {
		return usageError("crossdock sandbox: " + err.Error() + "\nUsage: crossdock sandbox --shopify-addr HOST:PORT --odoo-addr HOST:PORT [--seed N] [--plan standard|advanced|plus|enterprise] [--webhook-url URL --webhook-secret S]")
	}
	switch *plan {
	case "standard", "advanced", "plus", "enterprise":
	default:
		return usageError("crossdock sandbox: --plan must be standard, advanced, plus or enterprise")
	}
	if (*webhookURL == "") != (*webhookSecret == "") {
		return usageError("crossdock sandbox: give --webhook-url and --webhook-secret together")
	}
	if *seed < 1 || *seed > 200000 {
		return usageError("crossdock sandbox: --seed must be between 1 and 200000")
	}
	shop := shopsandbox.New(shopsandbox.Options{Plan: *plan, AccessToken: "shpat_sandbox", Seed: *seed, ShopDomain: "crossdock-sandbox.myshopify.com"})
	odoo := odoosandbox.New(odoosandbox.Options{Database: "sandbox", Login: "admin", Password: "admin", APIKey: "sandbox-api-key", Seed: *seed})

	errs := make(chan error, 2)
	var servers []*http.Server
	for _, s := range []struct {
		addr string
		h    http.Handler
	}{{*shopAddr, shop}, {*odooAddr, odoo}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", s.addr, err)
		}
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { errs <- srv.Serve(ln) }()
	}
	fmt.Fprintf(stdout, `Sandbox systems are running (press Ctrl-C to stop).

Shopify (plan %s, %d products)
  API base URL:  http://%s
  Shop domain:   crossdock-sandbox.myshopify.com
  Access token:  shpat_sandbox

Odoo 19.0 (%d products)
  Address:   http://%s
  Database:  sandbox
  User:      admin    Password: admin    API key: sandbox-api-key
`, *plan, *seed, *shopAddr, *seed*3, *odooAddr)

	if *webhookURL != "" {
		sender := &shopsandbox.Sender{URL: *webhookURL, Secret: *webhookSecret, ShopDomain: "crossdock-sandbox.myshopify.com", APIVersion: "2026-04", Client: &http.Client{Timeout: 10 * time.Second}}
		go placeOrders(ctx, shop, sender, *every, log)
		fmt.Fprintf(stdout, "\nA new order is placed every %s and its orders/create webhook sent to %s.\n", *every, *webhookURL)
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutCtx) //nolint:errcheck
	}
	return nil
}

// placeOrders places an order now and then, as shoppers would, and sends its webhook.
func placeOrders(ctx context.Context, shop *shopsandbox.Shop, sender *shopsandbox.Sender, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	variants := shop.Variants()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v := variants[n%len(variants)]
		o, err := shop.AddOrder(shopsandbox.NewOrder{Lines: []shopsandbox.NewLine{{VariantID: v.GID(), Quantity: 1 + n%3}}})
		if err != nil {
			log.Warn("sandbox order", "err", err)
			continue
		}
		payload, err := shop.OrderCreatePayload(o.GID())
		if err != nil {
			log.Warn("sandbox order payload", "err", err)
			continue
		}
		status, err := sender.Send(ctx, "orders/create", payload, shopsandbox.SendOptions{})
		if err != nil {
			log.Warn("sandbox webhook not delivered", "topic", "orders/create", "order", o.Name, "err", err)
			continue
		}
		log.Info("sandbox webhook sent", "topic", "orders/create", "order", o.Name, "status", status)
	}
}
