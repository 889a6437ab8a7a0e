package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The twin's sign-in, as auth.shipbob.com serves it: /connect/authorize
// (the person always allows, unless DenySignIn) sends back a code good for
// two minutes and one use; /connect/token trades it, or a refresh token,
// for an access token of one hour and — with offline_access — a refresh
// token that rotates: each refresh answers a new one and the used one
// dies at once.
type oauthState struct {
	codes   map[string]oauthCode
	access  map[string]time.Time // access token → end
	refresh map[string]string    // live refresh token → its scope
	// refreshed counts refreshes answered, for tests.
	refreshed int
}

type oauthCode struct {
	redirect, scope string
	until           time.Time
}

func newOAuthState() oauthState {
	return oauthState{codes: map[string]oauthCode{}, access: map[string]time.Time{}, refresh: map[string]string{}}
}

func randomToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// acceptsToken reports whether a bearer token is the personal access token
// or a live access token of a sign-in.
func (s *Server) acceptsToken(t string) bool {
	if t == "" {
		return false
	}
	if t == s.opt.AccessToken {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	end, ok := s.oauth.access[t]
	return ok && s.now().Before(end)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if s.opt.ClientID == "" || q.Get("client_id") != s.opt.ClientID || err != nil || redirect.Scheme == "" || q.Get("response_type") != "code" {
		http.Error(w, "invalid_request: unknown client, or no redirect_uri, or response_type is not code", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if s.opt.DenySignIn {
		back.Set("error", "access_denied")
	} else {
		code := randomToken("code_")
		s.mu.Lock()
		s.oauth.codes[code] = oauthCode{redirect: q.Get("redirect_uri"), scope: q.Get("scope"), until: s.now().Add(2 * time.Minute)}
		s.mu.Unlock()
		back.Set("code", code)
		back.Set("scope", q.Get("scope"))
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": code, "error_description": description})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		oauthError(w, "invalid_request", "POST a form")
		return
	}
	f := r.PostForm
	if s.opt.ClientID == "" || f.Get("client_id") != s.opt.ClientID || f.Get("client_secret") != s.opt.ClientSecret {
		oauthError(w, "invalid_client", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var scope string
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.oauth.codes[f.Get("code")]
		delete(s.oauth.codes, f.Get("code"))
		if !ok || s.now().After(c.until) || c.redirect != f.Get("redirect_uri") {
			oauthError(w, "invalid_grant", "")
			return
		}
		scope = c.scope
	case "refresh_token":
		sc, ok := s.oauth.refresh[f.Get("refresh_token")]
		if !ok {
			oauthError(w, "invalid_grant", "")
			return
		}
		// Rotation: the used refresh token dies now.
		delete(s.oauth.refresh, f.Get("refresh_token"))
		s.oauth.refreshed++
		scope = sc
	default:
		oauthError(w, "unsupported_grant_type", "")
		return
	}
	access := randomToken("at_")
	s.oauth.access[access] = s.now().Add(time.Hour)
	out := map[string]any{"access_token": access, "expires_in": 3600, "token_type": "Bearer", "scope": scope,
		"id_token": randomToken("id_")}
	if slices.Contains(strings.Fields(scope), "offline_access") {
		rt := randomToken("rt_")
		s.oauth.refresh[rt] = scope
		out["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, out)
}

// ExpireAccessTokens ends every access token of a sign-in, as an hour
// passing would.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.oauth.access)
}

// RevokeRefreshTokens withdraws every refresh token (the person removed
// the app, or 30 days passed unused).
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.oauth.refresh)
}

// ValidRefreshToken reports whether a refresh token is live.
func (s *Server) ValidRefreshToken(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.oauth.refresh[t]
	return ok
}

// Refreshes counts the refresh-token grants answered.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.refreshed
}

// SignInDirect signs in as a person would, without a browser: it returns
// a live refresh token granting scope.
func (s *Server) SignInDirect(scope string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := randomToken("rt_")
	s.oauth.refresh[rt] = scope
	return rt
}
