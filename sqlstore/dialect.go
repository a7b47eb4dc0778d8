package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file holds every difference between SQLite and PostgreSQL. Elsewhere
// SQL is written once, with $1-style placeholders, which modernc's SQLite
// driver binds by number as well.

const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// dialect describes one database engine.
type dialect struct {
	name string
}

// SQLite durability levels (Config.SQLiteSynchronous): with full every
// commit waits for its WAL frames to reach the disk; with normal a commit
// is safe from a crash of the process (SIGKILL included) but the last
// commits before a power loss or kernel crash may be rolled back, and each
// write costs about half as much (no fsync per commit).
const (
	SQLiteSyncFull   = "full"
	SQLiteSyncNormal = "normal"
)

// sqliteDSN returns the DSN of the database file in dir. Times are stored as
// UTC unix microseconds and read back as time.Time; write transactions take
// the write lock at BEGIN (IMMEDIATE), so read-then-write never fails with
// SQLITE_BUSY.
func sqliteDSN(dir string, readOnly bool, synchronous string) string {
	sync := "FULL"
	if synchronous == SQLiteSyncNormal {
		sync = "NORMAL"
	}
	q := "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(" + sync + ")&_txlock=immediate&_time_integer_format=unix_micro&_inttotime=1"
	if readOnly {
		q += "&_pragma=query_only(1)"
	}
	return "file:" + filepath.Join(dir, "roster.db") + "?" + q
}

