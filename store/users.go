package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"crossdock/vocab"
)

// User is a person who signs in to Crossdock.
type User struct {
	ID                int64      `db:"id" json:"id"`
	Email             string     `db:"email" json:"email"`
	Name              string     `db:"name" json:"name"`
	Role              vocab.Role `db:"role" json:"role"`
	PasswordHash      string     `db:"password_hash" json:"-"`
	Active            bool       `db:"active" json:"active"`
	CreatedAt         time.Time  `db:"created_at" json:"-"`
	UpdatedAt         time.Time  `db:"updated_at" json:"-"`
	PasswordChangedAt time.Time  `db:"password_changed_at" json:"-"`
	LastLoginAt       *time.Time `db:"last_login_at" json:"-"`
	// Scope is where the person may write (replays, pushed values, checks,
	// subscriptions): ScopeAll or ScopeTest. See MayWriteInto.
	Scope vocab.Scope `db:"environment_scope" json:"environment_scope"`
}

// Password rules, kept simple and long rather than clever (NIST SP 800-63B).
const (
	MinPasswordLen = 10
	MaxPasswordLen = 72 // bcrypt ignores bytes past 72
	MaxNameLen     = 100
	MaxEmailLen    = 254
)

// CheckPassword says what is wrong with a new password, or "".
func CheckPassword(pw string) string {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fmt.Sprintf("Password must be at least %d characters long.", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Sprintf("Password must be at most %d bytes long.", MaxPasswordLen)
	case strings.Count(pw, string([]rune(pw)[0])) == utf8.RuneCountInString(pw):
		return "Password must not repeat a single character."
	}
	return ""
}

// NewUser is what it takes to create a user.
type NewUser struct {
	Email    string
	Name     string
	Role     vocab.Role
	Password string
}

// Normalize trims the fields people type with stray spaces.
func (n *NewUser) Normalize() {
	n.Email = strings.TrimSpace(n.Email)
	n.Name = strings.TrimSpace(n.Name)
}

// Validate checks every field and names what is wrong with each.
func (n NewUser) Validate() vocab.FieldErrors {
	fe := vocab.FieldErrors{}
	if msg := checkEmail(n.Email); msg != "" {
		fe["email"] = msg
	}
	if n.Name == "" {
		fe["name"] = "Enter the person's name."
	} else if utf8.RuneCountInString(n.Name) > MaxNameLen {
		fe["name"] = fmt.Sprintf("Name must be at most %d characters.", MaxNameLen)
	}
	if !n.Role.Valid() {
		fe["role"] = "Choose a role: admin, operator or finance."
	}
	if msg := CheckPassword(n.Password); msg != "" {
		fe["password"] = msg
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func checkEmail(email string) string {
	if email == "" {
		return "Enter an email address."
	}
	if len(email) > MaxEmailLen {
		return "Email address is too long."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "Enter an email address like name@example.com."
	}
	return ""
}

// HashPassword returns a bcrypt hash of pw at the store's cost.
func (s *Store) HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cmp.Or(s.PasswordCost, bcrypt.DefaultCost))
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when an account does not exist, so a sign-in
// for an unknown email takes as long as one for a known email.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("crossdock-no-such-user"), bcrypt.DefaultCost)

// PasswordMatches reports whether pw matches u's hash; with u == nil it burns
// the same time and reports false.
func PasswordMatches(u *User, pw string) bool {
	if u == nil {
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pw)) //nolint:errcheck
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(pw)) == nil
}

// ErrEmailTaken is returned when another user already has the email.
var ErrEmailTaken = fmt.Errorf("a user with this email already exists: %w", ErrConflict)

// ErrNotFirstUser is returned when first-run setup runs on an installation
// that already has users.
var ErrNotFirstUser = errors.New("this installation already has users")

const userColumns = `id, email, name, role, password_hash, active, created_at, updated_at, password_changed_at, last_login_at,
environment_scope`

// CreateUser validates and stores a new user and audits it.
func (s *Store) CreateUser(ctx context.Context, a Actor, n NewUser) (User, error) {
	n.Normalize()
	if fe := n.Validate(); fe != nil {
		return User{}, fe
	}
	hash, err := s.HashPassword(n.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.InTx(ctx, func(tx *Tx) error {
		var err error
		u, err = tx.insertUser(ctx, n, hash)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, a, Change{Action: "user.created", ObjectType: "user", ObjectID: strconv.FormatInt(u.ID, 10),
			Summary: fmt.Sprintf("Created %s (%s) as %s", u.Name, u.Email, u.Role), After: u})
	})
	return u, err
}

