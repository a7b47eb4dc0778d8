// Package bench is Roster's load driver (`roster bench`): it drives a
// running server's real HTTP API — one user, the users list, a deep page by
// cursor, search, update, create, sign-in — at a given concurrency for a
// given time, and reports requests per second, the median and 99th
// percentile latency and the errors of each kind, with the server's peak
// resident memory when it runs on the same machine. It talks to the URL it
// is given and nothing else, and stops by itself.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Kinds are the request kinds, in the order they run.
var Kinds = []string{"get", "list", "deep", "search", "update", "create", "signin"}

// Options configure a run.
type Options struct {
	// URL is the server's base URL, such as http://127.0.0.1:8080.
	URL string
	// Username and Password sign in; the account needs users.view, and
	// users.edit and users.create for update and create.
	Username, Password string
	// Kinds are the kinds to run, each with its concurrency.
	Kinds []Kind
	// Duration is how long each kind runs.
	Duration time.Duration
	// CompanyID narrows the users (and the created ones) to a company.
	CompanyID int64
	// PID is the server's process ID on this machine, for its peak RSS; 0
	// means not measured.
	PID int
	// Client is the HTTP client; nil means one sized for the run.
	Client *http.Client
}

// Kind is one request kind and the number of clients sending it at once.
type Kind struct {
	Name        string
	Concurrency int
}

// ParseKinds reads "get:64,update:8,search" (a kind without a number takes
// def clients).
func ParseKinds(s string, def int) ([]Kind, error) {
	var out []Kind
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, n, hasN := strings.Cut(part, ":")
		k := Kind{Name: name, Concurrency: def}
		if !slices.Contains(Kinds, name) {
			return nil, fmt.Errorf("unknown kind %q; the kinds are %s", name, strings.Join(Kinds, ", "))
		}
		if hasN {
			c, err := strconv.Atoi(n)
			if err != nil || c < 1 || c > 4096 {
				return nil, fmt.Errorf("kind %s: the concurrency %q is not a number from 1 to 4096", name, n)
			}
			k.Concurrency = c
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("no kinds given")
	}
	return out, nil
}

// Result is the outcome of one kind.
type Result struct {
	Kind        string
	Concurrency int
	Requests    int
	Errors      int
	// FirstError describes the first failed request.
	FirstError string
	Elapsed    time.Duration
	P50, P99   time.Duration
}

// RPS is the requests answered per second.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Report is a whole run.
type Report struct {
	Results []Result
	// PeakRSS is the server's peak resident memory in bytes (0: unknown).
	PeakRSS int64
}

// run is the state shared by a run's workers.
type run struct {
	o      Options
	client *http.Client
	base   *url.URL
	token  string
	ids    []int64
	terms  []string
	roleID int64
	seq    atomic.Int64
	nonce  string
}

// Run signs in, looks the data over, runs each kind and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	base, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("the URL %q is not an http(s) address", o.URL)
	}
	if o.Duration <= 0 {
		return nil, errors.New("the duration must be positive")
	}
	maxConc := 1
	for _, k := range o.Kinds {
		maxConc = max(maxConc, k.Concurrency)
	}
	r := &run{o: o, base: base, client: o.Client, nonce: strconv.FormatInt(time.Now().UnixNano(), 36)}
	if r.client == nil {
		r.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: maxConc * 2, MaxIdleConnsPerHost: maxConc * 2, IdleConnTimeout: time.Minute,
			// Only the given URL: no proxy from the environment.
			Proxy: nil,
		}}
	}
	if r.token, err = r.signIn(ctx); err != nil {
		return nil, err
	}
	if err := r.discover(ctx); err != nil {
		return nil, err
	}
	rep := &Report{}
	peak := newPeakRSS(o.PID)
	defer peak.stop()
	for _, k := range o.Kinds {
		if ctx.Err() != nil {
			break
		}
		rep.Results = append(rep.Results, r.runKind(ctx, k))
	}
	rep.PeakRSS = peak.stop()
	return rep, nil
}

// call sends one request with the run's token and decodes a JSON answer
// into out (when not nil).
func (r *run) call(ctx context.Context, method, path string, body, out any) (int, error) {
	return r.callAs(ctx, r.token, method, path, body, out)
}

