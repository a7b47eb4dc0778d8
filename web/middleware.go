package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

// securityHeaders sets headers every response carries, and the stricter
// ones for HTML pages and API answers.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/healthz" {
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

type addressKey struct{}

// clientAddress records the client's address: the peer's, or, when the
// peer is a trusted proxy, the nearest X-Forwarded-For hop that is not one
// (roster.ClientAddr).
func (s *Server) clientAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := s.remoteAddr(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), addressKey{}, addr)))
	})
}

func (s *Server) remoteAddr(r *http.Request) string {
	xff := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
	if a := roster.ClientAddr(r.RemoteAddr, xff, s.TrustedProxies); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

// addressOf is the client address found by clientAddress.
func addressOf(r *http.Request) string {
	a, _ := r.Context().Value(addressKey{}).(string)
	return a
}

// limitBody bounds every request body.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.MaxBodyBytes
		if r.URL.Path == "/api/v1/users/import" {
			limit = s.MaxImportBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500 problem.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.renderError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// queryParams reads and checks a request's query string: unknown names
// and malformed values become per-field validation errors.
type queryParams struct {
	vals url.Values
	v    roster.Validation
}

// newQuery reads r's query and refuses names not in allowed, and names
// and values that are not one line of text Roster accepts (roster.CheckText).
func newQuery(r *http.Request, allowed ...string) *queryParams {
	q := &queryParams{vals: r.URL.Query()}
	known := map[string]bool{}
	for _, a := range allowed {
		known[a] = true
	}
	for name, vs := range q.vals {
		if code, msg := roster.CheckText(name, roster.SingleLine); code != "" {
			q.v.Add(roster.SafeText(name), code, "A query parameter's name: "+msg)
			continue
		}
		// A query value is always one line: an ID, a choice, a search.
		for _, val := range vs {
			if code, msg := roster.CheckText(val, roster.SingleLine); code != "" {
				q.v.Add(name, code, msg)
				break
			}
		}
		switch {
		case q.v.Has(name):
		case !known[name]:
			q.v.Add(name, "unknown_parameter", fmt.Sprintf("Unknown query parameter %q; this endpoint accepts: %s.", name, strings.Join(allowed, ", ")))
		case len(vs) > 1:
			q.v.Add(name, "repeated_parameter", fmt.Sprintf("Give %s once.", name))
		}
	}
	return q
}

// checkFormText adds a problem for each form field whose name or value is
// not text Roster accepts (roster.CheckText; values may be multi-line).
func checkFormText(v *roster.Validation, form url.Values) {
	for name, vals := range form {
		if code, msg := roster.CheckText(name, roster.SingleLine); code != "" {
			v.Add(roster.SafeText(name), code, msg)
			continue
		}
		for _, val := range vals {
			if !roster.ValidateTextKind(v, name, val, roster.MultiLine) {
				break
			}
		}
	}
}

// str returns a parameter's value, or "".
func (q *queryParams) str(name string) string { return q.vals.Get(name) }

// id returns a positive integer parameter, or nil when absent.
func (q *queryParams) id(name string) *int64 {
	s := q.vals.Get(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		q.v.Add(name, "invalid_id", name+" must be a positive integer.")
		return nil
	}
	return &n
}

// limit returns the page size, 0 when absent.
func (q *queryParams) limit() int {
	s := q.vals.Get("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > roster.MaxPageSize {
		q.v.Add("limit", "out_of_range", fmt.Sprintf("limit must be an integer from 1 to %d.", roster.MaxPageSize))
		return 0
	}
	return n
}

// boolean returns a true/false parameter, false when absent.
func (q *queryParams) boolean(name string) bool {
	s := q.vals.Get(name)
	if s == "" {
		return false
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.v.Add(name, "invalid_boolean", name+" must be true or false.")
	}
	return b
}

// time returns an RFC 3339 time parameter, nil when absent.
func (q *queryParams) time(name string) *time.Time {
	s := q.vals.Get(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.v.Add(name, "invalid_time", name+" must be an RFC 3339 time, like 2026-01-31T08:00:00Z.")
		return nil
	}
	return &t
}

// err returns the collected problems, or nil.
func (q *queryParams) err() error { return q.v.Err() }
