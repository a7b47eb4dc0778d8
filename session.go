package roster

import "time"

// Session kinds.
const (
	// SessionAPI is a bearer token from POST /api/v1/auth/login.
	SessionAPI = "api"
	// SessionWeb is a panel cookie.
	SessionWeb = "web"
	// SessionPasswordChange only allows setting a new password.
	SessionPasswordChange = "password_change"
	// SessionSwitch acts as a dependent company's administrator (U15).
	SessionSwitch = "switch"
)

// Session lifetimes.
const (
	DefaultIdleTimeout    = 30 * time.Minute
	DefaultAbsoluteExpiry = 12 * time.Hour
	PasswordChangeTTL     = 10 * time.Minute
	SwitchTTL             = time.Hour
)

// Session is a signed-in token. Only the SHA-256 of the token is stored.
type Session struct {
	ID        int64
	TokenHash []byte
	Kind      string
	UserID    int64
	// ParentID is the session a switch session was made from; switching back
	// returns to it.
	ParentID *int64
	// ImpersonatorID is the reseller administrator acting through a switch session.
	ImpersonatorID *int64
	Address        string
	UserAgent      string
	CreatedAt      time.Time
	LastSeenAt     time.Time
	IdleTimeout    time.Duration
	ExpiresAt      time.Time
	// ActorVersion, when the store sets it, is the version of everything
	// the session's actor is made of, read with the session: ActorForSession
	// reuses a cached actor only while it is the same.
	ActorVersion ActorVersion
}

// Expired reports whether the session is past its idle or absolute expiry.
func (s *Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(s.IdleTimeout))
}

// TouchInterval is how far apart a session's activity is recorded: a stream
// of requests writes once every few seconds, not once a request.
const TouchInterval = 5 * time.Second

// NeedsTouch reports whether activity at now should be recorded, judged from
// the session as read: most requests skip the write entirely.
func (s *Session) NeedsTouch(now time.Time) bool {
	return now.Sub(s.LastSeenAt) >= TouchInterval
}

// ExpiresAtNow is the moment the session ends if left idle from now.
func (s *Session) ExpiresAtNow(now time.Time) time.Time {
	idle := now.Add(s.IdleTimeout)
	if idle.Before(s.ExpiresAt) {
		return idle
	}
	return s.ExpiresAt
}
