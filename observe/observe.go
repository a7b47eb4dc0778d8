// Package observe gives every HTTP request an id, logs it once with its
// route pattern, status, duration and user, and counts it in Roster's
// Prometheus metrics (github.com/prometheus/client_golang). The request
// middleware, the log handler that stamps request ids on log lines and the
// metric collectors live here, apart from the handlers they observe.
package observe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-app/roster"
)

// HeaderRequestID carries the request id on every response, and on a
// request from a trusted proxy.
const HeaderRequestID = "X-Request-Id"

// Info is what is learned about a request while it is served: its id, the
// route pattern that matched and the signed-in user. The middleware puts
// it in the request's context; the muxes and the authentication fill it.
type Info struct {
	ID string

	mu     sync.Mutex
	route  string
	userID int64
}

type infoKey struct{}

// FromContext returns the request's Info, or nil outside a request.
func FromContext(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// RequestID returns the id of the request of ctx, or "".
func RequestID(ctx context.Context) string {
	if i := FromContext(ctx); i != nil {
		return i.ID
	}
	return ""
}

// SetUser records the signed-in user of the request of ctx.
func SetUser(ctx context.Context, userID int64) {
	if i := FromContext(ctx); i != nil {
		i.mu.Lock()
		i.userID = userID
		i.mu.Unlock()
	}
}

// setRoute records the route pattern; the innermost mux wins, so it is
// called on the way in and the last call is the most specific pattern.
func setRoute(ctx context.Context, pattern string) {
	if i := FromContext(ctx); i != nil && pattern != "" {
		i.mu.Lock()
		i.route = pattern
		i.mu.Unlock()
	}
}

func (i *Info) snapshot() (route string, userID int64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.route, i.userID
}

// Routes wraps a ServeMux so that the pattern it matches ("GET
// /api/v1/users/{id}") is recorded for the request's log line and metrics,
// never the raw path with its ids.
func Routes(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			setRoute(r.Context(), pattern)
		}
		mux.ServeHTTP(w, r)
	})
}

// Options configure Middleware.
type Options struct {
	// Logger receives one line per request; discarded when nil.
	Logger *slog.Logger
	// Metrics counts requests; nil counts nothing.
	Metrics *Metrics
	// TrustedProxies are the peers whose X-Request-Id (and
	// X-Forwarded-For) is believed.
	TrustedProxies []netip.Prefix
}

// Middleware gives each request an id (X-Request-Id from a trusted proxy
// when well formed, else a new one), answers it in X-Request-Id, and after
// the request logs one line (method, path, status, duration, client
// address, route pattern, user id, request id) and records its duration.
// Nested uses observe a request once: the outermost one does the work.
func Middleware(o Options, next http.Handler) http.Handler {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = slog.New(LogHandler(logger.Handler()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if FromContext(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		info := &Info{ID: requestID(r, o.TrustedProxies)}
		w.Header().Set(HeaderRequestID, info.ID)
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			// A handler that panicked with http.ErrAbortHandler still
			// gets its line; the panic goes on to net/http.
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			route, userID := info.snapshot()
			if route == "" {
				route = "unmatched"
			}
			addr := r.RemoteAddr
			if a := roster.ClientAddr(r.RemoteAddr, strings.Join(r.Header.Values("X-Forwarded-For"), ","), o.TrustedProxies); a.IsValid() {
				addr = a.String()
			}
			// The query string is left out: it may carry a token.
			logger.LogAttrs(ctx, levelFor(status), "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
				slog.Duration("duration", d), slog.String("addr", addr), slog.String("route", route),
				slog.Int64("user_id", userID), slog.Int("bytes", sw.bytes))
			o.Metrics.observeRequest(route, status, d)
		}()
		next.ServeHTTP(sw, r)
	})
}

// levelFor logs server errors as errors and everything else as info.
func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// requestID takes a proxy's id when the peer is trusted and the id is
// 1–128 characters of letters, digits and ._:-; otherwise it makes one.
func requestID(r *http.Request, trusted []netip.Prefix) string {
	if id := r.Header.Get(HeaderRequestID); id != "" && validID(id) {
		if peer := roster.ClientAddr(r.RemoteAddr, "", nil); peer.IsValid() {
			for _, p := range trusted {
				if p.Contains(peer.Unmap()) || p.Contains(peer) {
					return id
				}
			}
		}
	}
	return NewRequestID()
}

func validID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// NewRequestID returns 16 random bytes in hex.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status and size a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusClass is "2xx", "4xx", …
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// LogHandler wraps h so that every record logged with a request's context
// carries its request_id.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(ctxHandler); ok {
		return h
	}
	return ctxHandler{h}
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec = rec.Clone()
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h ctxHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(as)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}
