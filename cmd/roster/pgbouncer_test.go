package main

import (
	"fmt"
	"github.com/roster-app/roster/internal/ci"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestThroughPgBouncer runs sign-in → create → search → block through a
// PgBouncer of its own in transaction pooling mode (Debian's pgbouncer
// 1.18: no prepared statements across transactions), with the settings
// the README documents: default_query_exec_mode=exec in Roster's URL and
// ignore_startup_parameters for the parameters pgx sends.
func TestThroughPgBouncer(t *testing.T) {
	bin := rosterBinary(t)
	direct := freshPostgresDatabase(t)
	pgbouncer, err := exec.LookPath("pgbouncer")
	if err != nil {
		pgbouncer = "/usr/sbin/pgbouncer"
	}
	if _, err := os.Stat(pgbouncer); err != nil {
		ci.Missing(t, "pgbouncer (apt-get install pgbouncer)")
	}
	u, _ := url.Parse(direct)
	port := startPgBouncer(t, pgbouncer, u.Hostname(), u.Port())
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	dbArgs := []string{"--database-url", u.String()}

	createRoot(t, bin, dbArgs)
	// Two instances through the same bouncer, so server connections are
	// shared between them and between transactions.
	A := serve(t, bin, dbArgs).base
	B := serve(t, bin, dbArgs).base
	c := newAPI(t)
	root := c.login(A, "root@example.com", rootPassword)
	var company struct{ ID int64 }
	c.want(B, "POST", "/api/v1/companies", root, map[string]any{"name": "Pooled Co"}, 201, &company)
	roles := c.roleIDs(A, root, company.ID)
	var ids []int64
	for i := range 8 {
		var u struct{ ID int64 }
		c.want([]string{A, B}[i%2], "POST", "/api/v1/users", root, map[string]any{"auth_method": "login", "login": fmt.Sprint("pooled", i),
			"first_name": "Pooled", "last_name": fmt.Sprint("Person", i), "role_ids": []int64{roles["employee"]}, "company_id": company.ID}, 201, &u)
		ids = append(ids, u.ID)
	}
	var found struct {
		Items []struct{ ID int64 } `json:"items"`
	}
	c.want(B, "GET", fmt.Sprintf("/api/v1/users?company_id=%d&q=pooled", company.ID), root, nil, 200, &found)
	if len(found.Items) != len(ids) {
		t.Fatalf("search found %d of %d", len(found.Items), len(ids))
	}
	c.want(A, "POST", "/api/v1/users/bulk", root, map[string]any{"action": "block", "user_ids": ids[:4], "comment": "pooled block"}, 200, nil)
	c.want(B, "POST", fmt.Sprintf("/api/v1/users/%d/block", ids[4]), root, map[string]string{"comment": "one more"}, 200, nil)
	c.want(A, "GET", fmt.Sprintf("/api/v1/users?company_id=%d&q=pooled&status=blocked", company.ID), root, nil, 200, &found)
	if len(found.Items) != 5 {
		t.Fatalf("%d blocked, want 5", len(found.Items))
	}
	// Many requests at once: more transactions than server connections.
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			st, _, body := c.try([]string{A, B}[i%2], "GET", fmt.Sprintf("/api/v1/users/%d", ids[i%len(ids)]), root, "", nil)
			if st != 200 {
				errs <- fmt.Errorf("%d %s", st, body)
				return
			}
			errs <- nil
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// startPgBouncer runs pgbouncer in transaction pooling mode on a free port
// in front of host:port, as the postgres system user when run as root
// (pgbouncer refuses root), and stops it when the test ends.
func startPgBouncer(t *testing.T, bin, host, port string) int {
	t.Helper()
	dir, err := os.MkdirTemp("", "roster-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = 4
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,jit
logfile = %s
`, host, port, free, filepath.Join(dir, "users.txt"), filepath.Join(dir, "pgbouncer.log"))
	must(t, os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"postgres" ""`+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgbouncer refuses root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		must(t, os.Chown(dir, uid, gid))
		must(t, os.Chmod(dir, 0o755))
		// pgbouncer switches to the user itself (-u), so signals reach it.
		args = append([]string{"-u", "postgres"}, args...)
	}
	cmd := exec.Command(bin, args...)
	// A file, not a pipe: Wait must not wait for output copiers.
	out, err := os.Create(filepath.Join(dir, "stdout"))
	must(t, err)
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // immediate shutdown
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Logf("pgbouncer output:\n%s\n%s", readFile(filepath.Join(dir, "stdout")), log)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", free)); err == nil {
			c.Close()
			return free
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited:\n%s\n%s", readFile(filepath.Join(dir, "stdout")), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer did not listen:\n%s", readFile(filepath.Join(dir, "stdout")))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
