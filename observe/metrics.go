package observe

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are one process's Prometheus metrics, in a registry of their own
// (no global state). Every name starts with roster_; the Go runtime and
// process metrics are prefixed too.
type Metrics struct {
	Registry *prometheus.Registry

	requests    *prometheus.HistogramVec
	signIns     *prometheus.CounterVec
	lockouts    *prometheus.CounterVec
	mfaFailures prometheus.Counter
}

// NewMetrics makes the registry with the request, sign-in and runtime
// metrics.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "roster_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and status class.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "status_class"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_sign_ins_total",
		Help: "Password and second-factor checks, by outcome: success, or the reason of the refusal (wrong_password, unknown_user, locked, wrong_code, …).",
	}, []string{"outcome"})
	m.lockouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roster_lockouts_total",
		Help: "Accounts locked after failed sign-ins, by scope: account_address (the account from one client address) or account (everywhere).",
	}, []string{"scope"})
	m.mfaFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "roster_two_factor_failures_total",
		Help: "Wrong second-factor codes (TOTP, e-mail or recovery code).",
	})
	m.Registry.MustRegister(m.requests, m.signIns, m.lockouts, m.mfaFailures)
	runtime := prometheus.WrapRegistererWithPrefix("roster_", m.Registry)
	runtime.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeRequest(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, statusClass(status)).Observe(d.Seconds())
}

// SignIn counts one password or second-factor check by outcome.
func (m *Metrics) SignIn(outcome string) {
	if m != nil {
		m.signIns.WithLabelValues(outcome).Inc()
	}
}

// Lockout counts one lock of scope "account_address" or "account".
func (m *Metrics) Lockout(scope string) {
	if m != nil {
		m.lockouts.WithLabelValues(scope).Inc()
	}
}

// TwoFactorFailure counts one wrong second-factor code.
func (m *Metrics) TwoFactorFailure() {
	if m != nil {
		m.mfaFailures.Inc()
	}
}

// JobStats is the queue of one job kind at one moment.
type JobStats struct {
	Kind string
	// Queued are pending or running jobs; Dead ran out of attempts; Held
	// are kept undelivered on purpose.
	Queued, Dead, Held int
	// Oldest is when the oldest queued job was written (zero when none).
	Oldest time.Time
}

// JobSource reads the job queue's statistics (sqlstore.Store.JobStats).
type JobSource func(ctx context.Context) ([]JobStats, error)

// WatchJobs adds the job queue gauges, read from the database at each
// scrape (bounded by a short timeout): queue depth and oldest-job age by
// kind, dead and held jobs by kind. The database is shared, so every
// instance reports the same queue.
func (m *Metrics) WatchJobs(src JobSource, logger *slog.Logger) {
	m.Registry.MustRegister(&jobCollector{src: src, log: logger})
}

var (
	descQueued = prometheus.NewDesc("roster_jobs_queued", "Jobs waiting or running, by kind.", []string{"kind"}, nil)
	descOldest = prometheus.NewDesc("roster_jobs_oldest_age_seconds", "Age of the oldest waiting or running job, by kind (0 when none).", []string{"kind"}, nil)
	descDead   = prometheus.NewDesc("roster_jobs_dead", "Jobs that ran out of attempts and are kept, by kind.", []string{"kind"}, nil)
	descHeld   = prometheus.NewDesc("roster_jobs_held", "Jobs kept undelivered on purpose (e-mail without an SMTP server), by kind.", []string{"kind"}, nil)
	descScrape = prometheus.NewDesc("roster_jobs_scrape_errors_total", "Failed reads of the job queue statistics.", nil, nil)
)

type jobCollector struct {
	src    JobSource
	log    *slog.Logger
	errors float64
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueued
	ch <- descOldest
	ch <- descDead
	ch <- descHeld
	ch <- descScrape
}

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stats, err := c.src(ctx)
	if err != nil {
		c.errors++
		if c.log != nil {
			c.log.Warn("metrics: job statistics", "err", err)
		}
	}
	now := time.Now()
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(s.Queued), s.Kind)
		age := 0.0
		if !s.Oldest.IsZero() {
			age = max(now.Sub(s.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age, s.Kind)
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(s.Dead), s.Kind)
		ch <- prometheus.MustNewConstMetric(descHeld, prometheus.GaugeValue, float64(s.Held), s.Kind)
	}
	ch <- prometheus.MustNewConstMetric(descScrape, prometheus.CounterValue, c.errors)
}

// WatchPools adds the connection pool gauges and counters of the named
// database pools (on SQLite "write" and "read", on PostgreSQL one pool).
func (m *Metrics) WatchPools(pools func() map[string]*sql.DB) {
	m.Registry.MustRegister(&poolCollector{pools: pools})
}

var (
	descPoolMax     = prometheus.NewDesc("roster_db_max_open_connections", "Most connections the pool may open.", []string{"pool"}, nil)
	descPoolOpen    = prometheus.NewDesc("roster_db_open_connections", "Connections open, in use or idle.", []string{"pool"}, nil)
	descPoolInUse   = prometheus.NewDesc("roster_db_in_use_connections", "Connections in use.", []string{"pool"}, nil)
	descPoolIdle    = prometheus.NewDesc("roster_db_idle_connections", "Idle connections.", []string{"pool"}, nil)
	descPoolWaits   = prometheus.NewDesc("roster_db_wait_count_total", "Times a query waited for a free connection.", []string{"pool"}, nil)
	descPoolWaitDur = prometheus.NewDesc("roster_db_wait_duration_seconds_total", "Time spent waiting for a free connection.", []string{"pool"}, nil)
	descPoolClosed  = prometheus.NewDesc("roster_db_closed_connections_total", "Connections closed (idle or too old).", []string{"pool"}, nil)
)

type poolCollector struct{ pools func() map[string]*sql.DB }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPoolMax, descPoolOpen, descPoolInUse, descPoolIdle, descPoolWaits, descPoolWaitDur, descPoolClosed} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, db := range c.pools() {
		s := db.Stats()
		ch <- prometheus.MustNewConstMetric(descPoolMax, prometheus.GaugeValue, float64(s.MaxOpenConnections), name)
		ch <- prometheus.MustNewConstMetric(descPoolOpen, prometheus.GaugeValue, float64(s.OpenConnections), name)
		ch <- prometheus.MustNewConstMetric(descPoolInUse, prometheus.GaugeValue, float64(s.InUse), name)
		ch <- prometheus.MustNewConstMetric(descPoolIdle, prometheus.GaugeValue, float64(s.Idle), name)
		ch <- prometheus.MustNewConstMetric(descPoolWaits, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(descPoolWaitDur, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(descPoolClosed, prometheus.CounterValue, float64(s.MaxIdleClosed+s.MaxIdleTimeClosed+s.MaxLifetimeClosed), name)
	}
}

// DebugHandler serves /metrics (Prometheus text format) and the pprof
// profiles under /debug/pprof/. It belongs on a private address only.
func DebugHandler(m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
