package sqlstore

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCacheSize bounds the prepared statements kept per pool. Roster's
// statements are mostly constant texts; the ones built with IN lists or
// filters vary, and the least recently used of those are closed.
const stmtCacheSize = 512

// stmtCache keeps one *sql.Stmt per SQL text of a pool, so that SQLite
// parses and plans a statement once per connection instead of on every run
// (a profile of GET /users/{id} spent 44% of its CPU in
// sqlite3_prepare_v2). database/sql prepares a cached statement lazily on
// each connection that runs it and, through Tx.StmtContext, reuses the
// connection's prepared statement inside transactions. A nil cache (used
// for PostgreSQL, where pgx caches statements per connection itself) runs
// every query directly.
type stmtCache struct {
	db *sql.DB

	mu      sync.Mutex
	byKey   map[string]*list.Element
	lru     list.List           // of *cachedStmt, most recently used first
	pending map[string]struct{} // missed inside transactions; see lookup
}

type cachedStmt struct {
	query   string
	stmt    *sql.Stmt
	users   int  // runs between get and put
	evicted bool // out of the cache; closed when users drops to 0
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, byKey: map[string]*list.Element{}, pending: map[string]struct{}{}}
}

// lookup returns the cached statement of query, marked in use until put,
// without preparing a new one: a transaction holds the connection, and on
// SQLite's one-connection writer pool preparing through the pool would wait
// for the transaction forever. A miss is remembered and prepared by
// preparePending once the transaction has ended.
func (c *stmtCache) lookup(query string) (*cachedStmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[query]; ok {
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		return cs, true
	}
	if len(c.pending) < stmtCacheSize {
		c.pending[query] = struct{}{}
	}
	return nil, false
}

// preparePending prepares the statements transactions missed. Call it
// only while holding no connection of the pool.
func (c *stmtCache) preparePending(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range queries {
		if cs, ok := c.get(ctx, q); ok {
			c.put(cs)
		}
	}
}

// get returns the statement of query, preparing it when it is new, marked
// in use until put. ok is false when preparing failed; the caller then runs
// the query directly, so that its error is reported as it always was.
func (c *stmtCache) get(ctx context.Context, query string) (*cachedStmt, bool) {
	c.mu.Lock()
	if e, ok := c.byKey[query]; ok {
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		c.mu.Unlock()
		return cs, true
	}
	c.mu.Unlock()
	stmt, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[query]; ok { // prepared meanwhile by another goroutine
		stmt.Close()
		c.lru.MoveToFront(e)
		cs := e.Value.(*cachedStmt)
		cs.users++
		return cs, true
	}
	cs := &cachedStmt{query: query, stmt: stmt, users: 1}
	c.byKey[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		e := c.lru.Back()
		old := e.Value.(*cachedStmt)
		c.lru.Remove(e)
		delete(c.byKey, old.query)
		old.evicted = true
		if old.users == 0 {
			old.stmt.Close()
		}
	}
	return cs, true
}

// put ends a use of cs. Rows returned by a statement stay valid after
// put: database/sql closes an evicted statement only once its rows (and
// transaction copies) are closed.
func (c *stmtCache) put(cs *cachedStmt) {
	c.mu.Lock()
	cs.users--
	closeIt := cs.evicted && cs.users == 0
	c.mu.Unlock()
	if closeIt {
		cs.stmt.Close()
	}
}

// close closes every cached statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		cs := e.Value.(*cachedStmt)
		cs.evicted = true
		if cs.users == 0 {
			cs.stmt.Close()
		}
	}
	c.byKey = map[string]*list.Element{}
	c.lru.Init()
}

// pool is a *sql.DB whose queries go through a statement cache (when it
// has one). It implements querier; everything else is the *sql.DB's.
type pool struct {
	*sql.DB
	stmts *stmtCache
}

func newPool(db *sql.DB, cache bool) *pool {
	p := &pool{DB: db}
	if cache {
		p.stmts = newStmtCache(db)
	}
	return p
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if p.stmts != nil {
		if cs, ok := p.stmts.get(ctx, query); ok {
			defer p.stmts.put(cs)
			return cs.stmt.ExecContext(ctx, args...)
		}
	}
	return p.DB.ExecContext(ctx, query, args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if p.stmts != nil {
		if cs, ok := p.stmts.get(ctx, query); ok {
			defer p.stmts.put(cs)
			return cs.stmt.QueryContext(ctx, args...)
		}
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if p.stmts != nil {
		if cs, ok := p.stmts.get(ctx, query); ok {
			defer p.stmts.put(cs)
			return cs.stmt.QueryRowContext(ctx, args...)
		}
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the cached statements and the pool.
func (p *pool) Close() error {
	p.stmts.close()
	return p.DB.Close()
}

// context is ctx, without its cancellation when tx is detached.
func (tx *Tx) context(ctx context.Context) context.Context {
	if tx.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// The statements of a write transaction are the writer pool's cached
// statements bound to the transaction's connection (Tx.StmtContext reuses
// the statement already prepared on that connection).

func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.context(ctx)
	if c := tx.s.db.stmts; c != nil {
		if cs, ok := c.lookup(query); ok {
			defer c.put(cs)
			return tx.Tx.StmtContext(ctx, cs.stmt).ExecContext(ctx, args...)
		}
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.context(ctx)
	if c := tx.s.db.stmts; c != nil {
		if cs, ok := c.lookup(query); ok {
			defer c.put(cs)
			return tx.Tx.StmtContext(ctx, cs.stmt).QueryContext(ctx, args...)
		}
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.context(ctx)
	if c := tx.s.db.stmts; c != nil {
		if cs, ok := c.lookup(query); ok {
			defer c.put(cs)
			return tx.Tx.StmtContext(ctx, cs.stmt).QueryRowContext(ctx, args...)
		}
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}