// CreateFirstAdmin creates the first admin of an empty installation. It fails
// with ErrNotFirstUser if any user exists, even when two browsers race.
func (s *Store) CreateFirstAdmin(ctx context.Context, n NewUser) (User, error) {
	n.Normalize()
	n.Role = vocab.RoleAdmin
	if fe := n.Validate(); fe != nil {
		return User{}, fe
	}
	hash, err := s.HashPassword(n.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.InTx(ctx, func(tx *Tx) error {
		// Serialise concurrent first-run submissions; the loser sees a user exists.
		if _, err := tx.ext.ExecContext(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("store: lock users: %w", err)
		}
		var n2 int
		if err := sqlxGet(ctx, tx.q, &n2, `SELECT count(*) FROM users`); err != nil {
			return fmt.Errorf("store: count users: %w", err)
		}
		if n2 > 0 {
			return ErrNotFirstUser
		}
		var err error
		if u, err = tx.insertUser(ctx, n, hash); err != nil {
			return err
		}
		return tx.Audit(ctx, Actor{UserID: u.ID, Label: u.Email}, Change{Action: "user.created", ObjectType: "user",
			ObjectID: strconv.FormatInt(u.ID, 10), Summary: fmt.Sprintf("Set up Crossdock with first admin %s (%s)", u.Name, u.Email), After: u})
	})
	return u, err
}

func (q q) insertUser(ctx context.Context, n NewUser, hash string) (User, error) {
	var u User
	err := sqlxGet(ctx, q, &u, `INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4)
RETURNING `+userColumns, n.Email, n.Name, n.Role, hash)
	if isUniqueViolation(err) {
		return User{}, vocab.FieldErrors{"email": "A user with this email already exists."}
	}
	if err != nil {
		return User{}, fmt.Errorf("store: insert user: %w", err)
	}
	return u, nil
}

// HasUsers reports whether any user exists (false means first run).
func (q q) HasUsers(ctx context.Context) (bool, error) {
	var ok bool
	if err := sqlxGet(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM users)`); err != nil {
		return false, fmt.Errorf("store: has users: %w", err)
	}
	return ok, nil
}

// UserByID returns a user or ErrNotFound.
func (q q) UserByID(ctx context.Context, id int64) (User, error) {
	var u User
	if err := sqlxGet(ctx, q, &u, `SELECT `+userColumns+` FROM users WHERE id = $1`, id); err != nil {
		return User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

// UserByEmail returns a user by email, case-insensitively, or ErrNotFound.
func (q q) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	if err := sqlxGet(ctx, q, &u, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower($1)`, strings.TrimSpace(email)); err != nil {
		return User{}, fmt.Errorf("store: user by email: %w", err)
	}
	return u, nil
}

// ListUsers returns every user, active first, then by name. Installations have
// tens of users, not thousands: no pagination needed.
func (q q) ListUsers(ctx context.Context) ([]User, error) {
	var us []User
	if err := sqlxSelect(ctx, q, &us, `SELECT `+userColumns+` FROM users ORDER BY active DESC, lower(name), id`); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return us, nil
}

// UserUpdate is an admin's change to a user.
type UserUpdate struct {
	Name   string
	Role   vocab.Role
	Active bool
	Scope  vocab.Scope // vocab.ScopeAll or vocab.ScopeTest; "" keeps the current one
}

// ErrLastAdmin is returned when a change would leave no active admin.
var ErrLastAdmin = errors.New("Crossdock needs at least one active admin: make someone else admin first")