// openDBs opens the writer and reader pools. On SQLite the writer is a
// single connection (the PocketBase pattern) and reads use a separate pool;
// on PostgreSQL both are the same pool.
func openDBs(cfg Config) (writer, reader *sql.DB, d dialect, err error) {
	if cfg.DatabaseURL != "" {
		u, perr := url.Parse(cfg.DatabaseURL)
		if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, nil, d, fmt.Errorf("database URL must start with postgres://")
		}
		pc, perr := pgx.ParseConfig(cfg.DatabaseURL)
		if perr != nil {
			return nil, nil, d, fmt.Errorf("parse database URL: %w", perr)
		}
		// JIT compilation costs tens of milliseconds and only pays off for
		// long analytical queries, never for Roster's.
		if _, ok := pc.RuntimeParams["jit"]; !ok {
			pc.RuntimeParams["jit"] = "off"
		}
		// pgx prepares every statement, and PostgreSQL plans it once for
		// any parameters when that plan is as good (after five runs): the
		// session and user lookups of every request cost 0.15 ms to run
		// and 1.3 ms to plan at 1,000,000 users. The users list and search
		// are planned for their values every time (dialect.planFor).
		// A host that does not answer (down, or cut off) must not hold a
		// request, or every connection of the pool, for the minutes the
		// kernel waits: with several hosts, the next one is tried.
		if u.Query().Get("connect_timeout") == "" {
			pc.ConnectTimeout = defaultConnectTimeout
		}
		// A server that refuses writes (a demoted primary) is left: its
		// connections close, and the next one goes to whichever host
		// target_session_attrs accepts. FATAL errors close the connection
		// as pgx does by default.
		pc.OnPgError = func(_ *pgconn.PgConn, pe *pgconn.PgError) bool {
			return !strings.EqualFold(pe.Severity, "FATAL") && pe.Code != sqlstateReadOnly
		}
		// A query whose request ends (its client went away) is cancelled
		// on the server and its connection kept. pgx's default closes the
		// connection, and a burst of cancellations left requests of other
		// clients meeting closed connections ("driver: bad connection",
		// answered 503). The deadline is for a server that does not answer
		// the cancel request.
		pc.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &cancelWatcher{CancelRequestContextWatcherHandler: pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}}
		}
		db := stdlib.OpenDB(*pc, stdlib.OptionResetSession(dropCancelled))
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		return db, db, dialect{name: dialectPostgres}, nil
	}
	if cfg.DataDir == "" {
		return nil, nil, d, errors.New("sqlstore: DataDir or DatabaseURL is required")
	}
	if s := cfg.SQLiteSynchronous; s != "" && s != SQLiteSyncFull && s != SQLiteSyncNormal {
		return nil, nil, d, fmt.Errorf("sqlstore: SQLite synchronous must be %s or %s, not %q", SQLiteSyncFull, SQLiteSyncNormal, s)
	}
	w, err := sql.Open("sqlite", sqliteDSN(cfg.DataDir, false, cfg.SQLiteSynchronous))
	if err != nil {
		return nil, nil, d, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", sqliteDSN(cfg.DataDir, true, cfg.SQLiteSynchronous))
	if err != nil {
		w.Close()
		return nil, nil, d, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(sqliteReaders())
	r.SetMaxIdleConns(sqliteReaders())
	r.SetConnMaxIdleTime(0)
	return w, r, dialect{name: dialectSQLite}, nil
}

// sqliteReaders is the size of SQLite's read pool: two connections per
// CPU, at least four. Reads are CPU-bound (the database lives in the OS
// page cache), so more connections add no throughput, while each holds its
// own page cache and FTS5 buffers: on two cores eight readers kept the
// server at about 155 MB under search load, four at about 116 MB, at the
// same request rates (BENCHMARKS.md).
func sqliteReaders() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// uniqueViolation reports whether err is a unique-constraint violation, and
// the constraint's name where the driver tells it (PostgreSQL).
func (d dialect) uniqueViolation(err error) (constraint string, ok bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName, pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return "", c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return "", false
}

// foreignKeyViolation reports whether err is a foreign-key violation: a
// row written for a parent (a user, say) that another transaction deleted.
func (d dialect) foreignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// transient reports whether the database gave up on a transaction because
// of other transactions, so that running it again may succeed: a
// serialization failure (40001), a deadlock (40P01) or a lock wait that
// timed out (55P03) on PostgreSQL; a database still busy or locked after
// busy_timeout on SQLite.
func (d dialect) transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "55P03"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// cancelWatcher is pgx's CancelRequestContextWatcherHandler that marks
// its connection when it sends a cancel request (see dropCancelled).
type cancelWatcher struct {
	pgconn.CancelRequestContextWatcherHandler
}

// cancelSent is the key of cancelWatcher's mark in PgConn.CustomData.
const cancelSent = "roster.cancel_sent"

func (h *cancelWatcher) HandleCancel(ctx context.Context) {
	h.Conn.CustomData()[cancelSent] = true
	h.CancelRequestContextWatcherHandler.HandleCancel(ctx)
}

// dropCancelled keeps a connection that was sent a cancel request from
// being used again: PostgreSQL delivers the cancellation to the backend
// asynchronously, and when it arrives after the cancelled statement ended
// it cancels whatever statement runs next there, another request's
// (pgx waits 100 ms for it, which a loaded machine outlasts: roster bench
// met "canceling statement due to user request", answered 500, for a
// request that had not been cancelled). database/sql then closes the
// connection and takes or opens another; cancellations are rare, since
// they come from clients that went away.
func dropCancelled(_ context.Context, c *pgx.Conn) error {
	if c.PgConn().CustomData()[cancelSent] == true {
		return driver.ErrBadConn
	}
	return nil
}

// defaultConnectTimeout bounds one connection attempt to one PostgreSQL
// host when the URL sets no connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// sqlstateReadOnly is PostgreSQL's read_only_sql_transaction: a write on
// a server that accepts none (a standby, or a primary being demoted).
const sqlstateReadOnly = "25006"

// unreachable reports whether err says that the database could not be
// reached or went away under the request, rather than refused it: no
// connection could be made to a server accepting writes (every host down,
// or only standbys up while one is promoted), the connection broke (the
// server was killed or restarted), or the server is shutting down,
// starting up or read-only. A wrong password or database name stays an
// internal error: retrying does not mend it, and it must be seen in the
// log. SQLite, a file, has no such errors.
func (d dialect) unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", // admin_shutdown (also a postmaster that died)
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now: starting up, shutting down
			pe.Code == sqlstateReadOnly:
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Row lock strengths, as PostgreSQL names them (see dialect.lock).
// lockUpdate and lockNoKeyUpdate make concurrent changes of a row run one
// after another, each seeing the row as the one before left it;
// lockNoKeyUpdate (what an UPDATE takes) still lets other transactions
// insert rows that refer to it, lockUpdate (what a DELETE takes) does not.
// lockShare keeps a row from changing until the transaction ends;
// lockKeyShare only keeps it from being deleted (what a foreign key needs).
const (
	lockUpdate      = "UPDATE"
	lockNoKeyUpdate = "NO KEY UPDATE"
	lockShare       = "SHARE"
	lockKeyShare    = "KEY SHARE"
)

// userLock is how a transaction that changes a user locks the user's row
// first (lockUser, lockUsers): not lockUpdate, so that sign-ins, calls and
// dialogues may still refer to the user meanwhile; a delete takes the
// stronger lock when it deletes.
const userLock = lockNoKeyUpdate

// lock is the locking clause a SELECT ends with to lock the rows it reads
// until the transaction ends: " FOR <strength>" on PostgreSQL. SQLite needs
// none: a write transaction holds the database's write lock from BEGIN
// IMMEDIATE, so no other transaction changes any row meanwhile.
//
// Locks follow one order, so that transactions wait for each other
// instead of deadlocking: users first, in ascending id order, then the
// rows their change involves (roles, client tags, the company). A
// transaction on such rows alone (a role's or tag's change or deletion,
// a company's settings, a role import) locks no user after them; DeleteRole
// locks the role's holders before the role. A work group or a client is
// locked first by its own changes, which then hold its users only against
// change (lockShare); no change of a user locks a group or a client.
func (d dialect) lock(strength string) string {
	if d.name != dialectPostgres {
		return ""
	}
	return " FOR " + strength
}

// nextID is an id above every id table has given, deleted rows' included,
// for rows inserted with explicit ids (LoadFake).
func (d dialect) nextID(ctx context.Context, q querier, table string) (int64, error) {
	var id int64
	var err error
	if d.name == dialectPostgres {
		err = q.QueryRowContext(ctx, `SELECT greatest(nextval(pg_get_serial_sequence($1, 'id')), (SELECT coalesce(max(id), 0) + 1 FROM `+table+`))`,
			table).Scan(&id)
	} else {
		err = q.QueryRowContext(ctx, `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = $1), 0),
			(SELECT coalesce(max(id), 0) FROM `+table+`)) + 1`, table).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("next %s id: %w", table, err)
	}
	return id, nil
}

// afterExplicitID realigns the ID sequence after a row was inserted with an
// explicit id (the platform company). SQLite needs nothing.
func (d dialect) afterExplicitID(ctx context.Context, tx *sql.Tx, table string) error {
	if d.name != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), (SELECT max(id) FROM `+table+`))`)
	return err
}

// ftsCandidateLimit is how many matching users the SQLite trigram index may
// return, for a search over several companies, before the search counts as
// common: up to it the matches become an id list; above it the ordered index
// is walked with a LIKE filter.
const ftsCandidateLimit = 1000

// nameSortMax is the largest number of matches of a one-company search that
// SQLite sorts in an order other than by name: each costs a row lookup.
// Above it the page comes in creation order.
const nameSortMax = 1000

// userSearch is how a search term applies to a users query.
type userSearch struct {
	cond string // condition on alias u
	// fts is set when the page comes from SQLite's trigram index in name
	// order: the query then reads nameFTSJoin and orders by f.rowid
	// (company_id << 39 | the user's name position, see nameorder.go).
	fts     bool
	company int64
	// keyed says the condition uses the company trigram index, which implies
	// the company: no other index should be combined with it.
	keyed bool
	// creationOrder says the page comes in id (creation) order, whatever
	// the order asked for: sorting the matches would cost too much.
	creationOrder bool
	// total is the number of matches in the company, when the index
	// counted them (capped at totalCap).
	total          int
	totalKnown     bool
	totalCapped    bool
	totalEstimated bool
}

// pgSample is how many of a company's users, in creation order, a
// PostgreSQL search looks at to tell a common term from a rare one.
const pgSample = 500

// pgCommonInSample is the number of matches in the sample above which a term
// counts as common (1%): its matches are too many to sort by name quickly,
// and walking the company in creation order finds a page of them at once.
const pgCommonInSample = 5

// searchPostgres plans a PostgreSQL search in one company. A rare term is
// served by users_company_trgm, a GIN index of the search text's trigrams
// prefixed with the company (so its posting lists are per company and a
// search never touches other companies' rows), then counted exactly and
// sorted by name. A common term, recognised from a sample of the company,
// is paged in creation order with an estimated total.
func (d dialect) searchPostgres(ctx context.Context, q querier, b *sqlBuilder, like, term, pattern string, company int64) (userSearch, error) {
	if company == 0 || !hasTrigram(term) {
		return userSearch{cond: like}, nil
	}
	var sampled, matched int
	if err := q.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE s.search LIKE $2 ESCAPE '\')
		FROM (SELECT u.search FROM users u WHERE u.company_id = $1 ORDER BY u.id LIMIT `+strconv.Itoa(pgSample)+`) s`,
		company, pattern).Scan(&sampled, &matched); err != nil {
		return userSearch{}, fmt.Errorf("search sample: %w", err)
	}
	if sampled == pgSample && matched > pgCommonInSample {
		size, err := d.companySizeEstimate(ctx, q, company)
		if err != nil {
			return userSearch{}, err
		}
		est := max(matched, size*matched/sampled)
		return userSearch{cond: like, creationOrder: true, total: min(est, totalCap), totalKnown: true,
			totalEstimated: true, totalCapped: est > totalCap}, nil
	}
	// The keys imply the company, and they are all the index work needed:
	// the LIKE is written so that the planner cannot add the global trigram
	// index to the bitmap (see userFilterSQL for the company condition).
	keys := `roster_trgm_keys(u.company_id, u.search) @> roster_search_keys(` + b.arg(company) + `, ` + b.arg(term) + `)`
	recheck := strings.Replace(like, "u.search", "(u.search || '')", 1)
	return userSearch{cond: keys + ` AND ` + recheck, keyed: true}, nil
}

