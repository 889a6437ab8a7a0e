package handlers

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"crossdock/store"
	"crossdock/views"
	"crossdock/vocab"
)

// SettingsStore is what personal settings need from the store.
type SettingsStore interface {
	UserByID(ctx context.Context, id int64) (store.User, error)
	SetPassword(ctx context.Context, a store.Actor, id int64, pw string) error
}

// Settings handles a person's own account.
type Settings struct {
	Base
	Store   SettingsStore
	Version string
}

func (h Settings) page(c *fiber.Ctx, u *store.User, errs map[string]string) views.SettingsPage {
	return views.SettingsPage{Meta: h.Meta(c, "Settings", "settings"), Name: u.Name, Email: u.Email, Role: string(u.Role), Errors: errs, Version: h.Version}
}

// Show displays the settings page.
func (h Settings) Show(c *fiber.Ctx) error {
	return Render(c, views.Settings(h.page(c, CurrentUser(c), nil)))
}

// ChangePassword changes the signed-in person's password after checking the current one.
func (h Settings) ChangePassword(c *fiber.Ctx) error {
	u := CurrentUser(c)
	current, ok1 := form(c, "current", 400)
	password, ok2 := form(c, "password", 400)
	if !ok1 || !ok2 {
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Settings(h.page(c, u, map[string]string{"password": "That password is far too long."})))
	}
	if !store.PasswordMatches(u, current) {
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Settings(h.page(c, u, map[string]string{"current": "That is not your current password."})))
	}
	err := h.Store.SetPassword(c.UserContext(), Actor(c), u.ID, password)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		return RenderStatus(c, fiber.StatusUnprocessableEntity, views.Settings(h.page(c, u, fe)))
	}
	if err != nil {
		return err
	}
	// The change ended every session of this user, this one included: start a fresh one here.
	if err := h.Sessions.Login(c, u.ID); err != nil {
		return err
	}
	h.Flash(c, "success", "Your password is changed. Other browsers were signed out.")
	return Redirect(c, "/settings")
}
