package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// fuzzTarget is one JSON endpoint the fuzz test drives. In its path and
// seed bodies, $-placeholders stand for the IDs of live fixtures (see
// fuzzWorld.expand), so that the seeds reach validation and the store.
type fuzzTarget struct {
	method, path string
	seeds        []string
	// signIn marks the sign-in endpoint: a refused sign-in writes by design
	// (failure counters, the "sign-in failed" event).
	signIn bool
	// who signs in: the Main administrator unless this names Acme's
	// administrator (clients and calls belong to the actor's company).
	who string
}

var fuzzTargets = []fuzzTarget{
	{method: "POST", path: "/api/v1/users", seeds: []string{
		`{"auth_method":"login","login":"fuzzer","first_name":"Fuzz","last_name":"Er","role_ids":[$E],"company_id":$A}`,
		`{"auth_method":"email","email":"fuzz@example.com","role_ids":[$E,$R],"company_id":$A,"credentials":"manual","password":"a long enough phrase","lang":"ru","position":"Lead","phone":"+1 (555) 010-99","middle_name":"M"}`,
		`{"auth_method":"email","email":"fuzz2@example.com","role_ids":[$E],"credentials":"invitation"}`,
	}},
	{method: "PATCH", path: "/api/v1/users/$V", seeds: []string{
		`{"position":"Night shift lead","max_dialogues":3,"mask_data":true}`,
		`{"first_name":"Ann","last_name":"Lee","work_phone":"+7 495 000-00-00","ip_allowlist":["10.0.0.0/8","2001:db8::/32"],"idle_timeout_seconds":900,"lang":"en"}`,
		`{"countries_rule":{"mode":"only","countries":["DE","FR"]},"client_tags":[$T],"idle_timeout_seconds":null}`,
	}},
	{method: "POST", path: "/api/v1/users/bulk", seeds: []string{
		`{"action":"block","user_ids":[$V],"comment":"bulk block"}`,
		`{"action":"add_role","filter":{"q":"victim","status":"active","role":"employee","company_id":$A},"role_id":$R}`,
		`{"action":"remove_role","user_ids":[$V],"role_id":$R}`,
		`{"action":"unblock","filter":{"status":"blocked","invitation":"accepted"},"comment":"back"}`,
	}},
	{method: "POST", path: "/api/v1/users/$V/block", seeds: []string{`{"comment":"Fired.\nTicket\t#12"}`}},
	{method: "POST", path: "/api/v1/users/$V/unblock", seeds: []string{`{"comment":"Hired again"}`}},
	{method: "PUT", path: "/api/v1/users/$V/roles", seeds: []string{`{"role_ids":[$E,$R]}`}},
	{method: "POST", path: "/api/v1/roles", seeds: []string{
		`{"name":"Night shift","permissions":["users.view"],"company_id":$A}`,
		`{"name":"Auditor","key":"auditor","permissions":["audit.view","users.view"]}`,
	}},
	{method: "PATCH", path: "/api/v1/roles/$R", seeds: []string{`{"name":"Renamed","permissions":["users.view","users.edit"]}`}},
	{method: "POST", path: "/api/v1/roles/import?company_id=$A", seeds: []string{
		`{"roles":[{"key":"night","name":"Night","permissions":["users.view"]},{"key":"day","name":"Day","permissions":[]}]}`,
	}},
	{method: "POST", path: "/api/v1/roles/import?dry_run=true&company_id=$A", seeds: []string{
		`{"roles":[{"key":"night","name":"Night","permissions":["users.view"]}]}`,
	}},
	{method: "POST", path: "/api/v1/companies", seeds: []string{`{"name":"New Co","parent_id":$P}`, `{"name":"Solo"}`}},
	{method: "PATCH", path: "/api/v1/companies/$A", seeds: []string{`{"name":"Acme Two"}`}},
	{method: "PATCH", path: "/api/v1/companies/$A/settings", seeds: []string{
		`{"password_min_length":14,"invitation_ttl_hours":24,"idle_timeout_seconds":1200}`,
	}},
	{method: "PATCH", path: "/api/v1/companies/$A/operations", seeds: []string{`{"call_statistics":true,"telegram_bot_token":"123:abc","slack_token":""}`}},
	{method: "POST", path: "/api/v1/events/$EV/comments", seeds: []string{`{"body":"seen\nby the auditor"}`}},
	{method: "POST", path: "/api/v1/clients", who: "admin", seeds: []string{
		`{"name":"Zed","email":"zed@example.com","phone":"+49 30 1234","country":"DE","tags":[$T]}`,
	}},
	{method: "PATCH", path: "/api/v1/clients/$C", who: "admin", seeds: []string{`{"name":"Zed Two","tags":[],"country":"fr"}`}},
	{method: "POST", path: "/api/v1/client-tags", seeds: []string{`{"name":"VIP","company_id":$A}`}},
	{method: "PATCH", path: "/api/v1/client-tags/$T", seeds: []string{`{"name":"VIP 2"}`}},
	{method: "POST", path: "/api/v1/queues", seeds: []string{`{"name":"Billing","company_id":$A,"manager_ids":[]}`}},
	{method: "PATCH", path: "/api/v1/queues/$Q", seeds: []string{`{"name":"Billing 2"}`}},
	{method: "POST", path: "/api/v1/queues/$Q/members", seeds: []string{`{"user_ids":[$V]}`}},
	{method: "POST", path: "/api/v1/agent-groups", seeds: []string{`{"name":"Team A","manager_ids":[$V],"company_id":$A}`}},
	{method: "PUT", path: "/api/v1/me/notifications", seeds: []string{
		`{"telegram_chat_id":"42","slack_channel_id":"C1","subscriptions":[{"event_type":"user.blocked","channels":["email","telegram"]}]}`,
	}},
	{method: "PUT", path: "/api/v1/me/presence", seeds: []string{`{"status":"online"}`}},
	{method: "POST", path: "/api/v1/calls", who: "admin", seeds: []string{`{"call_id":"c-1","user_id":$V,"direction":"inbound","duration_seconds":30}`}},
	{method: "POST", path: "/api/v1/dialogues", who: "admin", seeds: []string{`{"external_id":"d-1","company_id":$A}`}},
	{method: "POST", path: "/api/v1/auth/forgot-password", seeds: []string{`{"email":"nobody@example.com"}`}},
	{method: "POST", path: "/api/v1/auth/login", signIn: true, seeds: []string{`{"username":"admin","password":"wrong"}`}},
}