// planFor returns a query's arguments so that PostgreSQL plans the query
// for their values on every run: a plan made once for any values cannot
// tell a search term matching half a company from one matching nobody, or
// the company of 100,000 users from one of ten. pgx then sends the query
// as an unnamed statement, planned when its values are bound, instead of
// running a prepared statement. SQLite's planner does not look at values.
func (d dialect) planFor(args []any) []any {
	if d.name != dialectPostgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// companySizeEstimate is the planner's estimate of a company's users, from
// the column statistics: no rows are read.
func (d dialect) companySizeEstimate(ctx context.Context, q querier, company int64) (int, error) {
	var plan string
	if err := q.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE u.company_id = $1`,
		d.planFor([]any{company})...).Scan(&plan); err != nil {
		return 0, fmt.Errorf("company size estimate: %w", err)
	}
	var p []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
		return 0, fmt.Errorf("company size estimate: %q: %w", plan, err)
	}
	return int(p[0].Plan.Rows), nil
}

// hasTrigram reports whether term holds three letters or digits in a row,
// so that the trigram index has something to look up.
func hasTrigram(term string) bool {
	run := 0
	for _, r := range term {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run == 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// search returns how the lowered search term applies, adding its arguments
// to b. company is the one company searched, or 0 for several; order is
// the order the page is wanted in (one of roster.UserSorts, or "" for any).
//
// PostgreSQL: see searchPostgres; searches over several companies are a
// LIKE served by the pg_trgm GIN index.
//
// SQLite: the FTS5 trigram index, whose rowids are company_id << 39 | name
// position (nameorder.go): one company is a rowid range, in name order.
// The company's matches are counted (to totalCap). By name, the page is
// the range's first matches, so it stops after one page however common
// the term. In another order, up to nameSortMax matches become an id list
// that SQLite sorts; more are paged in creation order, walking the
// company's users with the term as a filter. Terms under 3 characters
// never match in FTS5 and are a filter on the company's ordered index.
func (d dialect) search(ctx context.Context, q querier, b *sqlBuilder, term string, company int64, order string) (userSearch, error) {
	if d.name == dialectPostgres {
		pattern := "%" + escapeLike(term) + "%"
		like := `u.search LIKE ` + b.arg(pattern) + ` ESCAPE '\'`
		return d.searchPostgres(ctx, q, b, like, term, pattern, company)
	}
	// SQLite: instr, not LIKE, though both find the lowered term in the
	// lowered text. A statement with "LIKE ?" is prepared again on every
	// run (the LIKE optimisation depends on the pattern's value), which
	// cost a search more than a third of its time in the SQL parser.
	like := func() string { return `instr(u.search, ` + b.arg(term) + `) > 0` }
	if len([]rune(term)) < 3 {
		return userSearch{cond: like()}, nil
	}
	match := `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
	if company == 0 {
		ids, err := queryColumn[string](ctx, q, `SELECT o.user_id FROM users_fts f CROSS JOIN user_name_order o
			ON o.company_id = f.rowid >> 39 AND o.pos = f.rowid & 549755813887
			WHERE users_fts MATCH $1 LIMIT `+strconv.Itoa(ftsCandidateLimit+1), match)
		if err != nil {
			return userSearch{}, fmt.Errorf("search index: %w", err)
		}
		if len(ids) > ftsCandidateLimit {
			return userSearch{cond: like()}, nil
		}
		return userSearch{cond: idList(ids, like())}, nil
	}
	lo, hi := nameRowidRange(company)
	// Counting to totalCap walks at most 10,001 entries of the index:
	// 0.2 to 1 ms on a 100,000-user company.
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM users_fts WHERE users_fts MATCH $1
		AND rowid BETWEEN $2 AND $3 LIMIT `+strconv.Itoa(totalCap+1)+`)`, match, lo, hi).Scan(&n); err != nil {
		return userSearch{}, fmt.Errorf("search count: %w", err)
	}
	us := userSearch{total: min(n, totalCap), totalCapped: n > totalCap, totalKnown: true, company: company}
	byName := order == "name" || order == "-name"
	switch {
	case byName && (n > nameSortMax || !isDigits(term)):
		// The statement's text is the same for every term: prepared once.
		// No recheck of the text: the index's matches are the matches
		// (those it counted), and the page's IDs come from the index
		// alone, without reading a user's row.
		us.fts = true
		us.cond = `users_fts MATCH ` + b.arg(match) + ` AND f.rowid BETWEEN ` + b.arg(lo) + ` AND ` + b.arg(hi)
	case n > nameSortMax:
		us.cond, us.creationOrder = like(), true
	default:
		// An id list, which SQLite sorts in any order; for a term of digits
		// userFilterSQL adds the user of that ID.
		ids, err := queryColumn[string](ctx, q, `SELECT o.user_id FROM users_fts f CROSS JOIN user_name_order o
			ON o.company_id = $4 AND o.pos = f.rowid & 549755813887
			WHERE users_fts MATCH $1 AND f.rowid BETWEEN $2 AND $3`, match, lo, hi, company)
		if err != nil {
			return userSearch{}, fmt.Errorf("search index: %w", err)
		}
		us.cond = idList(ids, like())
	}
	return us, nil
}

