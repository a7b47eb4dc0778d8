package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/web"
)

// The API's hot requests through the whole handler (routing, the
// authenticated actor, the store, JSON) on a SQLite database of
// ROSTER_BENCH_API_USERS users in one company (default 100,000), loaded
// once into a folder under os.TempDir(). For CPU profiles:
//
//	go test ./web -run XXX -bench BenchmarkAPI -cpuprofile cpu.out
func benchAPI(b *testing.B) (http.Handler, string, []int64) {
	b.Helper()
	ctx := context.Background()
	n := 100_000
	if v := os.Getenv("ROSTER_BENCH_API_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("ROSTER_BENCH_API_USERS=%q: want a number >= 100", v)
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("roster-bench-api-v1-%d", n))
	_, statErr := os.Stat(filepath.Join(dir, "loaded"))
	if statErr != nil {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if statErr != nil {
		if err := sqlstore.LoadFake(ctx, s, sqlstore.LoadOptions{Users: n, Companies: 1, BigCompanyUsers: n, Seed: 7}); err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "loaded"), []byte("ok"), 0o600)
	}
	var company int64
	if err := s.DB().QueryRowContext(ctx, `SELECT id FROM companies WHERE name = $1`, sqlstore.BigCompanyName).Scan(&company); err != nil {
		b.Fatal(err)
	}
	var admin int64
	err = s.DB().QueryRowContext(ctx, `SELECT id FROM users WHERE email = 'api-bench@bigcorp.example'`).Scan(&admin)
	if err != nil {
		role, err := s.RoleByKey(ctx, company, roster.RoleCompanyAdmin)
		if err != nil {
			b.Fatal(err)
		}
		u := &roster.User{CompanyID: company, AuthMethod: roster.AuthEmail, Email: "api-bench@bigcorp.example",
			FirstName: "Api", LastName: "Bench", Status: roster.StatusActive, PasswordHash: "x"}
		if err := s.CreateUser(ctx, u, []int64{role.ID}, nil, time.Time{}); err != nil {
			b.Fatal(err)
		}
		admin = u.ID
	}
	token, hash := secure.NewToken()
	now := time.Now()
	if err := s.CreateSession(ctx, &roster.Session{TokenHash: hash, Kind: roster.SessionAPI, UserID: admin, CreatedAt: now,
		LastSeenAt: now, IdleTimeout: time.Hour, ExpiresAt: now.Add(12 * time.Hour)}); err != nil {
		b.Fatal(err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT id FROM users WHERE company_id = $1 ORDER BY id LIMIT 5000`, company)
	if err != nil {
		b.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	srv := web.NewServer(web.Deps{Companies: s, Users: s, Roles: s, Sessions: s, Events: s, Platform: s,
		Hasher: secure.NewHasher(secure.TestParams, 2), Logger: slog.New(slog.DiscardHandler)})
	return srv.Handler(), token, ids
}

// benchRequests runs req's requests in parallel. Besides the wall time it
// reports the process's CPU time per request (cpu-µs/op), which a loaded,
// shared machine disturbs far less than the wall time.
func benchRequests(b *testing.B, h http.Handler, token string, req func(rng *rand.Rand) (string, string, string)) {
	b.ReportAllocs()
	cpu0 := cpuTime()
	defer func() {
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			method, path, body := req(rng)
			var r *http.Request
			if body == "" {
				r = httptest.NewRequest(method, path, nil)
			} else {
				r = httptest.NewRequest(method, path, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
			}
			r.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code >= 300 {
				b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			}
		}
	})
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkAPIGetUser(b *testing.B) {
	h, token, ids := benchAPI(b)
	benchRequests(b, h, token, func(rng *rand.Rand) (string, string, string) {
		return "GET", "/api/v1/users/" + strconv.FormatInt(ids[rng.IntN(len(ids))], 10), ""
	})
}

func BenchmarkAPIPatchUser(b *testing.B) {
	h, token, ids := benchAPI(b)
	benchRequests(b, h, token, func(rng *rand.Rand) (string, string, string) {
		return "PATCH", "/api/v1/users/" + strconv.FormatInt(ids[rng.IntN(len(ids))], 10),
			`{"position":"Shift ` + strconv.Itoa(rng.IntN(1000)) + `"}`
	})
}

func BenchmarkAPISearch(b *testing.B) {
	h, token, _ := benchAPI(b)
	terms := []string{"son", "ann", "iva", "mar", "ova", "lee", "sch", "kov", "ell", "ber"}
	benchRequests(b, h, token, func(rng *rand.Rand) (string, string, string) {
		return "GET", "/api/v1/users?q=" + terms[rng.IntN(len(terms))], ""
	})
}

func BenchmarkAPICreateUser(b *testing.B) {
	h, token, _ := benchAPI(b)
	role := employeeRole(b, h, token)
	var seq atomic.Int64
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	benchRequests(b, h, token, func(rng *rand.Rand) (string, string, string) {
		return "POST", "/api/v1/users", fmt.Sprintf(`{"auth_method":"email","email":"b-%s-%d@bench.example","role_ids":[%d]}`,
			nonce, seq.Add(1), role)
	})
}

// employeeRole finds the big company's employee role.
func employeeRole(b *testing.B, h http.Handler, token string) int64 {
	r := httptest.NewRequest("GET", "/api/v1/roles", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var roles struct {
		Items []struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &roles); err != nil {
		b.Fatal(err)
	}
	for _, ro := range roles.Items {
		if ro.Key == roster.RoleEmployee {
			return ro.ID
		}
	}
	b.Fatalf("no employee role in %s", rec.Body)
	return 0
}
