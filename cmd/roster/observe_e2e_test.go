package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/observe"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestMetricsAndRequestLog runs the real binary with --debug-addr and
// checks the request ids (header, problem body, log line), the request log
// of API and panel requests with route pattern and user id, and /metrics.
func TestMetricsAndRequestLog(t *testing.T) {
	bin := rosterBinary(t)
	dbArgs := []string{"--data", t.TempDir()}
	createRoot(t, bin, dbArgs)
	p := serve(t, bin, append(dbArgs, "--debug-addr", "127.0.0.1:0", "--trusted-proxies", "127.0.0.1"), "ROSTER_LOG_LEVEL=info")
	m := regexp.MustCompile(`Metrics on (http://\S+)/metrics`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no debug address in the output:\n%s", p.stdout.String())
	}
	debug := m[1]

	// A refused sign-in: the problem carries the id of its header.
	req, _ := http.NewRequest("POST", p.base+"/api/v1/auth/login", strings.NewReader(`{"username":"root@example.com","password":"wrong one"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var problem struct {
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
	}
	json.NewDecoder(resp.Body).Decode(&problem)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if problem.Status != 401 || id == "" || problem.RequestID != id {
		t.Fatalf("problem %+v, header id %q", problem, id)
	}

	c := &client{t: t, base: p.base}
	root := c.login("root@example.com", rootPassword)

	// A trusted proxy's id is kept; a malformed one is replaced.
	get := func(path, token, reqID string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", p.base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if reqID != "" {
			req.Header.Set("X-Request-Id", reqID)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if got := get("/api/v1/users/1", root, "lb-42.abc").Header.Get("X-Request-Id"); got != "lb-42.abc" {
		t.Errorf("trusted proxy's id: got %q", got)
	}
	if got := get("/api/v1/me", root, "bad id!").Header.Get("X-Request-Id"); got == "" || strings.Contains(got, "bad") {
		t.Errorf("malformed id kept: %q", got)
	}
	// Panel pages are logged too: a redirect to sign in, a 404 page.
	if resp := get("/users", "", "panel-1"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("X-Request-Id") != "panel-1" {
		t.Errorf("panel page: %d %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	get("/no/such/page", "", "panel-404")

	waitLog := func(re string) {
		t.Helper()
		rx := regexp.MustCompile(re)
		for range 50 {
			if rx.MatchString(p.stderr.String()) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("no log line matching %s in:\n%s", re, p.stderr.String())
	}
	waitLog(`msg=request method=POST path=/api/v1/auth/login status=401 .*route="POST /api/v1/auth/login" user_id=0 .*request_id=` + id)
	waitLog(`msg=request method=GET path=/api/v1/users/1 status=200 .*route="GET /api/v1/users/\{id\}" user_id=1 .*request_id=lb-42.abc`)
	waitLog(`msg=request method=GET path=/users status=303 .*route="GET /users" user_id=0 .*request_id=panel-1`)
	waitLog(`msg=request method=GET path=/no/such/page status=404 .*request_id=panel-404`)

	body := httpGet(t, debug+"/metrics")
	for _, want := range []string{
		`roster_http_request_duration_seconds_bucket{route="POST /api/v1/auth/login",status_class="4xx",le="+Inf"} 1`,
		`roster_http_request_duration_seconds_count{route="GET /api/v1/users/{id}",status_class="2xx"} 1`,
		`roster_http_request_duration_seconds_count{route="GET /users",status_class="3xx"} 1`,
		`roster_sign_ins_total{outcome="wrong_password"} 1`,
		`roster_sign_ins_total{outcome="success"} 1`,
		`roster_db_open_connections{pool="write"}`,
		`roster_db_max_open_connections{pool="read"}`,
		`roster_jobs_scrape_errors_total 0`,
		`roster_go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "roster_") {
			t.Errorf("metric not named roster_*: %s", line)
		}
	}
	if !strings.Contains(httpGet(t, debug+"/debug/pprof/"), "goroutine") {
		t.Error("no pprof index on the debug address")
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestObservedSignIns: the counters of sign-in outcomes, 2FA failures and
// lockouts follow the store's answers; and the job queue statistics, on
// both engines.
func TestObservedSignIns(t *testing.T) {
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		m := observe.NewMetrics()
		m.WatchJobs(s.JobStats, nil)
		obs := observedStore{Store: s, m: m}
		key := roster.LoginKey("nobody-" + fmt.Sprint(time.Now().UnixNano()))
		for range roster.LoginLockAt {
			if _, err := obs.RecordLoginFailure(ctx, roster.FailedLogin{Key: key, Address: "192.0.2.9", Reason: "wrong_password"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := obs.RecordLoginFailure(ctx, roster.FailedLogin{Key: key, Address: "192.0.2.10", Reason: "wrong_code"}); err != nil {
			t.Fatal(err)
		}
		if err := obs.ClearLoginFailures(ctx, key, 0, "192.0.2.10"); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"email", "email", "notify"} {
			if err := s.EnqueueJob(ctx, &roster.Job{Kind: kind, Payload: []byte(`{}`), RunAt: time.Now().Add(-time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
		got := gather(t, m)
		for name, want := range map[string]float64{
			`roster_sign_ins_total{outcome="wrong_password"}`: float64(roster.LoginLockAt),
			`roster_sign_ins_total{outcome="wrong_code"}`:     1,
			`roster_sign_ins_total{outcome="success"}`:        1,
			`roster_two_factor_failures_total`:                1,
			`roster_lockouts_total{scope="account_address"}`:  1,
			`roster_jobs_queued{kind="email"}`:                2,
			`roster_jobs_queued{kind="notify"}`:               1,
		} {
			if got[name] != want {
				t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
			}
		}
		// The store's clock is the test's, far from now: only its presence.
		if age, ok := got[`roster_jobs_oldest_age_seconds{kind="email"}`]; !ok || age <= 0 {
			t.Errorf("oldest email job age %v", age)
		}
	})
}

// gather reads the registry as "name{labels}" → value.
func gather(t *testing.T, m *observe.Metrics) map[string]float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			name := f.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case mt.Counter != nil:
				out[name] = mt.Counter.GetValue()
			case mt.Gauge != nil:
				out[name] = mt.Gauge.GetValue()
			}
		}
	}
	return out
}
