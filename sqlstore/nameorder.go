package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The name order of SQLite's trigram index (migration 0022).
//
// Each user has a position in their company's name order
// (user_name_order.pos), ordered like (sort_name, id), and the trigram
// index's rowid is company_id << 39 | pos: FTS5 hands out a term's matches
// in rowid order, so they come in name order and a page stops after 51.
// Positions are sparse, so that placing a user rarely moves another: a new
// position goes halfway between the neighbours', and where two neighbours
// have no room between them, the users around them are spread out again
// (respace), over a window that widens until it has room.
//
// The triggers take a user out of the order when created, renamed or moved
// to another company (user_name_unplaced); placeNames puts them back at the
// end of each write transaction, so that every committed user is placed.
// PostgreSQL has none of this: its search index keeps no order.
const (
	namePosBits = 39
	// namePosEnd is the first position past the end: positions lie in
	// (0, namePosEnd).
	namePosEnd int64 = 1 << namePosBits
	// nameStep is the distance of a user placed after the last or before the
	// first one from that neighbour, when there is that much room.
	nameStep int64 = 1 << 24
	// nameRespaceMin is the least room a respaced window leaves between
	// neighbours: twelve halvings before the next respace there.
	nameRespaceMin int64 = 1 << 12
	// nameRespaceFirst is how many users on each side of the crowded gap a
	// respace moves first; each further try moves four times as many.
	nameRespaceFirst = 8
)

// nameOrderTables are the name order's tables, which only SQLite has.
var nameOrderTables = []string{"user_name_order", "user_name_unplaced"}

// nameRowid is the trigram index's rowid of the position pos in company.
func nameRowid(company, pos int64) int64 { return company<<namePosBits | pos }

// nameRowidRange is the range of company's rowids in the trigram index.
func nameRowidRange(company int64) (lo, hi int64) {
	return nameRowid(company, 0), nameRowid(company, namePosEnd-1)
}

// nameFTSJoin reads users through the trigram index's matches (alias f),
// by way of their positions (alias o). The users join is a LEFT JOIN so
// that SQLite leaves it out of a query that reads no column of u: a page
// of a search without other filters is read from the two indexes alone
// (userFilterSQL puts its company condition on o). Any condition on u
// drops the rows without a user, as an inner join would.
const nameFTSJoin = `users_fts f CROSS JOIN user_name_order o ON o.company_id = f.rowid >> 39 AND o.pos = f.rowid & 549755813887
	LEFT JOIN users u ON u.id = o.user_id`

// withNamesPlaced wraps a write transaction's function so that it ends by
// placing the users it left unplaced (SQLite only).
func (s *Store) withNamesPlaced(ctx context.Context, fn func(tx *Tx) error) func(tx *Tx) error {
	if s.d.name != dialectSQLite {
		return fn
	}
	return func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if ok, err := s.hasNameOrder(ctx, tx); err != nil || !ok {
			return err
		}
		return placeNames(ctx, tx)
	}
}

// hasNameOrder reports whether the schema has the name order: a database
// migrated only up to an earlier version (by the tests) has not.
func (s *Store) hasNameOrder(ctx context.Context, tx *Tx) (bool, error) {
	switch s.nameOrder.Load() {
	case nameOrderYes:
		return true, nil
	case nameOrderNo:
		return false, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'user_name_unplaced'`).Scan(&n); err != nil {
		return false, fmt.Errorf("place names: %w", err)
	}
	if n == 0 {
		s.nameOrder.Store(nameOrderNo)
		return false, nil
	}
	s.nameOrder.Store(nameOrderYes)
	return true, nil
}

// The values of Store.nameOrder; zero is not known yet.
const (
	nameOrderYes = 1
	nameOrderNo  = 2
)

// placeNames places every unplaced user in their company's name order,
// in name order, so that the users of one import fill their gaps in turn.
func placeNames(ctx context.Context, tx *Tx) error {
	for {
		// CROSS JOIN: the (nearly always empty) list of the unplaced leads.
		// Left to itself, SQLite read users in the ORDER BY's index order,
		// all 100,000 of a company, to find none.
		rows, err := tx.QueryContext(ctx, `SELECT n.user_id, u.company_id, u.sort_name FROM user_name_unplaced n
			CROSS JOIN users u ON u.id = n.user_id LIMIT 500`)
		if err != nil {
			return fmt.Errorf("place names: %w", err)
		}
		type unplaced struct {
			id, company int64
			name        string
		}
		var us []unplaced
		for rows.Next() {
			var u unplaced
			if err := rows.Scan(&u.id, &u.company, &u.name); err != nil {
				rows.Close()
				return fmt.Errorf("place names: %w", err)
			}
			us = append(us, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("place names: %w", err)
		}
		if len(us) == 0 {
			return nil
		}
		slices.SortFunc(us, func(a, b unplaced) int {
			return cmp.Or(cmp.Compare(a.company, b.company), strings.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
		})
		for _, u := range us {
			if err := placeName(ctx, tx, u.id, u.company, u.name); err != nil {
				return err
			}
		}
	}
}

// placeName places one user, whose sort_name is name, between the placed
// users before and after them in name order.
func placeName(ctx context.Context, tx *Tx, id, company int64, name string) error {
	lo, hasLo, err := neighbourPos(ctx, tx, company, name, id, true)
	if err != nil {
		return err
	}
	hi, hasHi, err := neighbourPos(ctx, tx, company, name, id, false)
	if err != nil {
		return err
	}
	if !hasLo {
		lo = 0
	}
	if !hasHi {
		hi = namePosEnd
	}
	var pos int64
	switch gap := hi - lo; {
	case gap < 2:
		return respaceNames(ctx, tx, id, company, lo, hasLo, hi, hasHi)
	case !hasLo && !hasHi:
		pos = namePosEnd / 2
	case !hasHi:
		pos = lo + min(nameStep, gap/2)
	case !hasLo:
		pos = hi - min(nameStep, gap/2)
	default:
		pos = lo + gap/2
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_name_unplaced WHERE user_id = $1`, id); err != nil {
		return fmt.Errorf("place name: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_name_order (user_id, company_id, pos) VALUES ($1, $2, $3)`, id, company, pos); err != nil {
		return fmt.Errorf("place name: %w", err)
	}
	return nil
}

// neighbourPos is the position of the placed user just before (or after)
// (name, id) in company's name order; ok is false when there is none.
func neighbourPos(ctx context.Context, tx *Tx, company int64, name string, id int64, before bool) (pos int64, ok bool, err error) {
	err = tx.QueryRowContext(ctx, nameNeighbourSQL(before, "$1", "$2", "$3"), company, name, id).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("place name: %w", err)
	}
	return pos, true, nil
}

