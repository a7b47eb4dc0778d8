package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/roster-app/roster/internal/ci"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestFailover: Roster on a primary with a synchronous standby (made by
// pg_basebackup), through a multi-host URL with
// target_session_attrs=read-write. Writers create and edit users while the
// primary is killed (SIGKILL, every process of it) and the standby is
// promoted. Throughout, no request hangs and none answers 500: a request
// in the gap answers 503 problem+json with Retry-After. /readyz turns 503
// and then 200 again by itself, without a restart of Roster, and every
// change that got a 2xx answer is on the new primary.
func TestFailover(t *testing.T) {
	if os.Getenv("ROSTER_TEST_POSTGRES_URL") == "" {
		ci.Missing(t, "PostgreSQL: set ROSTER_TEST_POSTGRES_URL")
	}
	bin := rosterBinary(t)
	pg := newPGCluster(t)
	primary := pg.start(t, "primary", pg.initdb(t, "primary"))
	pg.exec(t, primary, "CREATE DATABASE roster")
	standby := pg.start(t, "standby", pg.basebackup(t, primary, "standby"))
	pg.makeSynchronous(t, primary, "standby")

	dbURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/roster?sslmode=disable&target_session_attrs=read-write",
		primary.port, standby.port)
	createRoot(t, bin, []string{"--database-url", dbURL})
	srv := serve(t, bin, nil, "ROSTER_DATABASE_URL="+dbURL)
	A := srv.base
	c := newAPI(t)
	root := c.login(A, "root@example.com", rootPassword)
	var company struct{ ID int64 }
	c.want(A, "POST", "/api/v1/companies", root, map[string]any{"name": "Failover Co"}, 201, &company)
	employee := c.roleIDs(A, root, company.ID)["employee"]

	// Every answer goes through one client whose timeout counts as a hang.
	f := &failoverRun{t: t, api: &api{t: t, client: &http.Client{Timeout: 10 * time.Second}}, base: A, token: root,
		company: company.ID, role: employee, position: map[int64]int{}}
	stop := make(chan struct{})
	var writers sync.WaitGroup
	var stopOnce sync.Once
	stopWriters := func() { stopOnce.Do(func() { close(stop) }); writers.Wait() }
	t.Cleanup(stopWriters) // before Roster stops, should the test fail early
	for w := range 4 {
		writers.Add(1)
		go func() { defer writers.Done(); f.write(w, stop) }()
	}
	writers.Add(1)
	go func() { defer writers.Done(); f.read(stop) }()
	f.awaitAcks(t, 20)

	// The crash: every process of the primary at once, as when its
	// machine dies.
	ackedBefore := f.acked()
	killed := time.Now()
	primary.kill(t)
	// Before the standby is promoted there is no primary: Roster says it
	// is not ready, and a change is refused with a clean 503.
	h, body := awaitReady(t, A, 503)
	checkNotReady(t, h, body, "unreachable")
	notReadyAfter := time.Since(killed)
	st, hdr, data := f.do("POST", "/api/v1/users", f.newUser("gap"))
	f.check503(st, hdr, data)
	if st != 503 {
		t.Errorf("a change with no primary answered %d, want 503: %s", st, data)
	}

	// The writers and the reader meet the gap too: a failover manager
	// takes a moment to decide.
	f.awaitUnavailable(t, 10)

	promoted := time.Now()
	pg.exec(t, standby, "SELECT pg_promote(true, 30)")
	awaitReady(t, A, 200)
	readyAfter := time.Since(promoted)
	// Writers go on against the new primary for a moment.
	acked := f.acked()
	f.awaitAcks(t, acked+20)
	stopWriters()

	select {
	case <-srv.done:
		t.Fatalf("roster exited: %v", srv.err)
	default:
	}
	for _, line := range strings.Split(srv.stderr.String(), "\n") {
		if logged500.MatchString(line) || strings.Contains(line, "panic") || strings.HasPrefix(line, "goroutine ") {
			t.Errorf("server log: %s", line)
		}
	}
	newPrimary := pg.sql(standby, "roster")
	defer newPrimary.Close()
	f.checkDurable(t, newPrimary)
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Logf("not ready %v after the kill; ready %v after the promotion; %d changes acknowledged (%d before the kill, %d users created), all on the new primary; %d answered 503",
		notReadyAfter.Round(time.Millisecond), readyAfter.Round(time.Millisecond), f.acks, ackedBefore, len(f.users), f.unavailable)
}

// failoverRun is the writers' shared record.
type failoverRun struct {
	t       *testing.T
	api     *api // its client's timeout counts as a hang
	base    string
	token   string
	company int64
	role    int64

	mu          sync.Mutex
	acks        int           // 2xx answers to changes
	unavailable int           // 503 answers
	users       []int64       // created with 201
	position    map[int64]int // highest position number acknowledged per user
	seq         int
}

