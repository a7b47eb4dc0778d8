package panel

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
)

//go:embed templates
var templateFS embed.FS

// parseTemplates parses every page once: each page file is parsed into a
// clone of the layout and partials, so pages may define the same blocks.
func parseTemplates(static *staticFiles) map[string]*template.Template {
	funcs := template.FuncMap{
		"asset": static.URL,
		"join":  strings.Join,
		"contains": func(list []int64, id int64) bool {
			for _, x := range list {
				if x == id {
					return true
				}
			}
			return false
		},
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
	}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout/*.html"))
	pages := map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, name))
		pages[strings.TrimSuffix(strings.TrimPrefix(name, "templates/pages/"), ".html")] = t
	}
	return pages
}

// handler is a panel handler; an error it returns is rendered as a page.
type handler func(w http.ResponseWriter, r *http.Request) error

// reqState is what the middleware learned about a request.
type reqState struct {
	lang    string
	actor   *roster.Actor
	session *roster.Session
	token   string
	csrf    string
}

type stateKey struct{}

func state(r *http.Request) *reqState {
	if s, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return s
	}
	return &reqState{lang: i18n.Default}
}

func withState(r *http.Request, s *reqState) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, s))
}

// page is the part of every view the layout reads. Page views embed it.
type page struct {
	Lang       string
	Title      string
	Nav        string
	Actor      *roster.Actor
	CSRF       string
	Flash      string
	FlashError bool
	// Return is the current path and query, where the language switch returns.
	Return string
	Now    time.Time
	// idle is the session's idle timeout, for the idle-logout warning.
	idle time.Duration
	// Avatar is the signed-in user's avatar URL, or "" for initials.
	Avatar string
	// avatarOf answers a user's avatar version (0: none), memoized.
	avatarOf func(id int64) int64
}

// T translates a message key.
func (pg *page) T(key string, args ...any) string { return i18n.T(pg.Lang, key, args...) }

// P translates a counted message in the right plural form.
func (pg *page) P(key string, n int) string { return i18n.Plural(pg.Lang, key, n) }

// Can reports whether the signed-in user holds a permission.
func (pg *page) Can(perm string) bool { return pg.Actor.Can(roster.Permission(perm)) }

// Date formats a time as a date and time in the page's language.
func (pg *page) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if pg.Lang == i18n.RU {
		return t.Local().Format("02.01.2006 15:04")
	}
	return t.Local().Format("Jan 2, 2006 15:04")
}

// DateP formats an optional time.
func (pg *page) DateP(t *time.Time) string {
	if t == nil {
		return pg.T("common.never")
	}
	return pg.Date(*t)
}

// Status translates a user status.
func (pg *page) Status(s roster.UserStatus) string { return pg.T("status." + string(s)) }

// EventType translates an event type.
func (pg *page) EventType(t string) string {
	if i18n.Has(pg.Lang, "event."+t) {
		return pg.T("event." + t)
	}
	return t
}

// Perm translates a permission's name.
func (pg *page) Perm(p roster.Permission) string { return pg.T("perm." + string(p)) }

// RoleName translates the names of the built-in roles; custom names stay.
func (pg *page) RoleName(key, name string) string {
	for _, r := range append(append([]roster.RoleExport{}, roster.SystemRoles...), roster.DefaultRoles...) {
		if r.Key == key && r.Name == name {
			return pg.T("role." + key)
		}
	}
	return name
}

// newPage builds the common part of a view and consumes the flash message.
func (p *Panel) newPage(w http.ResponseWriter, r *http.Request, title, nav string) *page {
	st := state(r)
	pg := &page{Lang: st.lang, Title: i18n.T(st.lang, title), Nav: nav, Actor: st.actor,
		CSRF: st.csrf, Return: r.URL.RequestURI(), Now: p.Clock()}
	p.pageCredentials(r, st, pg)
	if c, err := r.Cookie(p.cookieName(flashCookie)); err == nil {
		var f flash
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil && json.Unmarshal(b, &f) == nil &&
			strings.HasPrefix(f.Key, "flash.") {
			if f.N > 0 {
				pg.Flash = i18n.Plural(st.lang, f.Key, f.N)
			} else {
				pg.Flash = i18n.T(st.lang, f.Key)
			}
			pg.FlashError = f.Error
		}
		p.clearCookie(w, flashCookie)
	}
	return pg
}

// render executes a page template into a buffer, so that a template error
// is a clean 500 and never half a page.
func (p *Panel) render(w http.ResponseWriter, r *http.Request, status int, name string, view any) error {
	t, ok := p.pages[name]
	if !ok {
		return errors.New("panel: no page " + name)
	}
	tmpl := "layout"
	if r.URL.Query().Get("fragment") != "" && t.Lookup("fragment") != nil {
		tmpl = "fragment"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, view); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

type errorView struct {
	*page
	Status  int
	Message string
	// Retry is where "try again" goes: the page itself, for a GET.
	Retry string
}

// retryAfter is the Retry-After (seconds) of a 503 page: the store gave up
// on a change only because the database stayed busy.
const retryAfter = "1"

// renderError shows an error page; internal details are logged, never shown.
func (p *Panel) renderError(w http.ResponseWriter, r *http.Request, err error) {
	st := state(r)
	if c, ok := p.Users.(roster.ErrorClassifier); ok && roster.ErrorCode(err) == roster.EINTERNAL {
		// The database could not be reached: 503 with Retry-After, not 500
		// (see web's classifyError).
		if err = c.ClassifyError(err); roster.ErrorCode(err) == roster.EUNAVAILABLE && r.Context().Err() == nil {
			p.Logger.WarnContext(r.Context(), "panel: database unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	code := roster.ErrorCode(err)
	status := map[string]int{
		roster.ENOTFOUND: http.StatusNotFound, roster.EFORBIDDEN: http.StatusForbidden,
		roster.EINVALID: http.StatusUnprocessableEntity, roster.ECONFLICT: http.StatusConflict,
		roster.ERATELIMIT: http.StatusTooManyRequests, roster.EUNAUTHORIZED: http.StatusUnauthorized,
		roster.EUNAVAILABLE: http.StatusServiceUnavailable,
	}[code]
	if (status == 0 || status >= 500) && r.Context().Err() != nil {
		// The browser went away while the request ran: its transaction
		// was rolled back; not a server error (see web.StatusClientClosedRequest).
		p.Logger.Info("panel: client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(499)
		return
	}
	if status == 0 {
		status = http.StatusInternalServerError
		p.Logger.ErrorContext(r.Context(), "panel", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == roster.EUNAUTHORIZED {
		p.redirectSignIn(w, r)
		return
	}
	pg := p.newPage(w, r, "error.title", "")
	v := &errorView{page: pg, Status: status, Message: errorText(st.lang, err)}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			v.Retry = r.URL.RequestURI()
		}
	}
	if rerr := p.render(w, r, status, "error", v); rerr != nil {
		p.Logger.ErrorContext(r.Context(), "panel: render error page", "err", rerr)
		http.Error(w, http.StatusText(status), status)
	}
}

// errorText is the user-facing text of an error in lang: the domain's own
// message in English, a translation by code otherwise.
func errorText(lang string, err error) string {
	var e *roster.Error
	if !errors.As(err, &e) || e.Code == roster.EINTERNAL {
		return i18n.T(lang, "error.internal")
	}
	// The generic "Some fields are invalid." says less than the first
	// field's own problem.
	generic := len(e.Fields) > 0 && e.Message == i18n.T(i18n.EN, "error.invalid")
	if lang == i18n.EN && e.Message != "" && !generic {
		return e.Message
	}
	if len(e.Fields) > 0 {
		if lang == i18n.EN {
			return e.Fields[0].Message
		}
		return fieldText(lang, e.Fields[0])
	}
	return i18n.T(lang, "error."+e.Code)
}

// fieldText translates a field error by its field and code (a text made
// for that field, like "Choose at least one role."), else by its code,
// falling back to its message.
func fieldText(lang string, f roster.FieldError) string {
	if key := "field." + f.Field + "." + f.Code; f.Field != "" && i18n.Has(lang, key) {
		return i18n.T(lang, key, f.Args...)
	}
	if i18n.Has(lang, "field."+f.Code) {
		return i18n.T(lang, "field."+f.Code, f.Args...)
	}
	return f.Message
}

// formErrors maps form fields to translated messages; Other holds the
// message of an error that names no field.
type formErrors struct {
	Fields map[string]string
	Other  string
}

// For returns the message for one field.
func (f formErrors) For(field string) string { return f.Fields[field] }

// Any reports whether there is any error.
func (f formErrors) Any() bool { return (len(f.Fields) > 0 || f.Other != "") }

// newFormErrors turns a domain error into form errors; ok is false for an
// error a form cannot show (internal, not found, forbidden), which the
// caller returns instead.
func newFormErrors(lang string, err error) (fe *formErrors, ok bool) {
	var e *roster.Error
	if !errors.As(err, &e) || (e.Code != roster.EINVALID && e.Code != roster.ECONFLICT) {
		return nil, false
	}
	fe = &formErrors{Fields: map[string]string{}}
	for _, f := range e.Fields {
		if _, dup := fe.Fields[f.Field]; !dup {
			fe.Fields[f.Field] = fieldText(lang, f)
		}
	}
	if len(e.Fields) == 0 {
		fe.Other = errorText(lang, err)
	}
	return fe, true
}

// formStatus is the status of a form shown again with its errors: 409 for
// a conflict (a taken e-mail), 422 for invalid input.
func formStatus(err error) int {
	if roster.ErrorCode(err) == roster.ECONFLICT {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// passwordFormErrors is newFormErrors for a form with a new password: a
// too-short password is explained with the company's minimum length.
func passwordFormErrors(lang string, err error, minLen int) (*formErrors, bool) {
	fe, ok := newFormErrors(lang, err)
	if !ok {
		return fe, ok
	}
	var e *roster.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			if f.Code == "password_too_short" {
				fe.Fields[f.Field] = i18n.T(lang, "field.password_too_short_n", minLen)
			}
		}
	}
	return fe, true
}

// flash is a one-shot confirmation shown by the next page. It holds only a
// catalog key and a count, so a forged cookie can show nothing but our text.
type flash struct {
	Key   string `json:"k"`
	N     int    `json:"n,omitempty"`
	Error bool   `json:"e,omitempty"`
}

// redirect sends the browser on with a flash message (key may be "").
func (p *Panel) redirect(w http.ResponseWriter, r *http.Request, to, key string, n int) error {
	if key != "" {
		b, _ := json.Marshal(flash{Key: key, N: n})
		p.setCookie(w, flashCookie, base64.RawURLEncoding.EncodeToString(b), 0)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// localPath returns s when it is a path on this site, else fallback: a
// return address never leads elsewhere.
func localPath(s, fallback string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return fallback
	}
	if u, err := url.Parse(s); err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return s
}