// nameNeighbourSQL selects the position of the placed user just before
// (or after) the user (name, id) in company's name order, found through
// users_company_name. name and id need not be a user's: the user a cursor
// points at may since have been renamed or deleted.
func nameNeighbourSQL(before bool, company, name, id string) string {
	if before {
		return `SELECT o.pos FROM users p JOIN user_name_order o ON o.user_id = p.id
		WHERE p.company_id = ` + company + ` AND p.sort_name <= ` + name + ` AND (p.sort_name, p.id) < (` + name + `, ` + id + `)
		ORDER BY p.sort_name DESC, p.id DESC LIMIT 1`
	}
	return `SELECT o.pos FROM users p JOIN user_name_order o ON o.user_id = p.id
		WHERE p.company_id = ` + company + ` AND p.sort_name >= ` + name + ` AND (p.sort_name, p.id) > (` + name + `, ` + id + `)
		ORDER BY p.sort_name, p.id LIMIT 1`
}

// nameCursorCond is the condition on f.rowid that keeps the users after
// (cmp ">") or before ("<") a cursor's user (name, id) in company's name
// order: from the position of the first placed user past it, read in the
// page's own statement so that both see the same positions.
func nameCursorCond(b *sqlBuilder, company int64, name string, id int64, cmp string) string {
	c, n, i := b.arg(company), b.arg(name), b.arg(id)
	return `f.rowid ` + cmp + `= ((` + c + ` << 39) | (` + nameNeighbourSQL(cmp == "<", c, n, i) + `))`
}

// placedUser is a user's position in the name order.
type placedUser struct{ id, pos int64 }

// respaceNames places user id where its neighbours at lo and hi (when
// hasLo, hasHi) leave no room: it takes the users around the gap, up to an
// unmoved user on each side (or the end of the order), and spreads them
// and the new one evenly over the room between, widening the window until
// that room is at least nameRespaceMin a user, or the window is the whole
// company.
func respaceNames(ctx context.Context, tx *Tx, id, company, lo int64, hasLo bool, hi int64, hasHi bool) error {
	for k := nameRespaceFirst; ; k *= 4 {
		var left, right []placedUser
		var err error
		if hasLo {
			if left, err = placedFrom(ctx, tx, company, lo, true, k+1); err != nil {
				return err
			}
		}
		if hasHi {
			if right, err = placedFrom(ctx, tx, company, hi, false, k+1); err != nil {
				return err
			}
		}
		start, end := int64(0), namePosEnd
		if len(left) > k {
			start, left = left[k].pos, left[:k]
		}
		if len(right) > k {
			end, right = right[k].pos, right[:k]
		}
		slices.Reverse(left)
		moved := append(append(left, placedUser{id: id}), right...)
		step := (end - start) / int64(len(moved)+1)
		whole := start == 0 && end == namePosEnd
		if step < nameRespaceMin && !whole {
			continue
		}
		if step < 1 {
			return fmt.Errorf("place name: company %d has no room left in its name order", company)
		}
		// Out of the order, then back in at their new positions: the
		// triggers move their rows of the trigram index.
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_name_order WHERE company_id = $1 AND pos > $2 AND pos < $3`, company, start, end); err != nil {
			return fmt.Errorf("respace names: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_name_unplaced WHERE user_id = $1`, id); err != nil {
			return fmt.Errorf("respace names: %w", err)
		}
		for i, u := range moved {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_name_order (user_id, company_id, pos) VALUES ($1, $2, $3)`,
				u.id, company, start+int64(i+1)*step); err != nil {
				return fmt.Errorf("respace names: %w", err)
			}
		}
		return nil
	}
}

// placedFrom returns up to n placed users of company from position pos on,
// going down (down) or up, pos included.
func placedFrom(ctx context.Context, tx *Tx, company, pos int64, down bool, n int) ([]placedUser, error) {
	q := `SELECT user_id, pos FROM user_name_order WHERE company_id = $1 AND pos >= $2 ORDER BY pos LIMIT $3`
	if down {
		q = `SELECT user_id, pos FROM user_name_order WHERE company_id = $1 AND pos <= $2 ORDER BY pos DESC LIMIT $3`
	}
	rows, err := tx.QueryContext(ctx, q, company, pos, n)
	if err != nil {
		return nil, fmt.Errorf("respace names: %w", err)
	}
	defer rows.Close()
	var out []placedUser
	for rows.Next() {
		var u placedUser
		if err := rows.Scan(&u.id, &u.pos); err != nil {
			return nil, fmt.Errorf("respace names: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