// fuzzOddSeeds are bodies every target is seeded with: wrong types, odd
// numbers and text, repeated keys, values that are not objects.
var fuzzOddSeeds = []string{
	`null`, `[]`, `{}`, `{"name":null,"role_ids":"x","max_dialogues":1e99,"user_ids":[-1,0,9223372036854775807]}`,
	`{"position":"a\u0000","comment":"\ud800","name":"\u202Eevil","q":"a\"b'c%_*"}`,
	`{"countries_rule":null,"client_tags":[-1],"ip_allowlist":[""],"idle_timeout_seconds":-5,"filter":{}}`,
	`{"name":"x","name":"y"}`, `{"filter":{"q":"\u0061","Q":"b"}}`,
}

// FuzzAPI sends random bodies to the main JSON endpoints as the Main
// administrator on SQLite and asserts that the answer is never a 500 and
// that a refused request (any status but 2xx) writes nothing (issue 11).
// It runs on its seed corpus in every `go test`; explore with
//
//	go test ./web -run '^$' -fuzz '^FuzzAPI$' -fuzztime 5m
func FuzzAPI(f *testing.F) {
	for i, tg := range fuzzTargets {
		for _, s := range append(tg.seeds, fuzzOddSeeds...) {
			f.Add(uint8(i), []byte(s))
		}
	}
	store, clock := sqlstoretest.OpenClock(f, "sqlite")
	var w *fuzzWorld
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		if w == nil {
			w = newFuzzWorld(t, newEnv(t, store, clock))
		}
		e := w.e
		e.t = t
		e.log.use(t)
		tg := fuzzTargets[int(which)%len(fuzzTargets)]
		w.refresh()
		who := "root"
		if tg.who != "" {
			who = tg.who
		}
		token := e.token(who)
		path, data := w.expand(tg.path), []byte(w.expand(string(body)))
		before := w.writes()
		req := httptest.NewRequest(tg.method, path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", tg.method, path, data, rec.Code, rec.Body)
		}
		if ok := rec.Code >= 200 && rec.Code < 300; !ok && !tg.signIn {
			if after := w.writes(); after != before {
				t.Fatalf("%s %s %q answered %d but wrote %d rows: %s", tg.method, path, data, rec.Code, after-before, rec.Body)
			}
		}
	})
}

