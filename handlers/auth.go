package handlers

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/views/layout"
	"crossdock/vocab"
)

// AuthStore is what sign-in and first run need from the store.
type AuthStore interface {
	Authenticate(ctx context.Context, email, password string, a store.Actor) (store.User, error)
	CreateFirstAdmin(ctx context.Context, n store.NewUser) (store.User, error)
	HasUsers(ctx context.Context) (bool, error)
}

// Auth handles sign-in, sign-out and first-run setup.
type Auth struct {
	Base
	Store AuthStore
	// FirstRunDone is called once the first admin exists.
	FirstRunDone func()
	// LoadDemo loads the demo workspace when the first admin asks for it.
	LoadDemo DemoLoader
}

// LoginPage shows the sign-in form.
func (h Auth) LoginPage(c *fiber.Ctx) error {
	if CurrentUser(c) != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	f := views.LoginForm{CSRF: h.CSRF(c), Next: safeNext(c.Query("next"))}
	if fl := h.Sessions.TakeFlash(c); fl != nil {
		f.Flash = &layout.Flash{Kind: fl.Kind, Message: fl.Message}
	} else if c.Query("expired") == "1" {
		f.Flash = &layout.Flash{Kind: "info", Message: "Your session has ended. Please sign in again."}
	}
	return Render(c, views.Login(f))
}

// Login checks the credentials and starts a session.
func (h Auth) Login(c *fiber.Ctx) error {
	email, okE := form(c, "email", store.MaxEmailLen)
	password, okP := form(c, "password", 200)
	next := safeNext(c.FormValue("next"))
	f := views.LoginForm{CSRF: h.CSRF(c), Email: email, Next: next}
	if !okE || !okP {
		f.Error = "That email or password is too long."
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Login(f))
	}
	if email == "" || password == "" {
		f.Error = "Enter your email and password."
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Login(f))
	}
	u, err := h.Store.Authenticate(c.UserContext(), email, password, Actor(c))
	var te *store.ThrottledError
	switch {
	case errors.As(err, &te):
		// Refused without checking the password: say when to try again.
		wait := max(te.Wait, time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		if te.Address {
			f.Error = "Too many failed sign-ins from your network. Try again in " + store.DescribeWait(wait) + "."
		} else {
			f.Error = "Too many failed sign-ins to this account. Try again in " + store.DescribeWait(wait) +
				", or ask an admin to unlock it on the Users page."
		}
		return RenderStatus(c, fiber.StatusTooManyRequests, views.Login(f))
	case errors.Is(err, store.ErrBadCredentials):
		f.Error = "That email and password do not match an active account."
		return RenderStatus(c, fiber.StatusUnauthorized, views.Login(f))
	case err != nil:
		return err
	}
	if err := h.Sessions.Login(c, u.ID); err != nil {
		return err
	}
	return Redirect(c, next)
}

// Logout ends the session on the server.
func (h Auth) Logout(c *fiber.Ctx) error {
	if err := h.Sessions.Logout(c); err != nil {
		return err
	}
	h.Flash(c, "success", "You are signed out.")
	return Redirect(c, "/login")
}

// SetupPage shows the first-run form while no user exists.
func (h Auth) SetupPage(c *fiber.Ctx) error {
	has, err := h.Store.HasUsers(c.UserContext())
	if err != nil {
		return err
	}
	if has {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return Render(c, views.Setup(views.SetupForm{CSRF: h.CSRF(c), Demo: true}))
}

// Setup creates the first admin and signs them in.
func (h Auth) Setup(c *fiber.Ctx) error {
	if has, err := h.Store.HasUsers(c.UserContext()); err != nil {
		return err
	} else if has {
		h.Flash(c, "info", "Crossdock is already set up. Sign in with your account.")
		return Redirect(c, "/login")
	}
	name, ok1 := form(c, "name", 400)
	email, ok2 := form(c, "email", 400)
	password, ok3 := form(c, "password", 400)
	f := views.SetupForm{CSRF: h.CSRF(c), Name: name, Email: email, Demo: c.FormValue("demo") == "on"}
	if !ok1 || !ok2 || !ok3 {
		f.Errors = map[string]string{"form": "One of the fields is far too long."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Setup(f))
	}
	u, err := h.Store.CreateFirstAdmin(c.UserContext(), store.NewUser{Name: name, Email: email, Password: password})
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		f.Errors = fe
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Setup(f))
	case errors.Is(err, store.ErrNotFirstUser):
		h.Flash(c, "info", "Crossdock is already set up. Sign in with your account.")
		return Redirect(c, "/login")
	case err != nil:
		return err
	}
	if h.FirstRunDone != nil {
		h.FirstRunDone()
	}
	if err := h.Sessions.Login(c, u.ID); err != nil {
		return err
	}
	if c.FormValue("demo") == "on" && h.LoadDemo != nil {
		summary, err := h.LoadDemo(c.UserContext(), store.Actor{UserID: u.ID, Label: u.Email, RequestID: RequestID(c), IP: ClientIP(c)})
		if err != nil {
			// The account exists and is signed in: say what failed rather than lose it.
			h.Flash(c, "critical", "Welcome, "+u.Name+". The demo workspace could not be loaded: "+err.Error())
			return Redirect(c, "/")
		}
		// The Overview first: it shows what the demo holds and what to try.
		h.Flash(c, "success", "Welcome, "+u.Name+". "+summary)
		return Redirect(c, "/")
	}
	h.Flash(c, "success", "Welcome, "+u.Name+". Crossdock is ready.")
	return Redirect(c, "/")
}
