package panel

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/roster-app/roster"
)

// This file serves avatars (SPEC U14): upload on My profile only, checked
// by content, re-encoded without metadata and scaled down; served to
// signed-in users who may see that user, with caching by version.

// maxAvatarPixels bounds the decoded size of an upload, so a small file
// that claims a huge canvas (a decompression bomb) is refused before it is
// decoded.
const maxAvatarPixels = 40_000_000

// errAvatar is the one answer to an upload that is not a usable picture.
func errAvatar(code, msg string) error {
	var v roster.Validation
	v.Add("avatar", code, msg)
	return v.Err()
}

// processAvatar checks an upload by its content, decodes it and re-encodes
// it as PNG or JPEG (dropping every metadata chunk), at most AvatarSize
// pixels on each side.
func processAvatar(data []byte) (contentType string, out []byte, err error) {
	if len(data) == 0 {
		return "", nil, errAvatar("required", "Choose a picture.")
	}
	if len(data) > roster.MaxAvatarUpload {
		return "", nil, errAvatar("avatar_too_large", "A picture is at most 3 MB.")
	}
	sniffed := http.DetectContentType(data)
	if sniffed != "image/png" && sniffed != "image/jpeg" {
		return "", nil, errAvatar("avatar_type", "A picture is a PNG or JPEG file.")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg") || "image/"+format != sniffed {
		return "", nil, errAvatar("avatar_type", "A picture is a PNG or JPEG file.")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxAvatarPixels {
		return "", nil, errAvatar("avatar_type", "A picture is a PNG or JPEG file.")
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", nil, errAvatar("avatar_type", "A picture is a PNG or JPEG file.")
	}
	img = scaleDown(img, roster.AvatarSize)
	var buf bytes.Buffer
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88})
	}
	if err != nil {
		return "", nil, err
	}
	return sniffed, buf.Bytes(), nil
}

// scaleDown fits img into size×size keeping its proportions, by averaging
// the source pixels each target pixel covers (box filter), which is good
// enough for a small portrait and needs no dependency.
func scaleDown(src image.Image, size int) image.Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		// Copy into a plain RGBA so nothing of the source encoding survives.
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
		return dst
	}
	tw, th := size, size
	if w > h {
		th = max(1, h*size/w)
	} else {
		tw = max(1, w*size/h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	for y := range th {
		y0, y1 := b.Min.Y+y*h/th, b.Min.Y+max((y+1)*h/th, y*h/th+1)
		for x := range tw {
			x0, x1 := b.Min.X+x*w/tw, b.Min.X+max((x+1)*w/tw, x*w/tw+1)
			var r, g, bl, a, n uint64
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, ca := src.At(sx, sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r/n>>8), uint8(g/n>>8), uint8(bl/n>>8), uint8(a/n>>8)
		}
	}
	return dst
}

// handleAvatarUpload stores the signed-in user's own avatar.
func (p *Panel) handleAvatarUpload(w http.ResponseWriter, r *http.Request) error {
	if err := notImpersonated(r); err != nil {
		return err
	}
	a := state(r).actor
	r.Body = http.MaxBytesReader(w, r.Body, roster.MaxAvatarUpload+64<<10)
	var data []byte
	f, _, err := r.FormFile("avatar")
	switch {
	case errors.Is(err, http.ErrMissingFile):
	case err != nil:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return p.profileFail(w, r, errAvatar("avatar_too_large", "A picture is at most 3 MB."), "avatar")
		}
		return p.profileFail(w, r, errAvatar("avatar_type", "A picture is a PNG or JPEG file."), "avatar")
	default:
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, roster.MaxAvatarUpload+1)); err != nil {
			return err
		}
	}
	ct, out, err := processAvatar(data)
	if err != nil {
		return p.profileFail(w, r, err, "avatar")
	}
	if err := p.Avatars.SetAvatar(r.Context(), &roster.Avatar{UserID: a.User.ID, ContentType: ct, Data: out}); err != nil {
		return err
	}
	return p.redirect(w, r, "/profile", "flash.avatar_saved", 0)
}

