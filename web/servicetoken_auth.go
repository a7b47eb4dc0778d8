package web

import (
	"net/http"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// Service tokens (issue 10, item 1) authenticate here, apart from the
// session path: a bearer token starting with roster.ServiceTokenPrefix is
// looked up by its SHA-256 among the service tokens, never among sessions.

// errTokenPersonal refuses a service token the endpoints of a person:
// their profile, sessions, second factor, sign-out, settings pages.
var errTokenPersonal = roster.Errorf(roster.EFORBIDDEN, "A service token can call only endpoints that need a permission, not a person's own.")

// isServiceToken says whether a bearer token is a service token.
func isServiceToken(token string) bool { return strings.HasPrefix(token, roster.ServiceTokenPrefix) }

// authenticateServiceToken resolves a service token into its actor. A
// revoked token is gone (401); an expired one is 401; a request from an
// address outside its allowlist is 403. Its last use is written at most
// once every roster.ServiceTokenTouchEvery.
func (s *Server) authenticateServiceToken(r *http.Request, token string) (*roster.Actor, error) {
	secret := strings.TrimPrefix(token, roster.ServiceTokenPrefix)
	store, ok := s.Users.(roster.ServiceTokenService)
	if !ok || !secure.ValidTokenFormat(secret) {
		return nil, errUnauthorized
	}
	ctx := r.Context()
	t, err := store.ServiceTokenByHash(ctx, secure.HashToken(secret))
	if err != nil {
		return nil, unauthorizedUnlessInternal(err)
	}
	now := s.now()
	if t.Expired(now) {
		return nil, errUnauthorized
	}
	addr := addressOf(r)
	if !t.Allows(addr) {
		s.Logger.Warn("request refused: address not in the service token's allowlist", "service_token_id", t.ID, "addr", addr)
		return nil, roster.Errorf(roster.EFORBIDDEN, "This service token cannot be used from this address.")
	}
	if t.NeedsTouch(now) {
		if err := store.TouchServiceToken(ctx, t.ID, now, addr); err != nil {
			return nil, err
		}
	}
	return roster.ActorForServiceToken(ctx, s.Companies, t, addr)
}

// tokenMayUse refuses a service token the routes without a permission:
// those are a person's own.
func tokenMayUse(a *roster.Actor, rt route) error {
	if a.Token != nil && len(rt.access.perms) == 0 {
		return errTokenPersonal
	}
	return nil
}
