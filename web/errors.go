package web

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"crossdock/handlers"
	"crossdock/store"
	"crossdock/views"
	"crossdock/views/layout"
	"crossdock/web/session"
)

func statusOf(err error) int {
	var fe *fiber.Error
	var oos *store.OutOfScopeError
	switch {
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, store.ErrNotFound):
		return fiber.StatusNotFound
	case errors.Is(err, errNUL):
		return fiber.StatusBadRequest
	case errors.Is(err, handlers.ErrForbidden), errors.Is(err, errCSRF), errors.As(err, &oos):
		return fiber.StatusForbidden
	}
	return fiber.StatusInternalServerError
}

// describe turns an error into words for the person who met it. Internal
// details stay in the log, next to the request id shown on the page.
func describe(c *fiber.Ctx, err error, status int) (title, message string) {
	var oos *store.OutOfScopeError
	switch {
	case errors.As(err, &oos):
		return "Not allowed into a production system", oos.Error() + " Nothing was sent or queued."
	case errors.Is(err, errCSRF):
		return "This form has expired", "For your safety, forms stop working after you sign in or out elsewhere. Go back, reload the page and try again; nothing was changed."
	case errors.Is(err, errNUL):
		return "A character in the request cannot be searched for", "A search, filter or form field contains a character Crossdock cannot store or look for (a NUL byte, %00). Remove it and try again; nothing was changed."
	case errors.Is(err, handlers.ErrForbidden):
		return "Not available for your role", "Your role does not allow this page or action, and nothing was changed. Ask an admin if you need it."
	}
	switch status {
	case fiber.StatusNotFound:
		return "Page not found", "There is nothing at this address. It may have been removed, or the link is mistyped."
	case fiber.StatusRequestEntityTooLarge:
		return "Too much data", "What you sent is larger than the " + sizeInWords(bodyLimit(c.Path())) + " Crossdock accepts here, so nothing was changed."
	case fiber.StatusMethodNotAllowed:
		return "Not possible here", "This address does not accept that kind of request."
	case fiber.StatusBadRequest:
		return "Something in the request was not understood", "Nothing was changed. Go back and try again."
	}
	return "Something went wrong on our side", "Nothing you did caused this, and the details were logged. Try again in a moment; if it keeps happening, give the reference below to your admin."
}

func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status := statusOf(err)
	rid := handlers.RequestID(c)
	if status >= 500 {
		s.log.Error("request failed", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
	}
	title, msg := describe(c, err, status)
	c.Status(status)
	if machinePath(c.Path()) || c.Get(fiber.HeaderAccept) == fiber.MIMEApplicationJSON {
		return c.JSON(fiber.Map{"error": title, "message": msg, "request_id": rid})
	}
	if handlers.IsHTMX(c) {
		// Errors of an htmx swap land in the toast area, not in the swapped region.
		c.Set("HX-Retarget", "#toasts")
		c.Set("HX-Reswap", "beforeend")
		return handlers.Render(c, layout.Toast(layout.Flash{Kind: "critical", Message: title + ". " + msg}))
	}
	info := views.ErrorInfo{Status: status, Title: title, Message: msg, RequestID: rid}
	if handlers.CurrentUser(c) != nil {
		return handlers.Render(c, views.ErrorPage(s.base().Meta(c, title, ""), info))
	}
	csrf := ""
	if session.From(c) != nil {
		csrf = s.base().CSRF(c)
	}
	if err := handlers.Render(c, views.BareErrorPage(csrf, info)); err != nil {
		return c.Status(status).SendString(http.StatusText(status))
	}
	return nil
}