// idList is the condition "u.id in these ids (and the LIKE)". The ids come
// from the database as integers: safe to inline, and an inline list lets
// SQLite's planner see rowid lookups; "+u.company_id" keeps it off the
// company index.
func idList(ids []string, like string) string {
	if len(ids) == 0 {
		return "0 = 1"
	}
	return `u.id IN (` + strings.Join(ids, ",") + `) AND +u.company_id = u.company_id AND ` + like
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// lastLoginKey is the users list's last-sign-in sort key on alias u: never
// signed in is the earliest time (year 1), so the key is never NULL. It is
// the expression of the users_company_login index (migration 0011), and
// binding time.Time{} compares equal to it on both engines.
func (d dialect) lastLoginKey() string {
	if d.name == dialectPostgres {
		return `coalesce(u.last_login_at, '0001-01-01 00:00:00+00'::timestamptz)`
	}
	return `coalesce(u.last_login_at, -62135596800000000)`
}

// setSortNames writes sort_name for a batch of users: one statement on
// PostgreSQL, one prepared statement a row on SQLite, where that is cheap.
func (d dialect) setSortNames(ctx context.Context, tx *sql.Tx, ids []int64, names []string) error {
	if len(ids) == 0 {
		return nil
	}
	if d.name == dialectPostgres {
		_, err := tx.ExecContext(ctx, updateUsers+`sort_name = v.s FROM unnest($1::bigint[], $2::text[]) AS v(id, s) WHERE users.id = v.id`, ids, names)
		return err
	}
	st, err := tx.PrepareContext(ctx, updateUsers+`sort_name = $1 WHERE id = $2`)
	if err != nil {
		return err
	}
	defer st.Close()
	for i, id := range ids {
		if _, err := st.ExecContext(ctx, names[i], id); err != nil {
			return err
		}
	}
	return nil
}

// deleteExpiredSessions deletes sessions past their absolute or idle expiry:
// interval arithmetic on PostgreSQL, integer microseconds on SQLite.
func (d dialect) deleteExpiredSessions(ctx context.Context, q querier, now time.Time) (sql.Result, error) {
	if d.name == dialectPostgres {
		return q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1
			OR last_seen_at + idle_timeout_seconds * interval '1 second' <= $1`, now)
	}
	return q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1
		OR last_seen_at + idle_timeout_seconds * 1000000 <= $2`, now, now.UnixMicro())
}

// loadUsers bulk-inserts LoadFake's users and their roles: COPY on
// PostgreSQL (with the trigram index built afterwards), one transaction and
// prepared statements on SQLite.
func (d dialect) loadUsers(ctx context.Context, s *Store, g *fakeUsers, firstID int64) error {
	if d.name == dialectPostgres {
		return loadUsersPostgres(ctx, s, g, firstID)
	}
	// A big page cache keeps the randomly ordered index pages in memory
	// instead of spilling them to the WAL again and again.
	if _, err := s.db.ExecContext(ctx, `PRAGMA cache_size = -524288`); err != nil {
		return fmt.Errorf("cache size: %w", err)
	}
	defer s.db.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
	if err := s.write(ctx, func(tx *Tx) error { return loadUsersSQLite(ctx, tx, g, firstID) }); err != nil {
		return err
	}
	return analyzeSQLite(ctx, s.db)
}

// analyzeSQLite gathers the planner's statistics, keeping only the
// per-index row counts (sqlite_stat1). The samples of sqlite_stat4 let
// the planner look at a statement's bound values, and SQLite then
// prepares the statement again whenever they change: with them, a search
// spent 15% of its CPU re-preparing its own statements and those inside
// the trigram index, and ran 20% slower (181/172 against 211/217 req/s
// in alternating runs of roster bench).
func analyzeSQLite(ctx context.Context, db *pool) error {
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	var stat4 int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&stat4); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if stat4 > 0 {
		if _, err := db.ExecContext(ctx, `DELETE FROM sqlite_stat4`); err != nil {
			return fmt.Errorf("analyze: drop samples: %w", err)
		}
	}
	return nil
}

