package panel

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
)

// maxBodySize bounds a form post (a roles import file is the largest).
const maxBodySize = 2 << 20

// maxMultipartMemory is what a multipart form may keep in memory; the
// body limit is lower, so nothing goes to temporary files.
const maxMultipartMemory = 8 << 20

// bodyLimit is the largest body a request to path may send.
func bodyLimit(path string) int64 {
	if path == "/profile/avatar" {
		return roster.MaxAvatarUpload + 64<<10 // the picture and the form around it
	}
	if path == "/users/import" {
		return 2*maxImportUpload + 64<<10 // the file, or the checked file sent back to confirm
	}
	return maxBodySize
}

// parseForm bounds the body of an unsafe request and parses the query and
// the form, so that a form over its limit or unreadable is told apart
// from an expired one (issue 11, finding 10).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r.URL.Path))
	}
	// ParseMultipartForm would drop ParseForm's error for a form that is
	// not multipart, so ParseForm comes first.
	if err := r.ParseForm(); err != nil {
		return err
	}
	err := r.ParseMultipartForm(maxMultipartMemory)
	if errors.Is(err, http.ErrNotMultipart) {
		err = nil
	}
	return err
}

// formError renders a form parseForm could not read: an avatar over its
// limit on the profile page, any other form over its limit as 413, an
// unreadable one as 400. Nothing is written, so no CSRF check is needed.
func (p *Panel) formError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) && r.URL.Path == "/profile/avatar" && state(r).actor != nil:
		if rerr := p.profileFail(w, r, errAvatar("avatar_too_large", "A picture is at most 3 MB."), "avatar"); rerr != nil {
			p.renderError(w, r, rerr)
		}
	case errors.As(err, &mbe):
		p.renderStatus(w, r, http.StatusRequestEntityTooLarge, "error.form_too_large")
	default:
		p.renderStatus(w, r, http.StatusBadRequest, "error.form_unreadable")
	}
}

// renderStatus shows the error page with a status no domain code maps to.
func (p *Panel) renderStatus(w http.ResponseWriter, r *http.Request, status int, key string) {
	v := &errorView{page: p.newPage(w, r, "error.title", ""), Status: status, Message: i18n.T(state(r).lang, key)}
	if err := p.render(w, r, status, "error", v); err != nil {
		p.Logger.ErrorContext(r.Context(), "panel: render error page", "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// formTextError is a 422 naming each query parameter or form field whose
// name or value is not text Roster accepts (roster.CheckText): values may
// be multi-line here; the domain's validators hold single-line fields to
// one line. Nil when all is well.
func formTextError(r *http.Request) error {
	var v roster.Validation
	check := func(form url.Values) {
		for name, vals := range form {
			if code, msg := roster.CheckText(name, roster.SingleLine); code != "" {
				v.Add(roster.SafeText(name), code, msg)
				continue
			}
			for _, val := range vals {
				if !roster.ValidateTextKind(&v, name, val, roster.MultiLine) {
					break
				}
			}
		}
	}
	check(r.Form)
	if len(v.Fields) == 0 {
		return nil
	}
	f := v.Fields[0]
	return &roster.Error{Code: roster.EINVALID, Message: fmt.Sprintf("%s (field %q)", f.Message, f.Field), Fields: v.Fields}
}
