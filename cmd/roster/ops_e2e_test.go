package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/roster-app/roster/internal/ci"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
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
	stdout *syncBuffer
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
	p := &proc{t: t, cmd: cmd, stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
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
	for _, args := range [][]string{{"serve", "--help"}, {"backup", "--help"}, {"restore", "-h"}, {"copy", "--help"}, {"migrate", "--help"}} {
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
		{[]string{"backup"}, "", "--out FILE is required"},
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

// userCount is the number of users the Main administrator sees.
func userCount(c *client, token string) int {
	var page struct {
		Total int `json:"total"`
	}
	c.do("GET", "/api/v1/users?limit=1", token, nil, 200, &page)
	return page.Total
}

// TestBackupAndRestore: a backup taken while the server runs and writes
// is consistent and restores; restore refuses while the server runs and
// keeps the replaced database.
func TestBackupAndRestore(t *testing.T) {
	bin := rosterBinary(t)
	data := t.TempDir()
	dbArgs := []string{"--data", data}
	createRoot(t, bin, dbArgs)
	p := serve(t, bin, dbArgs)
	c := &client{t: t, base: p.base}
	root := c.login("root@example.com", rootPassword)
	var company struct{ ID int64 }
	c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Acme"}, 201, &company)
	roles := c.roles(root, company.ID)
	create := func(i int) {
		c.do("POST", "/api/v1/users", root, map[string]any{"auth_method": "login", "login": fmt.Sprintf("agent%d", i),
			"first_name": "Agent", "last_name": strconv.Itoa(i), "role_ids": []int64{roles["employee"]}, "company_id": company.ID}, 201, nil)
	}
	for i := range 5 {
		create(i)
	}
	before := userCount(c, root)

	// Writes go on while the backup runs.
	stop, wrote := make(chan struct{}), make(chan int)
	go func() {
		i := 100
		for {
			select {
			case <-stop:
				wrote <- i - 100
				return
			default:
				create(i)
				i++
			}
		}
	}()
	out := filepath.Join(t.TempDir(), "roster-backup.db")
	code, stdout, stderr := runRoster(t, bin, "backup", "--data", data, "--out", out)
	if code != 0 || !strings.Contains(stdout, "Wrote "+out) {
		t.Fatalf("backup: %d\n%s%s", code, stdout, stderr)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	code, _, stderr = runRoster(t, bin, "backup", "--data", data, "--out", out)
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("backup over an existing file: %d %s", code, stderr)
	}
	code, _, stderr = runRoster(t, bin, "restore", "--data", data, "--from", out)
	if code != 1 || !strings.Contains(stderr, "in use") {
		t.Fatalf("restore while serving: %d %s", code, stderr)
	}
	close(stop)
	if n := <-wrote; n == 0 {
		t.Log("no write happened during the backup")
	}
	after := userCount(c, root)
	p.stop()

	code, stdout, stderr = runRoster(t, bin, "restore", "--data", data, "--from", out)
	if code != 0 || !strings.Contains(stdout, "kept as") {
		t.Fatalf("restore: %d\n%s%s", code, stdout, stderr)
	}
	baks, _ := filepath.Glob(filepath.Join(data, "roster.db.*.bak"))
	if len(baks) != 1 {
		t.Fatalf("kept databases: %v", baks)
	}
	p = serve(t, bin, append(dbArgs, "--migrate=false"))
	c = &client{t: t, base: p.base}
	root = c.login("root@example.com", rootPassword)
	if n := userCount(c, root); n < before || n > after {
		t.Fatalf("users after the restore: %d, want between %d (before the backup) and %d (after it)", n, before, after)
	}
	awaitReady(t, p.base, 200)
	p.stop()

	// The kept database is the one that was replaced: every user is there.
	var n int
	if err := openDB(t, "sqlite", "file:"+baks[0]+"?mode=ro").QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != after {
		t.Fatalf("users in %s: %d (%v), want %d", baks[0], n, err, after)
	}
}

// installation is what TestMoveToPostgres made through the API and checks
// after every move.
type installation struct {
	company            int64
	ivan, boris, maxID int64
	ivanPassword       string
	totpSecret         string
	recoveryCodes      []string
}

// forcedChange signs a user with a temporary password in and sets a
// permanent one.
func forcedChange(c *client, login, temporary, password string) {
	c.t.Helper()
	var step struct {
		ChangeToken string `json:"change_token"`
	}
	c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": login, "password": temporary}, 200, &step)
	c.do("POST", "/api/v1/auth/password-change", "", map[string]any{"change_token": step.ChangeToken, "new_password": password}, 200, nil)
}

// populateThroughAPI uses a running installation as people do: a company,
// users with roles, a sign-in with TOTP enrolled, a blocked user with the
// reason, a reset e-mail waiting in the outbox, a deleted user.
func populateThroughAPI(t *testing.T, c *client) *installation {
	t.Helper()
	in := &installation{ivanPassword: "headset and coffee"}
	root := c.login("root@example.com", rootPassword)
	var company struct{ ID int64 }
	c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Acme Dispatch"}, 201, &company)
	in.company = company.ID
	roles := c.roles(root, company.ID)
	mk := func(login, first, last, role string) (int64, string) {
		var u struct {
			ID                int64  `json:"id"`
			TemporaryPassword string `json:"temporary_password"`
		}
		c.do("POST", "/api/v1/users", root, map[string]any{"auth_method": "login", "login": login, "first_name": first, "last_name": last,
			"role_ids": []int64{roles[role]}, "company_id": company.ID}, 201, &u)
		in.maxID = max(in.maxID, u.ID)
		return u.ID, u.TemporaryPassword
	}
	var temp string
	in.ivan, temp = mk("ivanov7", "Ivan", "Ivanov", "dispatcher")
	forcedChange(c, "ivanov7", temp, in.ivanPassword)
	ivan := c.login("ivanov7", in.ivanPassword)
	var start struct {
		Secret string `json:"secret"`
	}
	c.do("POST", "/api/v1/me/2fa/totp", ivan, map[string]any{"current_password": in.ivanPassword}, 200, &start)
	in.totpSecret = start.Secret
	var confirmed struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	c.do("POST", "/api/v1/me/2fa/totp/confirm", ivan, map[string]any{"code": totpCode(t, in.totpSecret, time.Now().Add(-30*time.Second))}, 200, &confirmed)
	in.recoveryCodes = confirmed.RecoveryCodes
	gone, _ := mk("dmitri", "Dmitri", "Gone", "employee")
	c.do("DELETE", fmt.Sprintf("/api/v1/users/%d", gone), root, nil, 204, nil)
	in.boris, _ = mk("boris", "Boris", "Blokhin", "employee")
	c.do("POST", fmt.Sprintf("/api/v1/users/%d/block", in.boris), root, map[string]any{"comment": "Fired for fraud"}, 200, nil)
	c.do("POST", "/api/v1/auth/forgot-password", "", map[string]any{"email": "root@example.com"}, 202, nil)
	return in
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// check uses a moved installation: the old passwords and second factor
// work, search finds a user, the event log and the outbox are there, and
// the next user gets a new id. secondFactor is a TOTP code or a recovery
// code, each usable once.
func (in *installation) check(t *testing.T, c *client, secondFactor string) {
	t.Helper()
	root := c.login("root@example.com", rootPassword)
	var step struct {
		MFARequired bool   `json:"mfa_required"`
		MFAToken    string `json:"mfa_token"`
	}
	c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "ivanov7", "password": in.ivanPassword}, 200, &step)
	if !step.MFARequired {
		t.Fatalf("ivan signs in without the second factor: %+v", step)
	}
	var signed struct{ Token string }
	c.do("POST", "/api/v1/auth/mfa", "", map[string]any{"mfa_token": step.MFAToken, "code": secondFactor}, 200, &signed)
	if signed.Token == "" {
		t.Fatal("no token after the second factor")
	}
	var page struct {
		Items []struct{ ID int64 } `json:"items"`
	}
	c.do("GET", fmt.Sprintf("/api/v1/users?q=ivanov&company_id=%d", in.company), root, nil, 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != in.ivan {
		t.Fatalf("search ivanov: %+v", page)
	}
	var events struct {
		Items []struct {
			Type    string `json:"type"`
			Comment string `json:"comment"`
		} `json:"items"`
	}
	c.do("GET", fmt.Sprintf("/api/v1/events?user_id=%d", in.boris), root, nil, 200, &events)
	if !slicesContainsFunc(events.Items, func(e struct {
		Type    string `json:"type"`
		Comment string `json:"comment"`
	}) bool {
		return e.Type == "user.blocked" && e.Comment == "Fired for fraud"
	}) {
		t.Fatalf("events of the blocked user: %+v", events.Items)
	}
	outbox := c.do("GET", "/api/v1/outbox", root, nil, 200, nil)
	if !bytes.Contains(outbox, []byte(`"to":"root@example.com"`)) {
		t.Fatalf("the reset e-mail cannot be read in the outbox: %s", outbox)
	}
	roles := c.roles(root, in.company)
	var u struct{ ID int64 }
	c.do("POST", "/api/v1/users", root, map[string]any{"auth_method": "login", "login": fmt.Sprintf("new%d", time.Now().UnixNano()),
		"first_name": "New", "last_name": "Comer", "role_ids": []int64{roles["employee"]}, "company_id": in.company}, 201, &u)
	if u.ID <= in.maxID {
		t.Fatalf("new user id %d, but ids up to %d were given", u.ID, in.maxID)
	}
	in.maxID = u.ID
}

func slicesContainsFunc[E any](s []E, f func(E) bool) bool {
	for _, e := range s {
		if f(e) {
			return true
		}
	}
	return false
}

// TestMoveToPostgres moves an installation the two documented ways: a
// SQLite installation copied into PostgreSQL with roster copy, then that
// PostgreSQL database dumped with pg_dump and restored with pg_restore
// into another. After each move the real server runs on the result
// (--migrate=false: the schema must already be current) and works.
func TestMoveToPostgres(t *testing.T) {
	bin := rosterBinary(t)
	data := t.TempDir()
	createRoot(t, bin, []string{"--data", data})
	p := serve(t, bin, []string{"--data", data})
	in := populateThroughAPI(t, &client{t: t, base: p.base})
	p.stop()

	// SQLite → PostgreSQL.
	first := freshPostgresDatabase(t)
	code, stdout, stderr := runRoster(t, bin, "copy", "--data", data, "--to", first)
	if code != 0 || !strings.Contains(stdout, "row counts verified") {
		t.Fatalf("copy: %d\n%s%s", code, stdout, stderr)
	}
	for _, table := range []string{"users", "events", "sessions", "jobs", "recovery_codes", "settings"} {
		if !regexp.MustCompile(`(?m)^\s+` + table + `\s+[1-9]\d* rows$`).MatchString(stdout) {
			t.Errorf("copy report lacks rows of %s:\n%s", table, stdout)
		}
	}
	p = serve(t, bin, []string{"--database-url", first, "--migrate=false"})
	in.check(t, &client{t: t, base: p.base}, totpCode(t, in.totpSecret, time.Now().Add(30*time.Second)))
	p.stop()
	code, _, stderr = runRoster(t, bin, "copy", "--data", data, "--to", first)
	if code != 1 || !strings.Contains(stderr, "already holds Roster data") {
		t.Fatalf("second copy into the same database: %d %s", code, stderr)
	}

	// PostgreSQL → pg_dump → pg_restore → PostgreSQL.
	dump := filepath.Join(t.TempDir(), "roster.dump")
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			ci.Missing(t, "%s (apt-get install postgresql-client)", tool)
		}
	}
	if out, err := exec.Command("pg_dump", "--format=custom", "--file", dump, first).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	second := freshPostgresDatabase(t)
	if out, err := exec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname", second, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	p = serve(t, bin, []string{"--database-url", second, "--migrate=false"})
	in.check(t, &client{t: t, base: p.base}, in.recoveryCodes[0])
	awaitReady(t, p.base, 200)
}
