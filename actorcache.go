package roster

import (
	"slices"
	"sync"
)

// ActorVersion is the version of everything an actor is made of, as the
// store read it together with a session. The store bumps the versions in
// the same transaction as any change that affects an actor (see the store's
// actor-version migration), so an equal ActorVersion means an unchanged
// actor — also when another process made the change. The zero value (Known
// false) means the store does not track versions: nothing is cached.
type ActorVersion struct {
	Known bool
	// User and Company are the versions of the session's user and their
	// company; Impersonator and ImpersonatorCompany those of the reseller
	// administrator behind a switch session (0 without one); Epoch is the
	// version of what all companies share (the company tree, system roles).
	User, Company, Impersonator, ImpersonatorCompany, Epoch int64
}

// ActorCacher is implemented by a UserService that keeps an actor cache for
// ActorForSession.
type ActorCacher interface {
	ActorCache() *ActorCache
}

// actorCacheSize bounds the cache: past it, an arbitrary entry goes.
const actorCacheSize = 10_000

// ActorCache holds resolved actors by session user (and impersonator),
// each valid for exactly one ActorVersion. Safe for concurrent use.
type ActorCache struct {
	mu sync.Mutex
	m  map[actorCacheKey]actorCacheEntry
}

type actorCacheKey struct{ user, impersonator int64 }

type actorCacheEntry struct {
	v ActorVersion
	a *Actor
}

// NewActorCache returns an empty cache.
func NewActorCache() *ActorCache {
	return &ActorCache{m: map[actorCacheKey]actorCacheEntry{}}
}

func cacheKey(s *Session) actorCacheKey {
	k := actorCacheKey{user: s.UserID}
	if s.ImpersonatorID != nil {
		k.impersonator = *s.ImpersonatorID
	}
	return k
}

// get returns a copy of the actor cached for s at s.ActorVersion, or nil.
func (c *ActorCache) get(s *Session) *Actor {
	c.mu.Lock()
	e, ok := c.m[cacheKey(s)]
	c.mu.Unlock()
	if !ok || e.v != s.ActorVersion {
		return nil
	}
	return e.a.copyActor()
}

// put caches a copy of a, resolved after s was read (so a is at least as
// new as s.ActorVersion).
func (c *ActorCache) put(s *Session, a *Actor) {
	k := cacheKey(s)
	e := actorCacheEntry{v: s.ActorVersion, a: a.copyActor()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= actorCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
}

// Len is the number of cached actors.
func (c *ActorCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// copyActor copies what a request could change in place: the actor, its
// users and company, and the scope's list.
// The permission set and role lists are shared and only read.
func (a *Actor) copyActor() *Actor {
	c := *a
	if a.User != nil {
		u := *a.User
		c.User = &u
	}
	if a.Impersonator != nil {
		u := *a.Impersonator
		c.Impersonator = &u
	}
	if a.Company != nil {
		co := *a.Company
		c.Company = &co
	}
	c.Scope.CompanyIDs = slices.Clone(a.Scope.CompanyIDs)
	return &c
}
