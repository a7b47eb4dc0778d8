package roster

import "context"

// ErrAddressNotAllowed refuses a request from outside the user's IP allowlist (A3).
var ErrAddressNotAllowed = Errorf(EFORBIDDEN, "Your account cannot be used from this address.")

// errSessionEnded is what every stale session gets: the caller signs in again.
var errSessionEnded = Errorf(EUNAUTHORIZED, "Sign in again.")

// ActorForSession resolves a live session into the actor of a request, the
// same way for API tokens and panel cookies: the user must still be active;
// their company, permissions (fresh from their roles, so a role change applies
// on the next request) and scope are loaded; behind a switch session the
// reseller administrator must still be active and still hold
// companies.switch; and the IP allowlist of the person at the keyboard (the
// reseller administrator, when switched) must allow address. A session that
// no longer grants access is EUNAUTHORIZED; a refused address is
// ErrAddressNotAllowed.
//
// When the store reads an ActorVersion with the session and keeps an
// ActorCache (ActorCacher), the actor resolved for the same session user at
// the same version is reused: one read (the session with the versions) per
// request in the common case.
func ActorForSession(ctx context.Context, users UserService, companies CompanyService, s *Session, address string) (*Actor, error) {
	var cache *ActorCache
	if s.ActorVersion.Known {
		if c, ok := users.(ActorCacher); ok {
			cache = c.ActorCache()
		}
	}
	var actor *Actor
	if cache != nil {
		actor = cache.get(s)
	}
	if actor == nil {
		var err error
		if actor, err = resolveActor(ctx, users, companies, s); err != nil {
			return nil, err
		}
		if cache != nil {
			cache.put(s, actor)
		}
	}
	person := actor.User
	if actor.Impersonator != nil {
		person = actor.Impersonator
	}
	if !person.Allows(address) {
		return nil, ErrAddressNotAllowed
	}
	actor.SessionID, actor.SessionKind, actor.Address = s.ID, s.Kind, address
	return actor, nil
}

// resolveActor loads the actor of a session from the store.
func resolveActor(ctx context.Context, users UserService, companies CompanyService, s *Session) (*Actor, error) {
	actor, err := loadActor(ctx, users, companies, s.UserID)
	if err != nil {
		return nil, err
	}
	if s.ImpersonatorID != nil {
		imp, err := users.UserByID(ctx, Scope{All: true}, *s.ImpersonatorID)
		if err != nil {
			return nil, sessionError(err)
		}
		perms, err := users.UserPermissions(ctx, imp.ID)
		if err != nil {
			return nil, err
		}
		if imp.Status != StatusActive || !perms.Has(PermCompaniesSwitch) {
			return nil, errSessionEnded
		}
		actor.Impersonator = imp
	}
	return actor, nil
}

// loadActor loads an active user with their company, permissions and scope:
// all companies for the Main administrator, otherwise their own company and
// its dependent companies.
func loadActor(ctx context.Context, users UserService, companies CompanyService, userID int64) (*Actor, error) {
	all := Scope{All: true}
	u, err := users.UserByID(ctx, all, userID)
	if err != nil {
		return nil, sessionError(err)
	}
	if u.Status != StatusActive {
		return nil, errSessionEnded
	}
	perms, err := users.UserPermissions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	company, err := companies.CompanyByID(ctx, all, u.CompanyID)
	if err != nil {
		return nil, err
	}
	a := &Actor{User: u, Company: company, Permissions: perms, MainAdmin: u.HasRole(RoleMainAdmin)}
	if a.MainAdmin {
		a.Scope = all
		return a, nil
	}
	deps, err := companies.DependentIDs(ctx, company.ID)
	if err != nil {
		return nil, err
	}
	a.Scope = Scope{CompanyIDs: append([]int64{company.ID}, deps...)}
	return a, nil
}

// sessionError turns "the user is gone" into a stale session and keeps real failures.
func sessionError(err error) error {
	if ErrorCode(err) == ENOTFOUND {
		return errSessionEnded
	}
	return err
}
