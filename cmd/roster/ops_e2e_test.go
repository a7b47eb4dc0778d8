package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// The real binary, built once for every test of the package that runs it.
var built struct {
	sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// rosterBinary builds cmd/roster once and returns its path.
func rosterBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	built.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "roster-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "roster")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// syncBuffer is a bytes.Buffer safe to write from a process's output copier
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running `roster serve`.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	addr   string
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit, once done
}

// serve starts `roster serve` on a free port with args, waits until it
// listens, and stops it (SIGTERM) when the test ends if it still runs.
func serve(t *testing.T, bin string, args []string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), "ROSTER_LOG_LEVEL=warn"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", p.stderr.String())
		}
	})
	re := regexp.MustCompile(`listening on (http://(\S+))`)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line := <-lines:
			if m := re.FindStringSubmatch(line); m != nil {
				p.base, p.addr = m[1], m[2]
				return p
			}
		case <-p.done:
			t.Fatalf("server exited before listening (%v):\n%s", p.err, p.stderr.String())
		case <-timeout:
			t.Fatalf("server did not start:\n%s", p.stderr.String())
		}
	}
}

func (p *proc) signal(sig os.Signal) {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(sig)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatal("server did not stop within 30 s of SIGTERM")
	}
	if p.err != nil {
		p.t.Fatalf("server exit: %v\n%s", p.err, p.stderr.String())
	}
}

// runRoster runs a one-shot command and returns its exit code and output.
func runRoster(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("roster %q: %v", args, err)
	}
	return code, o.String(), e.String()
}

const rootPassword = "correct horse battery staple"

// createRoot makes the Main administrator root@example.com.
func createRoot(t *testing.T, bin string, dbArgs []string) {
	t.Helper()
	if code, out, errOut := runRoster(t, bin, append([]string{"admin", "create", "--email", "root@example.com", "--password", rootPassword}, dbArgs...)...); code != 0 {
		t.Fatalf("admin create: %d\n%s%s", code, out, errOut)
	}
}

// TestCommandLine runs the binary: --help exits 0 with the usage on
// stdout, a wrong value exits 2 naming it, before anything is created.
func TestCommandLine(t *testing.T) {
	bin := rosterBinary(t)
	for _, args := range [][]string{{"serve", "--help"}, {"migrate", "--help"}} {
		code, out, errOut := runRoster(t, bin, args...)
		if code != 0 || !strings.Contains(out, "Usage: roster "+args[0]) || errOut != "" {
			t.Errorf("%q: exit %d\nstdout %s\nstderr %s", args, code, out, errOut)
		}
	}
	data := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"serve", "--log-level", "loud"}, "", `--log-level="loud": must be debug, info, warn or error`},
		{[]string{"serve"}, "ROSTER_LOG_JSON=yes", `ROSTER_LOG_JSON="yes": must be true or false`},
		{[]string{"serve"}, "ROSTER_MIGRATE=maybe", `ROSTER_MIGRATE="maybe": must be true or false`},
		{[]string{"serve"}, "ROSTER_MIGRATE=off", `ROSTER_MIGRATE="off": must be true or false`},
		{[]string{"migrate"}, "ROSTER_LOG_LEVEL=verbose", `ROSTER_LOG_LEVEL="verbose"`},
	} {
		cmd := exec.Command(bin, append(tc.args, "--data", data)...)
		cmd.Env = append(os.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%q with %s: %v\n%s", tc.args, tc.env, err, out)
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created the data folder: %v", err)
	}
}