// handleAvatarDelete removes the signed-in user's avatar.
func (p *Panel) handleAvatarDelete(w http.ResponseWriter, r *http.Request) error {
	if err := notImpersonated(r); err != nil {
		return err
	}
	if err := p.Avatars.DeleteAvatar(r.Context(), state(r).actor.User.ID); err != nil {
		return err
	}
	return p.redirect(w, r, "/profile", "flash.avatar_removed", 0)
}

// handleAvatar serves a user's avatar to a signed-in user who may see that
// user: themselves, or anyone in their scope with users.view or
// audit.view (comments in the event log show their authors' avatars).
// Versioned URLs are cached privately for a year.
func (p *Panel) handleAvatar(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Avatar not found.")
	}
	a := state(r).actor
	scope := a.Scope
	if id != a.User.ID && !a.Can(roster.PermUsersView) && !a.Can(roster.PermAuditView) {
		return roster.Errorf(roster.ENOTFOUND, "Avatar not found.")
	}
	if id == a.User.ID {
		scope = roster.Scope{All: true}
	}
	av, err := p.Avatars.Avatar(r.Context(), scope, id)
	if err != nil {
		return err
	}
	etag := `"` + strconv.FormatInt(av.UpdatedAt.UnixNano(), 36) + `"`
	h := w.Header()
	h.Set("Content-Type", av.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("ETag", etag)
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(av.Data))
	return nil
}

// avatarVersions answers the avatar versions of users, logging failures:
// a missing picture falls back to initials.
func (p *Panel) avatarVersions(ctx context.Context, ids []int64) map[int64]int64 {
	if p.Avatars == nil || len(ids) == 0 {
		return map[int64]int64{}
	}
	m, err := p.Avatars.AvatarVersions(ctx, ids)
	if err != nil {
		p.Logger.ErrorContext(ctx, "avatar versions", "err", err)
		return map[int64]int64{}
	}
	return m
}

// avatarURL is the versioned URL of a user's avatar, or "" for initials.
func avatarURL(id, version int64) string {
	if version == 0 {
		return ""
	}
	return "/avatars/" + strconv.FormatInt(id, 10) + "?v=" + strconv.FormatInt(version, 36)
}

// initials are the fallback of a missing avatar: the first letters of the
// first and last words of a name.
func initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return "?"
	}
	first := []rune(words[0])[:1]
	if len(words) == 1 {
		return strings.ToUpper(string(first))
	}
	last := []rune(words[len(words)-1])[:1]
	return strings.ToUpper(string(first) + string(last))
}

// itoa formats an int.
func itoa(n int) string { return strconv.Itoa(n) }

// browserName guesses a short name for a user agent.
func browserName(ua string) string {
	for _, b := range []struct{ key, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"YaBrowser", "Yandex Browser"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.key) {
			return b.name
		}
	}
	if ua == "" {
		return "—"
	}
	if len(ua) > 40 {
		return ua[:40] + "…"
	}
	return ua
}

// pageCredentials fills the layout's idle timeout and avatar.
func (p *Panel) pageCredentials(r *http.Request, st *reqState, pg *page) {
	if st.session != nil {
		pg.idle = st.session.IdleTimeout
	}
	if st.actor != nil && st.actor.User != nil {
		pg.Avatar = avatarURL(st.actor.User.ID, p.avatarVersions(r.Context(), []int64{st.actor.User.ID})[st.actor.User.ID])
	}
	ctx := r.Context()
	seen := map[int64]int64{}
	pg.avatarOf = func(id int64) int64 {
		v, ok := seen[id]
		if !ok {
			v = p.avatarVersions(ctx, []int64{id})[id]
			seen[id] = v
		}
		return v
	}
}

// avatarRef is a picture or the initials standing in for it.
type avatarRef struct {
	URL      string
	Initials string
}

// AvatarFor is the avatar of a user shown beside their words (comments in
// the event log); deleted authors get initials.
func (pg *page) AvatarFor(id int64, name string) avatarRef {
	ref := avatarRef{Initials: initials(name)}
	if pg.avatarOf != nil && id > 0 {
		ref.URL = avatarURL(id, pg.avatarOf(id))
	}
	return ref
}

// Initials are the signed-in user's initials, the avatar's fallback.
func (pg *page) Initials() string { return initials(pg.Actor.User.DisplayName()) }
