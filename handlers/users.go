package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// UserStore is what user management needs from the store.
type UserStore interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	CreateUser(ctx context.Context, a store.Actor, n store.NewUser) (store.User, error)
	UpdateUser(ctx context.Context, a store.Actor, id int64, upd store.UserUpdate) (store.User, error)
	SetPassword(ctx context.Context, a store.Actor, id int64, pw string) error
	SignInHolds(ctx context.Context) ([]store.SignInHold, error)
	UnlockSignIn(ctx context.Context, a store.Actor, id int64) (store.User, bool, error)
}

// Users handles the admin's user management.
type Users struct {
	Base
	Store UserStore
}

// List shows every user.
func (h Users) List(c *fiber.Ctx) error {
	us, err := h.Store.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	holds, err := h.Store.SignInHolds(c.UserContext())
	if err != nil {
		return err
	}
	byEmail := make(map[string]store.SignInHold, len(holds))
	for _, hd := range holds {
		byEmail[hd.Email] = hd
	}
	me := CurrentUser(c)
	p := views.UsersPage{Meta: h.Meta(c, "Users", "users"), Now: now()}
	for _, u := range us {
		hd := byEmail[strings.ToLower(u.Email)]
		p.Users = append(p.Users, views.UserRow{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role),
			Active: u.Active, TestOnly: u.Scope == vocab.ScopeTest, LastLoginAt: u.LastLoginAt, IsSelf: me != nil && me.ID == u.ID,
			FailedSignIns: hd.Failures, Throttled: hd.Throttled, HeldUntil: hd.Until})
	}
	return Render(c, views.Users(p))
}

// New shows the add-user form.
func (h Users) New(c *fiber.Ctx) error {
	return Render(c, views.NewUser(views.UserForm{Meta: h.Meta(c, "Add user", "users"), Role: string(vocab.RoleOperator)}))
}

// Create adds a user.
func (h Users) Create(c *fiber.Ctx) error {
	name, ok1 := form(c, "name", 400)
	email, ok2 := form(c, "email", 400)
	role, ok3 := form(c, "role", 40)
	password, ok4 := form(c, "password", 400)
	f := views.UserForm{Meta: h.Meta(c, "Add user", "users"), Name: name, Email: email, Role: role}
	if !ok1 || !ok2 || !ok3 || !ok4 {
		f.Errors = map[string]string{"form": "One of the fields is far too long."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewUser(f))
	}
	u, err := h.Store.CreateUser(c.UserContext(), Actor(c), store.NewUser{Name: name, Email: email, Role: vocab.Role(role), Password: password})
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.NewUser(f))
	}
	if err != nil {
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("%s can now sign in as %s.", u.Name, u.Role))
	return Redirect(c, "/users")
}

func (h Users) load(c *fiber.Ctx) (store.User, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.User{}, store.ErrNotFound
	}
	return h.Store.UserByID(c.UserContext(), id)
}

func (h Users) editForm(c *fiber.Ctx, u store.User) views.UserForm {
	me := CurrentUser(c)
	return views.UserForm{Meta: h.Meta(c, u.Name, "users"), ID: u.ID, Name: u.Name, Email: u.Email,
		Role: string(u.Role), Active: u.Active, Scope: string(u.Scope), IsSelf: me != nil && me.ID == u.ID}
}

// Edit shows one user's details, access and password reset.
func (h Users) Edit(c *fiber.Ctx) error {
	u, err := h.load(c)
	if err != nil {
		return err
	}
	return Render(c, views.EditUser(h.editForm(c, u)))
}

// Update saves a user's name, role and access.
func (h Users) Update(c *fiber.Ctx) error {
	u, err := h.load(c)
	if err != nil {
		return err
	}
	name, ok1 := form(c, "name", 400)
	role, ok2 := form(c, "role", 40)
	scope, ok3 := form(c, "scope", 40)
	f := h.editForm(c, u)
	f.Name, f.Role, f.Active, f.Scope = name, role, c.FormValue("active") == "on", scope
	if !ok1 || !ok2 || !ok3 {
		f.Errors = map[string]string{"form": "One of the fields is far too long."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditUser(f))
	}
	after, err := h.Store.UpdateUser(c.UserContext(), Actor(c), u.ID, store.UserUpdate{Name: name, Role: vocab.Role(role), Active: f.Active,
		Scope: vocab.Scope(scope)})
	var fe vocab.FieldErrors
	switch {
	case errors.As(err, &fe):
		f.Errors = fe
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditUser(f))
	case errors.Is(err, store.ErrLastAdmin):
		f.Errors = map[string]string{"form": store.ErrLastAdmin.Error() + "."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditUser(f))
	case err != nil:
		return err
	}
	h.Flash(c, "success", fmt.Sprintf("Saved %s.", after.Name))
	return Redirect(c, "/users")
}

// ResetPassword sets a new password for a user and signs them out everywhere.
func (h Users) ResetPassword(c *fiber.Ctx) error {
	u, err := h.load(c)
	if err != nil {
		return err
	}
	password, ok := form(c, "password", 400)
	f := h.editForm(c, u)
	if !ok {
		f.PwErrors = map[string]string{"password": "That password is far too long."}
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditUser(f))
	}
	err = h.Store.SetPassword(c.UserContext(), Actor(c), u.ID, password)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		f.PwErrors = fe
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.EditUser(f))
	}
	if err != nil {
		return err
	}
	if me := CurrentUser(c); me != nil && me.ID == u.ID {
		// Resetting your own password ended your session too.
		if err := h.Sessions.Login(c, u.ID); err != nil {
			return err
		}
	}
	h.Flash(c, "success", fmt.Sprintf("New password set for %s; they were signed out everywhere.", u.Name))
	return Redirect(c, "/users")
}

// UnlockSignIn forgets a user's failed sign-ins, so they may sign in at once.
func (h Users) UnlockSignIn(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	u, unlocked, err := h.Store.UnlockSignIn(c.UserContext(), Actor(c), id)
	if err != nil {
		return err
	}
	if unlocked {
		h.Flash(c, "success", fmt.Sprintf("%s can sign in again at once; their failed sign-ins are forgotten.", u.Name))
	} else {
		h.Flash(c, "info", fmt.Sprintf("%s had no failed sign-ins to forget.", u.Name))
	}
	return Redirect(c, "/users")
}