// do sends one request; a transport error or timeout answers status 0
// and fails the test.
func (f *failoverRun) do(method, path string, body any) (int, http.Header, []byte) {
	st, h, data, err := f.api.send(f.base, method, path, f.token, "", body)
	if err != nil {
		f.t.Errorf("%s %s: %v (a hang or a dropped connection)", method, path, err)
	}
	return st, h, data
}

func (f *failoverRun) newUser(prefix string) map[string]any {
	f.mu.Lock()
	f.seq++
	n := f.seq
	f.mu.Unlock()
	return map[string]any{"auth_method": "login", "login": fmt.Sprintf("%s%d", prefix, n), "first_name": "Fail",
		"last_name": fmt.Sprint("Over", n), "role_ids": []int64{f.role}, "company_id": f.company}
}

// check503 checks the form of a 503 answer; other statuses pass.
func (f *failoverRun) check503(st int, h http.Header, data []byte) {
	if st != 503 {
		return
	}
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 {
		f.t.Errorf("503 without Retry-After: %v %s", h, data)
	}
	if h.Get("Content-Type") != "application/problem+json" || json.Unmarshal(data, &p) != nil || p.Status != 503 ||
		p.Code != "unavailable" || p.Detail == "" {
		f.t.Errorf("503 answer: %v %s", h, data)
	}
	f.mu.Lock()
	f.unavailable++
	f.mu.Unlock()
}

// write creates users and changes the position of the last one it
// created until stop is closed; every answer is 2xx or a clean 503.
func (f *failoverRun) write(w int, stop <-chan struct{}) {
	var mine int64
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if mine == 0 || i%3 == 0 {
			st, h, data := f.do("POST", "/api/v1/users", f.newUser(fmt.Sprintf("w%dx", w)))
			f.check503(st, h, data)
			switch st {
			case 201:
				var u struct{ ID int64 }
				json.Unmarshal(data, &u)
				mine = u.ID
				f.mu.Lock()
				f.acks++
				f.users = append(f.users, u.ID)
				f.mu.Unlock()
			case 503:
			case 0:
				return
			default:
				f.t.Errorf("create: %d %s", st, data)
				return
			}
			continue
		}
		st, h, data := f.do("PATCH", fmt.Sprintf("/api/v1/users/%d", mine), map[string]any{"position": fmt.Sprint("Rank ", i)})
		f.check503(st, h, data)
		switch st {
		case 200:
			f.mu.Lock()
			f.acks++
			f.position[mine] = i
			f.mu.Unlock()
		case 503:
		case 0:
			return
		default:
			f.t.Errorf("patch: %d %s", st, data)
			return
		}
		if st != 200 {
			// Do not hammer a database in the middle of a failover.
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// read reads the users the writers created until stop is closed: 200, or
// a clean 503 in the gap.
func (f *failoverRun) read(stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		f.mu.Lock()
		var id int64
		if len(f.users) > 0 {
			id = f.users[i%len(f.users)]
		}
		f.mu.Unlock()
		if id == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		st, h, data := f.do("GET", fmt.Sprintf("/api/v1/users/%d", id), nil)
		f.check503(st, h, data)
		switch st {
		case 200:
		case 503:
			time.Sleep(50 * time.Millisecond)
		case 0:
			return
		default:
			f.t.Errorf("read: %d %s", st, data)
			return
		}
	}
}

// awaitUnavailable waits until n requests have answered 503.
func (f *failoverRun) awaitUnavailable(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		f.mu.Lock()
		got := f.unavailable
		f.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests answered 503 while there was no primary, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *failoverRun) acked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acks
}

// awaitAcks waits until n changes have been acknowledged.
func (f *failoverRun) awaitAcks(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); f.acked() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d changes acknowledged, want %d", f.acked(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkDurable checks that every acknowledged change is in db: each user
// created with 201, with a position at least as recent as the last one
// acknowledged (a later change answered 503 may have been committed too).
func (f *failoverRun) checkDurable(t *testing.T, db *sql.DB) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.users {
		var position string
		if err := db.QueryRow(`SELECT position FROM users WHERE id = $1`, id).Scan(&position); err != nil {
			t.Errorf("user %d acknowledged, not on the new primary: %v", id, err)
			continue
		}
		want, ok := f.position[id]
		if !ok {
			continue
		}
		got, err := strconv.Atoi(strings.TrimPrefix(position, "Rank "))
		if err != nil || got < want {
			t.Errorf("user %d: position %q on the new primary, %d acknowledged", id, position, want)
		}
	}
}