// TestPortTaken: when the address is taken, serve fails before it creates
// or migrates a database.
func TestPortTaken(t *testing.T) {
	bin := rosterBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	refused := func(t *testing.T, dbArgs ...string) {
		code, out, errOut := runRoster(t, bin, append([]string{"serve", "--addr", taken}, dbArgs...)...)
		if code != 1 || !strings.Contains(errOut, "listen on "+taken) || !strings.Contains(errOut, "address already in use") {
			t.Fatalf("serve on a taken port: exit %d\n%s%s", code, out, errOut)
		}
	}
	t.Run("SQLite", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		refused(t, "--data", data)
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the data folder was created: %v", err)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := freshPostgresDatabase(t)
		refused(t, "--database-url", url)
		db := openDB(t, "pgx", url)
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("tables in the database: %d (%v)", n, err)
		}
	})
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestGracefulShutdown: on SIGTERM the server stops accepting at once, a
// request in flight (its body still arriving from a slow client) is
// served to the end, the process exits 0 within --shutdown-timeout and the
// database is closed cleanly (SQLite folds and removes its write-ahead
// log). Past the bound, a request that does not finish is cut off and the
// exit says so.
func TestGracefulShutdown(t *testing.T) {
	bin := rosterBinary(t)
	run := func(t *testing.T, dbArgs []string, check func(login string)) {
		createRoot(t, bin, dbArgs)
		p := serve(t, bin, append([]string{"--shutdown-timeout", "15s"}, dbArgs...))
		c := &client{t: t, base: p.base}
		root := c.login("root@example.com", rootPassword)
		var company struct{ ID int64 }
		c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Acme"}, 201, &company)
		roles := c.roles(root, company.ID)
		body, _ := json.Marshal(map[string]any{"auth_method": "login", "login": "slowpoke", "first_name": "Slow", "last_name": "Client",
			"role_ids": []int64{roles["employee"]}, "company_id": company.ID})

		// A slow client: headers and half the body, the rest later.
		conn, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/users HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			p.addr, root, len(body), body[:len(body)/2])
		time.Sleep(300 * time.Millisecond) // the server has read the headers: the request is in flight

		sent := time.Now()
		p.signal(syscall.SIGTERM)
		// New connections are refused while the request is still running.
		for {
			c, err := net.DialTimeout("tcp", p.addr, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Since(sent) > 10*time.Second {
				t.Fatal("new connections still accepted 10 s after SIGTERM")
			}
			time.Sleep(20 * time.Millisecond)
		}
		select {
		case <-p.done:
			t.Fatalf("the process exited with a request in flight: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if _, err := conn.Write(body[len(body)/2:]); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the in-flight request got no answer: %v", err)
		}
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 {
			t.Fatalf("in-flight request: %d %s", resp.StatusCode, answer)
		}
		select {
		case <-p.done:
		case <-time.After(15*time.Second + 10*time.Second):
			t.Fatal("the process did not exit within the shutdown bound")
		}
		if p.err != nil {
			t.Fatalf("exit after a graceful shutdown: %v\n%s", p.err, p.stderr.String())
		}
		check("slowpoke")
	}
	t.Run("SQLite", func(t *testing.T) {
		data := t.TempDir()
		run(t, []string{"--data", data}, func(login string) {
			if _, err := os.Stat(filepath.Join(data, "roster.db-wal")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the write-ahead log is still there: the database was not closed (%v)", err)
			}
			var n int
			db := openDB(t, "sqlite", "file:"+filepath.Join(data, "roster.db")+"?mode=ro")
			if err := db.QueryRow(`SELECT count(*) FROM users WHERE login = $1`, login).Scan(&n); err != nil || n != 1 {
				t.Errorf("the in-flight request's user: %d (%v)", n, err)
			}
		})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		url := freshPostgresDatabase(t)
		run(t, []string{"--database-url", url}, func(login string) {
			var n int
			if err := openDB(t, "pgx", url).QueryRow(`SELECT count(*) FROM users WHERE login = $1`, login).Scan(&n); err != nil || n != 1 {
				t.Errorf("the in-flight request's user: %d (%v)", n, err)
			}
		})
	})
	t.Run("Bound", func(t *testing.T) {
		data := t.TempDir()
		p := serve(t, bin, []string{"--data", data, "--shutdown-timeout", "2s"})
		conn, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// A client that never finishes its body.
		fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", p.addr)
		time.Sleep(300 * time.Millisecond)
		sent := time.Now()
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(2*time.Second + 15*time.Second):
			t.Fatal("the process outlived its shutdown bound")
		}
		var exit *exec.ExitError
		if waited := time.Since(sent); !errors.As(p.err, &exit) || exit.ExitCode() != 1 || waited < 2*time.Second ||
			!strings.Contains(p.stderr.String(), "cut off") {
			t.Fatalf("exit %v after %s:\n%s", p.err, waited, p.stderr.String())
		}
	})
}