// UpdateUser changes a user's name, role or active flag. Deactivating a user
// or changing their role ends their sessions.
func (s *Store) UpdateUser(ctx context.Context, a Actor, id int64, upd UserUpdate) (User, error) {
	upd.Name = strings.TrimSpace(upd.Name)
	fe := vocab.FieldErrors{}
	if upd.Name == "" {
		fe["name"] = "Enter the person's name."
	} else if utf8.RuneCountInString(upd.Name) > MaxNameLen {
		fe["name"] = fmt.Sprintf("Name must be at most %d characters.", MaxNameLen)
	}
	if !upd.Role.Valid() {
		fe["role"] = "Choose a role: admin, operator or finance."
	}
	if upd.Scope != "" && upd.Scope != vocab.ScopeAll && upd.Scope != vocab.ScopeTest {
		fe["scope"] = "Choose where this person may write: into every system, or into test systems only."
	}
	if len(fe) > 0 {
		return User{}, fe
	}
	var after User
	err := s.InTx(ctx, func(tx *Tx) error {
		before, err := tx.lockUser(ctx, id)
		if err != nil {
			return err
		}
		upd.Scope = cmp.Or(upd.Scope, before.Scope)
		if before.Role == vocab.RoleAdmin && before.Active && (upd.Role != vocab.RoleAdmin || !upd.Active) {
			if err := tx.ensureAnotherAdmin(ctx, id); err != nil {
				return err
			}
		}
		if err := sqlxGet(ctx, tx.q, &after, `UPDATE users SET name = $2, role = $3, active = $4, environment_scope = $5,
  updated_at = now()
WHERE id = $1 RETURNING `+userColumns, id, upd.Name, upd.Role, upd.Active, upd.Scope); err != nil {
			return fmt.Errorf("store: update user: %w", err)
		}
		if before.Role != after.Role || !after.Active {
			if err := tx.DeleteUserSessions(ctx, id); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, a, Change{Action: "user.updated", ObjectType: "user", ObjectID: strconv.FormatInt(id, 10),
			Summary: describeUserChange(before, after), Before: before, After: after})
	})
	return after, err
}

func describeUserChange(b, a User) string {
	var parts []string
	if b.Name != a.Name {
		parts = append(parts, fmt.Sprintf("renamed to %s", a.Name))
	}
	if b.Role != a.Role {
		parts = append(parts, fmt.Sprintf("role %s → %s", b.Role, a.Role))
	}
	if b.Scope != a.Scope {
		parts = append(parts, "may write into "+vocab.Scope(a.Scope).Label())
	}
	if b.Active != a.Active {
		if a.Active {
			parts = append(parts, "reactivated")
		} else {
			parts = append(parts, "deactivated")
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("Saved %s without changes", a.Email)
	}
	return fmt.Sprintf("%s: %s", a.Email, strings.Join(parts, ", "))
}

func (q q) lockUser(ctx context.Context, id int64) (User, error) {
	var u User
	if err := sqlxGet(ctx, q, &u, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id); err != nil {
		return User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

func (q q) ensureAnotherAdmin(ctx context.Context, id int64) error {
	// Lock the other admins' rows so two admins demoting each other at once
	// cannot both succeed and leave nobody in charge.
	var others []int64
	if err := sqlxSelect(ctx, q, &others, `SELECT id FROM users WHERE role = 'admin' AND active AND id <> $1 ORDER BY id FOR UPDATE`, id); err != nil {
		return fmt.Errorf("store: count admins: %w", err)
	}
	if len(others) == 0 {
		return ErrLastAdmin
	}
	return nil
}

// SetPassword replaces a user's password and ends all their sessions.
func (s *Store) SetPassword(ctx context.Context, a Actor, id int64, pw string) error {
	if msg := CheckPassword(pw); msg != "" {
		return vocab.FieldErrors{"password": msg}
	}
	hash, err := s.HashPassword(pw)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *Tx) error {
		u, err := tx.lockUser(ctx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ext.ExecContext(ctx, `UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1`, id, hash); err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		if err := tx.DeleteUserSessions(ctx, id); err != nil {
			return err
		}
		summary := fmt.Sprintf("Reset the password of %s", u.Email)
		if a.UserID == id {
			summary = fmt.Sprintf("%s changed their password", u.Email)
		}
		return tx.Audit(ctx, a, Change{Action: "user.password_changed", ObjectType: "user", ObjectID: strconv.FormatInt(id, 10), Summary: summary})
	})
}

// RecordLogin stamps a successful sign-in.
func (q q) RecordLogin(ctx context.Context, id int64) error {
	if _, err := q.ext.ExecContext(ctx, `UPDATE users SET last_login_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	return nil
}