// callAs is call with another token ("" for none).
func (r *run) callAs(ctx context.Context, token, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base.String()+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

type loginAnswer struct {
	Token  string `json:"token"`
	Status string `json:"status"`
}

func (r *run) signIn(ctx context.Context) (string, error) {
	var a loginAnswer
	if _, err := r.callAs(ctx, "", "POST", "/api/v1/auth/login", map[string]string{"username": r.o.Username, "password": r.o.Password}, &a); err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	if a.Token == "" {
		return "", errors.New("sign in: the server asks for a second factor or a new password first; use an account without either")
	}
	return a.Token, nil
}

type userPage struct {
	Items []struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// listPath is the users list of the run's company.
func (r *run) listPath(extra url.Values) string {
	q := url.Values{}
	if r.o.CompanyID != 0 {
		q.Set("company_id", strconv.FormatInt(r.o.CompanyID, 10))
	}
	for k, v := range extra {
		q[k] = v
	}
	return "/api/v1/users?" + q.Encode()
}

// discover collects user IDs (for get and update), three-letter search
// terms from their names, and a role for create.
func (r *run) discover(ctx context.Context) error {
	cursor := ""
	seen := map[string]bool{}
	for page := 0; page < 10; page++ {
		q := url.Values{"limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p userPage
		if _, err := r.call(ctx, "GET", r.listPath(q), nil, &p); err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range p.Items {
			r.ids = append(r.ids, u.ID)
			for _, name := range []string{u.LastName, u.FirstName} {
				if rs := []rune(strings.ToLower(name)); len(rs) >= 3 {
					if t := string(rs[:3]); !seen[t] {
						seen[t] = true
						r.terms = append(r.terms, t)
					}
				}
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(r.ids) == 0 {
		return errors.New("the account sees no users: nothing to measure")
	}
	if len(r.terms) == 0 {
		r.terms = []string{"son", "ann", "iva"}
	}
	var roles struct {
		Items []struct {
			ID     int64  `json:"id"`
			Key    string `json:"key"`
			System bool   `json:"system"`
		} `json:"items"`
	}
	path := "/api/v1/roles"
	if r.o.CompanyID != 0 {
		path += "?company_id=" + strconv.FormatInt(r.o.CompanyID, 10)
	}
	if _, err := r.call(ctx, "GET", path, nil, &roles); err != nil {
		return fmt.Errorf("list roles: %w", err)
	}
	for _, ro := range roles.Items {
		if ro.Key == "employee" || (r.roleID == 0 && !ro.System) {
			r.roleID = ro.ID
		}
	}
	return nil
}

// worker is one client's state.
type worker struct {
	rng    *rand.Rand
	cursor string
}

// request sends one request of kind.
func (r *run) request(ctx context.Context, w *worker, kind string) error {
	id := r.ids[w.rng.IntN(len(r.ids))]
	var err error
	switch kind {
	case "get":
		_, err = r.call(ctx, "GET", "/api/v1/users/"+strconv.FormatInt(id, 10), nil, nil)
	case "list":
		_, err = r.call(ctx, "GET", r.listPath(url.Values{"limit": {"50"}}), nil, nil)
	case "deep":
		q := url.Values{"limit": {"50"}}
		if w.cursor != "" {
			q.Set("cursor", w.cursor)
		}
		var p userPage
		_, err = r.call(ctx, "GET", r.listPath(q), nil, &p)
		w.cursor = p.NextCursor
	case "search":
		_, err = r.call(ctx, "GET", r.listPath(url.Values{"q": {r.terms[w.rng.IntN(len(r.terms))]}, "limit": {"50"}}), nil, nil)
	case "update":
		_, err = r.call(ctx, "PATCH", "/api/v1/users/"+strconv.FormatInt(id, 10),
			map[string]string{"position": "Shift " + strconv.Itoa(w.rng.IntN(1000))}, nil)
	case "create":
		body := map[string]any{"auth_method": "email", "role_ids": []int64{r.roleID},
			"email": fmt.Sprintf("bench-%s-%d@bench.example", r.nonce, r.seq.Add(1))}
		if r.o.CompanyID != 0 {
			body["company_id"] = r.o.CompanyID
		}
		_, err = r.call(ctx, "POST", "/api/v1/users", body, nil)
	case "signin":
		var a loginAnswer
		_, err = r.callAs(ctx, "", "POST", "/api/v1/auth/login", map[string]string{"username": r.o.Username, "password": r.o.Password}, &a)
		if err == nil && a.Token != "" {
			// Sign out again so that sessions do not pile up.
			_, err = r.callAs(ctx, a.Token, "POST", "/api/v1/auth/logout", nil, nil)
		}
	}
	return err
}

// runKind runs one kind with its clients for the duration.
func (r *run) runKind(ctx context.Context, k Kind) Result {
	ctx, cancel := context.WithTimeout(ctx, r.o.Duration)
	defer cancel()
	res := Result{Kind: k.Name, Concurrency: k.Concurrency}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i := range k.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{rng: rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))}
			var mine []time.Duration
			errs, first := 0, ""
			for ctx.Err() == nil {
				t := time.Now()
				err := r.request(ctx, w, k.Name)
				if ctx.Err() != nil {
					break // cut short by the end of the run: not counted
				}
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(lat)
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		res.P50, res.P99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	return res
}

// Print writes the report as a table.
func (rep *Report) Print(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tclients\trequests\treq/s\tp50 ms\tp99 ms\terrors\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%d\t\n", r.Kind, r.Concurrency, r.Requests, r.RPS(),
			ms(r.P50), ms(r.P99), r.Errors)
	}
	tw.Flush()
	for _, r := range rep.Results {
		if r.FirstError != "" {
			fmt.Fprintf(out, "first %s error: %s\n", r.Kind, r.FirstError)
		}
	}
	if rep.PeakRSS > 0 {
		fmt.Fprintf(out, "server peak RSS: %.0f MB\n", float64(rep.PeakRSS)/(1<<20))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Errors is the number of failed requests in all.
func (rep *Report) Errors() int {
	n := 0
	for _, r := range rep.Results {
		n += r.Errors
	}
	return n
}

// peakRSS samples a process's resident memory while a run goes on.
type peakRSS struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup
	max  atomic.Int64
	once sync.Once
}

func newPeakRSS(pid int) *peakRSS {
	p := &peakRSS{pid: pid, done: make(chan struct{})}
	if pid <= 0 {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			p.sample()
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// sample reads VmRSS, and VmHWM (the kernel's own peak) when present.
func (p *peakRSS) sample() {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 2 && f[1] == "kB" {
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb*1024 > p.max.Load() {
				p.max.Store(kb * 1024)
			}
		}
	}
}

// stop ends the sampling and returns the peak in bytes.
func (p *peakRSS) stop() int64 {
	p.once.Do(func() {
		close(p.done)
		p.wg.Wait()
		if p.pid > 0 {
			p.sample()
		}
	})
	return p.max.Load()
}