// loadUsersSQLite inserts LoadFake's users in tx with prepared statements,
// building the indexes once at the end.
func loadUsersSQLite(ctx context.Context, tx *Tx, g *fakeUsers, firstID int64) error {
	n := g.opts.Users
	ps := make([]string, len(fakeColumns))
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(i+1)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO users (`+strings.Join(fakeColumns, ", ")+`) VALUES (`+strings.Join(ps, ", ")+`)`)
	if err != nil {
		return fmt.Errorf("prepare fake users: %w", err)
	}
	defer ins.Close()
	insRole, err := tx.PrepareContext(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)`)
	if err != nil {
		return fmt.Errorf("prepare fake roles: %w", err)
	}
	defer insRole.Close()
	// Building indexes once after the rows (a sort) is several times faster
	// than maintaining them row by row.
	indexes, err := queryColumn[string](ctx, tx, `SELECT sql FROM sqlite_master WHERE type = 'index'
		AND tbl_name IN ('users', 'user_roles') AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	names, err := queryColumn[string](ctx, tx, `SELECT name FROM sqlite_master WHERE type = 'index'
		AND tbl_name IN ('users', 'user_roles') AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			return fmt.Errorf("drop index: %w", err)
		}
	}
	// Placing the users in the name order and filling the trigram index in
	// one statement each after the rows is faster than triggers per row.
	// The users are all in new companies: they are spread evenly over
	// each company's positions, as migration 0022 spreads existing users.
	triggers, err := queryColumn[string](ctx, tx, `SELECT sql FROM sqlite_master WHERE type = 'trigger'
		AND name IN ('users_name_insert', 'user_name_order_insert') ORDER BY name`)
	if err != nil || len(triggers) != 2 {
		return fmt.Errorf("name order triggers: %v (%d found)", err, len(triggers))
	}
	for _, name := range []string{"users_name_insert", "user_name_order_insert"} {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+name); err != nil {
			return fmt.Errorf("name order trigger: %w", err)
		}
	}
	for i := range n {
		u, role := g.user(i)
		id := firstID + int64(i)
		if _, err := ins.ExecContext(ctx, fakeUserRow(u, id)...); err != nil {
			return fmt.Errorf("insert fake user: %w", err)
		}
		if _, err := insRole.ExecContext(ctx, id, role); err != nil {
			return fmt.Errorf("insert fake role: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_name_order (user_id, company_id, pos)
		SELECT id, company_id, (row_number() OVER byName) * ($2 / (count(*) OVER company + 1)) FROM users WHERE id >= $1
		WINDOW byName AS (PARTITION BY company_id ORDER BY sort_name, id), company AS (PARTITION BY company_id)`,
		firstID, namePosEnd); err != nil {
		return fmt.Errorf("fill name order: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users_fts (rowid, search)
		SELECT (o.company_id << 39) | o.pos, u.search FROM user_name_order o JOIN users u ON u.id = o.user_id
		WHERE o.user_id >= $1`, firstID); err != nil {
		return fmt.Errorf("fill search index: %w", err)
	}
	for _, ddl := range triggers {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("name order trigger: %w", err)
		}
	}
	for _, ddl := range indexes {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("rebuild index: %w", err)
		}
	}
	return nil
}

