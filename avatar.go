package roster

import (
	"context"
	"time"
)

// Avatar limits (SPEC U14).
const (
	// MaxAvatarUpload is the largest accepted upload, 3 MB.
	MaxAvatarUpload = 3 << 20
	// AvatarSize bounds the stored picture's width and height in pixels.
	AvatarSize = 256
)

// Avatar is a user's picture, re-encoded on upload (so it carries no
// metadata) and kept in the database beside the user.
type Avatar struct {
	UserID int64
	// ContentType is image/png or image/jpeg.
	ContentType string
	Data        []byte
	UpdatedAt   time.Time
}

// AvatarService stores avatars. Only the user themselves sets or removes
// theirs; reading goes through the reader's scope like any user.
type AvatarService interface {
	// SetAvatar stores or replaces a user's avatar.
	SetAvatar(ctx context.Context, a *Avatar) error
	// Avatar returns the avatar of a user in scope; ENOTFOUND when the user
	// is not in scope or has none.
	Avatar(ctx context.Context, scope Scope, userID int64) (*Avatar, error)
	// AvatarVersions answers, for those of userIDs who have an avatar, its
	// version (the update time in Unix nanoseconds), for cache-busting URLs.
	AvatarVersions(ctx context.Context, userIDs []int64) (map[int64]int64, error)
	// DeleteAvatar removes a user's avatar; no error when there is none.
	DeleteAvatar(ctx context.Context, userID int64) error
}