// pgCluster runs throwaway PostgreSQL servers of the binaries in bindir,
// as the postgres system user when the test runs as root (initdb and
// postgres refuse root).
type pgCluster struct {
	bindir string
	dir    string
	cred   *syscall.Credential // nil when not root
}

// pgServer is one running postgres.
type pgServer struct {
	name string
	data string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bindir := os.Getenv("ROSTER_TEST_PG_BINDIR")
	if bindir == "" {
		bindir = "/usr/lib/postgresql/15/bin" // named in the skip message when none is found
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		slices.SortFunc(found, func(a, b string) int { return cmp.Compare(pgMajor(a), pgMajor(b)) })
		if len(found) > 0 {
			bindir = found[len(found)-1] // the newest, as Debian's layout names them
		}
	}
	for _, b := range []string{"initdb", "postgres", "pg_basebackup"} {
		if _, err := os.Stat(filepath.Join(bindir, b)); err != nil {
			ci.Missing(t, "PostgreSQL's server binaries in %s (set ROSTER_TEST_PG_BINDIR): %v", bindir, err)
		}
	}
	dir, err := os.MkdirTemp("", "roster-failover-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &pgCluster{bindir: bindir, dir: dir}
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("the PostgreSQL server refuses root and there is no postgres system user: %v", err)
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		must(t, os.Chown(dir, uid, gid))
	}
	must(t, os.Chmod(dir, 0o700))
	return c
}

// pgMajor is the major version in a Debian path /usr/lib/postgresql/15/bin.
func pgMajor(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// command runs a PostgreSQL binary as the cluster's user.
func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bindir, name), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

func (c *pgCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *pgCluster) initdb(t *testing.T, name string) string {
	t.Helper()
	data := filepath.Join(c.dir, name)
	c.run(t, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	return data
}

// basebackup copies from's data into a new standby data directory that
// follows from (-R) under application_name name.
func (c *pgCluster) basebackup(t *testing.T, from *pgServer, name string) string {
	t.Helper()
	data := filepath.Join(c.dir, name)
	c.run(t, "pg_basebackup", "-D", data, "-R", "-X", "stream", "-c", "fast", "--no-sync",
		"-d", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", from.port, name))
	return data
}

// start runs postgres on data on a free port and waits until it answers.
func (c *pgCluster) start(t *testing.T, name, data string) *pgServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &pgServer{name: name, data: data, port: port, done: make(chan struct{})}
	// Durability against a killed process needs no fsync: the kernel
	// keeps what was written.
	s.cmd = c.command("postgres", "-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "logging_collector=off")
	log, err := os.Create(filepath.Join(c.dir, name+".log"))
	must(t, err)
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	must(t, s.cmd.Start())
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.kill(t)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, readFile(filepath.Join(c.dir, name+".log")))
		}
	})
	db := c.sql(s, "postgres")
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("postgres %s exited:\n%s", name, readFile(filepath.Join(c.dir, name+".log")))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres %s does not answer: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill sends SIGKILL to the postmaster and every process it started, as
// when the machine dies, and waits for the postmaster to go. (Each
// backend leads a process group of its own, so a group kill would miss
// them.) The postmaster is stopped first, so that it starts none meanwhile.
func (s *pgServer) kill(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	pid := s.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGSTOP)
	for _, child := range childPIDs(pid) {
		syscall.Kill(child, syscall.SIGKILL)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Errorf("postgres %s did not die", s.name)
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// sql opens database name on s, one connection, for the test's own checks.
func (c *pgCluster) sql(s *pgServer, name string) *sql.DB {
	db, err := sql.Open("pgx", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", s.port, name))
	if err != nil {
		panic(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// makeSynchronous makes standby the synchronous standby of primary: a
// commit is acknowledged only once the standby has it.
func (c *pgCluster) makeSynchronous(t *testing.T, primary *pgServer, standby string) {
	t.Helper()
	c.exec(t, primary, fmt.Sprintf("ALTER SYSTEM SET synchronous_standby_names = '%s'", standby))
	c.exec(t, primary, "ALTER SYSTEM SET synchronous_commit = 'on'")
	c.exec(t, primary, "SELECT pg_reload_conf()")
	db := c.sql(primary, "postgres")
	defer db.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		var state string
		err := db.QueryRow(`SELECT sync_state FROM pg_stat_replication WHERE application_name = $1`, standby).Scan(&state)
		if err == nil && state == "sync" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby %s is not synchronous: %q %v", standby, state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exec runs one statement on the postgres database of s.
func (c *pgCluster) exec(t *testing.T, s *pgServer, query string) {
	t.Helper()
	db := c.sql(s, "postgres")
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, query); err != nil {
		t.Fatalf("%s on %s: %v", query, s.name, err)
	}
}