func loadUsersPostgres(ctx context.Context, s *Store, g *fakeUsers, firstID int64) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Building the indexes once after COPY is several times faster than
	// maintaining them row by row (the GIN index above all).
	const secondary = `FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND t.relname IN ('users', 'user_roles') AND NOT x.indisprimary
		ORDER BY c.relname`
	indexes, err := queryColumn[string](ctx, conn, `SELECT pg_get_indexdef(x.indexrelid) `+secondary)
	if err != nil {
		return err
	}
	names, err := queryColumn[string](ctx, conn, `SELECT quote_ident(c.relname) `+secondary)
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := conn.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			return fmt.Errorf("drop index: %w", err)
		}
	}
	roles := make([][]any, 0, g.opts.Users)
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i >= g.opts.Users {
				return nil, nil
			}
			u, role := g.user(i)
			id := firstID + int64(i)
			i++
			roles = append(roles, []any{id, role})
			return fakeUserRow(u, id), nil
		})
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{"users"}, fakeColumns, src); err != nil {
			return fmt.Errorf("copy users: %w", err)
		}
		if _, err := pc.CopyFrom(ctx, pgx.Identifier{"user_roles"}, []string{"user_id", "role_id"}, pgx.CopyFromRows(roles)); err != nil {
			return fmt.Errorf("copy user roles: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	after := append([]string{`SET maintenance_work_mem = '256MB'`}, indexes...)
	for _, q := range append(after,
		`SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`,
		`VACUUM ANALYZE users`, `VACUUM ANALYZE user_roles`) {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("after copy: %s: %w", q, err)
		}
	}
	return nil
}

// queryColumn returns a one-column result as values of T.
func queryColumn[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