// fuzzWorld holds the fixtures the placeholders name, recreated when a
// request deleted one, and counts the rows written to the database.
type fuzzWorld struct {
	e   *env
	ids map[string]int64
}

func newFuzzWorld(t *testing.T, e *env) *fuzzWorld {
	w := &fuzzWorld{e: e, ids: map[string]int64{"$A": e.acme.ID, "$P": e.reseller.ID, "$E": e.roles[roster.RoleEmployee]}}
	installWriteCounter(t, e)
	return w
}

// refresh recreates the fixtures that no longer exist.
func (w *fuzzWorld) refresh() {
	e := w.e
	ctx := context.Background()
	exists := func(table string, id int64) bool {
		var n int
		must(e.t, e.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&n))
		return n > 0
	}
	if !exists("users", w.ids["$V"]) {
		w.ids["$V"] = e.victim().ID
	}
	if !exists("roles", w.ids["$R"]) {
		w.ids["$R"] = e.customRole().ID
	}
	if !exists("clients", w.ids["$C"]) {
		w.ids["$C"] = e.client().ID
	}
	if !exists("client_tags", w.ids["$T"]) {
		w.ids["$T"] = e.clientTag().ID
	}
	if !exists("work_groups", w.ids["$Q"]) {
		w.ids["$Q"] = e.workGroup(roster.KindQueue).ID
	}
	if !exists("companies", e.acme.ID) || !exists("companies", e.reseller.ID) {
		e.t.Fatal("a company was deleted")
	}
	w.ids["$EV"] = e.acmeEvent()
}

// expand replaces the placeholders with the fixtures' IDs, longest first.
func (w *fuzzWorld) expand(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	keys := make([]string, 0, len(w.ids))
	for k := range w.ids {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, strconv.FormatInt(w.ids[k], 10))
	}
	return s
}

// writes is the number of rows written by committed transactions.
func (w *fuzzWorld) writes() int64 {
	var n int64
	must(w.e.t, w.e.store.DB().QueryRowContext(context.Background(), `SELECT n FROM fuzz_writes`).Scan(&n))
	return n
}

// installWriteCounter adds SQLite triggers that count every row inserted,
// updated or deleted in the tables a change writes. A transaction rolled
// back takes its counts with it, so the counter moves only for committed
// writes. Left out, as in fingerprint: sign-in bookkeeping that requests
// write by design (sessions touched, failure counters).
func installWriteCounter(t *testing.T, e *env) {
	ctx := context.Background()
	db := e.store.DB()
	if e.store.Dialect() != "sqlite" {
		t.Fatal("the write counter is for SQLite")
	}
	tables, err := queryStrings(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%'`)
	must(t, err)
	stmts := []string{`CREATE TABLE fuzz_writes (n INTEGER NOT NULL)`, `INSERT INTO fuzz_writes VALUES (0)`}
	for _, table := range tables {
		if slices.Contains(fingerprintSkipTables, table) || strings.Contains(table, "_fts") {
			continue
		}
		cols, err := queryStrings(ctx, db, `SELECT name FROM pragma_table_info('`+table+`')`)
		must(t, err)
		cols = slices.DeleteFunc(cols, func(c string) bool { return slices.Contains(fingerprintSkipColumns, c) })
		for _, ev := range []string{"INSERT", "DELETE", "UPDATE OF " + strings.Join(cols, ", ")} {
			when := ""
			if table == "settings" && ev == "INSERT" {
				when = ` WHEN NEW.name NOT LIKE 'secret:%'` // made on first use, whatever the answer
			}
			stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER fuzz_%s_%s AFTER %s ON %s%s BEGIN UPDATE fuzz_writes SET n = n + 1; END`,
				table, strings.Fields(ev)[0], ev, table, when))
		}
	}
	for _, s := range stmts {
		_, err := db.ExecContext(ctx, s)
		must(t, err)
	}
}