// getJSON answers a GET: status, headers and decoded body.
func getJSON(t *testing.T, url string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, resp.Header, body
}

// awaitReady polls /readyz until it answers want (within 20 s) and
// returns the last answer.
func awaitReady(t *testing.T, base string, want int) (http.Header, map[string]any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, h, body := getJSON(t, base+"/readyz")
		if code == want {
			return h, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d %v, want %d", code, body, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkNotReady checks a 503 answer of /readyz.
func checkNotReady(t *testing.T, h http.Header, body map[string]any, reason string) {
	t.Helper()
	if h.Get("Content-Type") != "application/problem+json" || h.Get("Retry-After") != "5" || body["code"] != "not_ready" ||
		!strings.Contains(fmt.Sprint(body["detail"]), reason) {
		t.Fatalf("not ready answer: %v %v", h, body)
	}
}

// TestReadiness: /readyz answers 503 while the database is unreachable or
// its schema is out of date, and 200 again once it is back; /healthz
// answers 200 throughout.
func TestReadiness(t *testing.T) {
	bin := rosterBinary(t)
	schema := func(t *testing.T, p *proc, db *sql.DB) {
		// A pending migration (as in a rolling upgrade run the wrong way).
		var version int
		var name string
		var at any
		if err := db.QueryRow(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version DESC LIMIT 1`).Scan(&version, &name, &at); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = $1`, version); err != nil {
			t.Fatal(err)
		}
		h, body := awaitReady(t, p.base, 503)
		checkNotReady(t, h, body, "out of date")
		if code, _, _ := getJSON(t, p.base+"/healthz"); code != 200 {
			t.Fatalf("/healthz while not ready: %d", code)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, version, name, at); err != nil {
			t.Fatal(err)
		}
		_, body = awaitReady(t, p.base, 200)
		if body["status"] != "ready" {
			t.Fatalf("ready answer %v", body)
		}
	}
	t.Run("PostgreSQL", func(t *testing.T) {
		url := freshPostgresDatabase(t)
		p := serve(t, bin, []string{"--database-url", url})
		_, body := awaitReady(t, p.base, 200)
		if body["status"] != "ready" {
			t.Fatalf("ready answer %v", body)
		}
		// The database goes away: connections refused, open ones cut.
		admin := openDB(t, "pgx", os.Getenv("ROSTER_TEST_POSTGRES_URL"))
		name := url[strings.LastIndex(url, "/")+1:]
		if i := strings.Index(name, "?"); i >= 0 {
			name = name[:i]
		}
		for _, q := range []string{`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`,
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`} {
			if _, err := admin.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		h, body := awaitReady(t, p.base, 503)
		checkNotReady(t, h, body, "unreachable")
		if code, _, _ := getJSON(t, p.base+"/healthz"); code != 200 {
			t.Fatalf("/healthz while the database is away: %d", code)
		}
		if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`); err != nil {
			t.Fatal(err)
		}
		awaitReady(t, p.base, 200)
		schema(t, p, openDB(t, "pgx", url))
	})
	t.Run("SQLite", func(t *testing.T) {
		data := t.TempDir()
		p := serve(t, bin, []string{"--data", data})
		awaitReady(t, p.base, 200)
		schema(t, p, openDB(t, "sqlite", "file:"+filepath.Join(data, "roster.db")+"?_pragma=busy_timeout(5000)"))
	})
}
