package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
)

var _ roster.ClientService = (*Store)(nil)

func tagNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// ClientTags lists a company's client tags with client counts.
func (s *Store) ClientTags(ctx context.Context, companyID int64) ([]*roster.ClientTag, error) {
	var b sqlBuilder
	b.cond(`t.company_id = ` + b.arg(companyID))
	return loadTags(ctx, s.rdb, &b, "")
}

// loadTags reads the tags matching b's conditions (alias t); lock is a
// locking clause for their rows.
func loadTags(ctx context.Context, q querier, b *sqlBuilder, lock string) ([]*roster.ClientTag, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.id, t.company_id, t.name, t.created_at, t.updated_at,
		(SELECT count(*) FROM client_tag_links l WHERE l.tag_id = t.id) FROM client_tags t`+b.whereSQL()+` ORDER BY t.name_key, t.id`+lock, b.args...)
	if err != nil {
		return nil, fmt.Errorf("client tags: %w", err)
	}
	defer rows.Close()
	out := []*roster.ClientTag{}
	for rows.Next() {
		t := &roster.ClientTag{}
		if err := rows.Scan(&t.ID, &t.CompanyID, &t.Name, &t.CreatedAt, &t.UpdatedAt, &t.ClientCount); err != nil {
			return nil, fmt.Errorf("client tags: %w", err)
		}
		t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// ClientTagByID returns a client tag in scope.
func (s *Store) ClientTagByID(ctx context.Context, scope roster.Scope, id int64) (*roster.ClientTag, error) {
	return findTag(ctx, s.rdb, scope, id)
}

func findTag(ctx context.Context, q querier, scope roster.Scope, id int64) (*roster.ClientTag, error) {
	return queryTag(ctx, q, scope, id, "")
}

// lockTag is findTag that also locks the tag's row until tx ends, with
// strength (see dialect.lock): of two deletes, the second finds no tag.
func lockTag(ctx context.Context, tx *Tx, scope roster.Scope, id int64, strength string) (*roster.ClientTag, error) {
	return queryTag(ctx, tx, scope, id, tx.s.d.lock(strength))
}

func queryTag(ctx context.Context, q querier, scope roster.Scope, id int64, lock string) (*roster.ClientTag, error) {
	var b sqlBuilder
	b.cond(`t.id = ` + b.arg(id))
	if !b.scopeCond(scope, "t.company_id") {
		return nil, notFound("Client tag")
	}
	ts, err := loadTags(ctx, q, &b, lock)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, notFound("Client tag")
	}
	return ts[0], nil
}

func validateTagName(name *string) error {
	var v roster.Validation
	roster.ValidateWorkGroupName(&v, "name", name)
	return v.Err()
}

func tagConflict(name string) error {
	return roster.Conflict("name", fmt.Sprintf("A client tag %q exists already.", name))
}

// CreateClientTag adds a client tag; names are unique case-insensitively.
func (s *Store) CreateClientTag(ctx context.Context, t *roster.ClientTag) error {
	if err := validateTagName(&t.Name); err != nil {
		return err
	}
	return s.write(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO client_tags (company_id, name, name_key, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) RETURNING id`, t.CompanyID, t.Name, tagNameKey(t.Name), tx.now).Scan(&t.ID)
		if _, ok := s.d.uniqueViolation(err); ok {
			return tagConflict(t.Name)
		} else if err != nil {
			return fmt.Errorf("create client tag: %w", err)
		}
		t.CreatedAt, t.UpdatedAt = tx.now, tx.now
		return writeEvent(ctx, tx, &roster.Event{Type: roster.EventClientTagCreated, CompanyID: t.CompanyID, TargetName: t.Name,
			After: map[string]any{"id": t.ID, "name": t.Name}})
	})
}

// RenameClientTag renames a client tag in scope.
func (s *Store) RenameClientTag(ctx context.Context, scope roster.Scope, id int64, name string) (*roster.ClientTag, error) {
	if err := validateTagName(&name); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.ClientTag, error) {
		t, err := lockTag(ctx, tx, scope, id, lockNoKeyUpdate)
		if err != nil {
			return nil, err
		}
		if t.Name == name {
			return t, nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE client_tags SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4`, name, tagNameKey(name), tx.now, t.ID)
		if _, ok := s.d.uniqueViolation(err); ok {
			return nil, tagConflict(name)
		} else if err != nil {
			return nil, fmt.Errorf("rename client tag: %w", err)
		}
		if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventClientTagUpdated, CompanyID: t.CompanyID, TargetName: name,
			Before: map[string]any{"id": t.ID, "name": t.Name}, After: map[string]any{"id": t.ID, "name": name}}); err != nil {
			return nil, err
		}
		t.Name, t.UpdatedAt = name, tx.now
		return t, nil
	})
}

// DeleteClientTag deletes a client tag; clients and users lose it.
func (s *Store) DeleteClientTag(ctx context.Context, scope roster.Scope, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		t, err := lockTag(ctx, tx, scope, id, lockUpdate)
		if err != nil {
			return err
		}
		if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventClientTagDeleted, CompanyID: t.CompanyID, TargetName: t.Name,
			Before: map[string]any{"id": t.ID, "name": t.Name, "client_count": t.ClientCount}}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_tags WHERE id = $1`, t.ID); err != nil {
			return fmt.Errorf("delete client tag: %w", err)
		}
		return nil
	})
}

// visibilitySQL adds vis's conditions on client alias c.
func visibilitySQL(b *sqlBuilder, vis *roster.Visibility) {
	if vis == nil {
		return
	}
	if len(vis.TagIDs) > 0 {
		b.cond(`EXISTS (SELECT 1 FROM client_tag_links l WHERE l.client_id = c.id AND l.tag_id IN (` + b.inInts(vis.TagIDs) + `))`)
	}
	if r := vis.Countries; r.Mode != "" {
		list := make([]string, len(r.Countries))
		for i, c := range r.Countries {
			list[i] = b.arg(c)
		}
		switch {
		case r.Mode == roster.CountriesOnly && len(list) == 0:
			b.cond(`0 = 1`)
		case r.Mode == roster.CountriesOnly:
			b.cond(`c.country IN (` + strings.Join(list, ", ") + `)`)
		case len(list) > 0:
			b.cond(`c.country NOT IN (` + strings.Join(list, ", ") + `)`)
		}
	}
}

const clientColumns = `c.id, c.company_id, c.name, c.email, c.phone, c.country, c.created_at, c.updated_at`

// Clients lists the clients of a company the viewer may see. A search
// matches name, e-mail and phone only when the viewer sees them unmasked;
// with masking it matches the ID and the country alone, so a masked value
// can never be probed by searching for it.
func (s *Store) Clients(ctx context.Context, companyID int64, vis *roster.Visibility, f roster.ClientFilter) (*roster.ClientPage, error) {
	var v roster.Validation
	if f.Limit == 0 {
		f.Limit = roster.DefaultPageSize
	}
	if f.Limit < 1 || f.Limit > roster.MaxPageSize {
		v.Add("limit", "out_of_range", "The page size is 1 to 200.")
	}
	if f.Offset < 0 {
		v.Add("offset", "out_of_range", "The offset is not negative.")
	}
	f.Query = strings.TrimSpace(f.Query)
	if len([]rune(f.Query)) > 100 {
		v.Add("q", "too_long", "A search is at most 100 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var b sqlBuilder
	b.cond(`c.company_id = ` + b.arg(companyID))
	visibilitySQL(&b, vis)
	if f.TagID != nil {
		b.cond(`EXISTS (SELECT 1 FROM client_tag_links l2 WHERE l2.client_id = c.id AND l2.tag_id = ` + b.arg(*f.TagID) + `)`)
	}
	if f.Country != "" {
		b.cond(`c.country = ` + b.arg(strings.ToUpper(f.Country)))
	}
	if term := strings.ToLower(f.Query); term != "" {
		var conds []string
		if id, err := strconv.ParseInt(term, 10, 64); err == nil {
			conds = append(conds, `c.id = `+b.arg(id))
		}
		conds = append(conds, `lower(c.country) = `+b.arg(term))
		if vis == nil || !vis.Mask {
			p := b.arg("%" + escapeLike(term) + "%")
			conds = append(conds, `c.search LIKE `+p+` ESCAPE '\'`)
		}
		b.cond(`(` + strings.Join(conds, " OR ") + `)`)
	}
	page := &roster.ClientPage{Items: []*roster.Client{}}
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM clients c`+b.whereSQL(), b.args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("count clients: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients c`+b.whereSQL()+
		` ORDER BY c.name, c.id LIMIT `+b.arg(f.Limit)+` OFFSET `+b.arg(f.Offset), b.args...)
	if err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	rows.Close()
	return page, finishClients(ctx, s.rdb, vis, page.Items)
}

func scanClient(rs rowScanner) (*roster.Client, error) {
	c := &roster.Client{Tags: []roster.TagRef{}}
	if err := rs.Scan(&c.ID, &c.CompanyID, &c.Name, &c.Email, &c.Phone, &c.Country, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, fmt.Errorf("scan client: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// finishClients loads tags and masks what the viewer may not see.
func finishClients(ctx context.Context, q querier, vis *roster.Visibility, cs []*roster.Client) error {
	if len(cs) == 0 {
		return nil
	}
	byID := map[int64]*roster.Client{}
	ids := make([]int64, 0, len(cs))
	for _, c := range cs {
		byID[c.ID] = c
		ids = append(ids, c.ID)
		if vis != nil && vis.Mask {
			c.MaskFields()
		}
	}
	var b sqlBuilder
	rows, err := q.QueryContext(ctx, `SELECT l.client_id, t.id, t.name FROM client_tag_links l JOIN client_tags t ON t.id = l.tag_id
		WHERE l.client_id IN (`+b.inInts(ids)+`) ORDER BY t.name_key, t.id`, b.args...)
	if err != nil {
		return fmt.Errorf("client tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid int64
		var t roster.TagRef
		if err := rows.Scan(&cid, &t.ID, &t.Name); err != nil {
			return fmt.Errorf("client tags: %w", err)
		}
		byID[cid].Tags = append(byID[cid].Tags, t)
	}
	return rows.Err()
}

func findClient(ctx context.Context, q querier, scope roster.Scope, vis *roster.Visibility, id int64) (*roster.Client, error) {
	return queryClient(ctx, q, scope, vis, id, "")
}

// lockClient is findClient that also locks the client's row until tx
// ends, with strength (see dialect.lock): changes of one client run one
// after another.
func lockClient(ctx context.Context, tx *Tx, scope roster.Scope, vis *roster.Visibility, id int64, strength string) (*roster.Client, error) {
	return queryClient(ctx, tx, scope, vis, id, tx.s.d.lock(strength))
}

func queryClient(ctx context.Context, q querier, scope roster.Scope, vis *roster.Visibility, id int64, lock string) (*roster.Client, error) {
	var b sqlBuilder
	b.cond(`c.id = ` + b.arg(id))
	if !b.scopeCond(scope, "c.company_id") {
		return nil, notFound("Client")
	}
	visibilitySQL(&b, vis)
	c, err := scanClient(q.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients c`+b.whereSQL()+lock, b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Client")
	} else if err != nil {
		return nil, err
	}
	return c, finishClients(ctx, q, vis, []*roster.Client{c})
}

// ClientByID returns a client the viewer may see.
func (s *Store) ClientByID(ctx context.Context, scope roster.Scope, vis *roster.Visibility, id int64) (*roster.Client, error) {
	return findClient(ctx, s.rdb, scope, vis, id)
}

func clientSearch(c *roster.Client) string {
	parts := []string{c.Name, c.Email, c.Phone}
	if d := digitsOnly(c.Phone); d != "" && d != c.Phone {
		parts = append(parts, d)
	}
	return strings.ToLower(strings.Join(parts, " "))
}

func clientFields(c *roster.Client) map[string]any {
	tags := make([]int64, 0, len(c.Tags))
	for _, t := range c.Tags {
		tags = append(tags, t.ID)
	}
	return map[string]any{"id": c.ID, "name": c.Name, "email": c.Email, "phone": c.Phone, "country": c.Country, "tags": tags}
}

func setClientTags(ctx context.Context, tx *Tx, c *roster.Client, ids []int64) error {
	ids = sortedIDs(dedupe(ids))
	if err := checkTagIDs(ctx, tx, c.CompanyID, "tags", ids); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_tag_links WHERE client_id = $1`, c.ID); err != nil {
		return fmt.Errorf("client tags: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_tag_links (client_id, tag_id) VALUES ($1, $2)`, c.ID, id); err != nil {
			return fmt.Errorf("client tags: %w", err)
		}
	}
	c.Tags = []roster.TagRef{}
	return finishClients(ctx, tx, nil, []*roster.Client{c})
}

// CreateClient adds a client to a company.
func (s *Store) CreateClient(ctx context.Context, companyID int64, in roster.ClientInput) (*roster.Client, error) {
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.Client, error) {
		return createClient(ctx, tx, companyID, in)
	})
}

func createClient(ctx context.Context, tx *Tx, companyID int64, in roster.ClientInput) (*roster.Client, error) {
	c := &roster.Client{CompanyID: companyID, Name: *in.Name, Tags: []roster.TagRef{}, CreatedAt: tx.now, UpdatedAt: tx.now}
	for _, p := range []struct{ dst, src *string }{{&c.Email, in.Email}, {&c.Phone, in.Phone}, {&c.Country, in.Country}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO clients (company_id, name, email, phone, country, search, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, companyID, c.Name, c.Email, c.Phone, c.Country, clientSearch(c), tx.now).Scan(&c.ID); err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	if in.TagIDs != nil {
		if err := setClientTags(ctx, tx, c, *in.TagIDs); err != nil {
			return nil, err
		}
	}
	if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventClientCreated, CompanyID: companyID, TargetName: c.Name, After: clientFields(c)}); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateClient changes a client the viewer may see.
func (s *Store) UpdateClient(ctx context.Context, scope roster.Scope, vis *roster.Visibility, id int64, in roster.ClientInput) (*roster.Client, error) {
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	return writeResult(ctx, s, func(tx *Tx) (*roster.Client, error) {
		return updateClient(ctx, tx, scope, vis, id, in)
	})
}

func updateClient(ctx context.Context, tx *Tx, scope roster.Scope, vis *roster.Visibility, id int64, in roster.ClientInput) (*roster.Client, error) {
	c, err := lockClient(ctx, tx, scope, vis, id, lockNoKeyUpdate)
	if err != nil {
		return nil, err
	}
	before := clientFields(c)
	for _, p := range []struct{ dst, src *string }{{&c.Name, in.Name}, {&c.Email, in.Email}, {&c.Phone, in.Phone}, {&c.Country, in.Country}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	c.UpdatedAt = tx.now
	if _, err := tx.ExecContext(ctx, `UPDATE clients SET name = $1, email = $2, phone = $3, country = $4, search = $5, updated_at = $6 WHERE id = $7`,
		c.Name, c.Email, c.Phone, c.Country, clientSearch(c), tx.now, c.ID); err != nil {
		return nil, fmt.Errorf("update client: %w", err)
	}
	if in.TagIDs != nil {
		if err := setClientTags(ctx, tx, c, *in.TagIDs); err != nil {
			return nil, err
		}
	}
	if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventClientUpdated, CompanyID: c.CompanyID, TargetName: c.Name,
		Before: before, After: clientFields(c)}); err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteClient deletes a client the viewer may see.
func (s *Store) DeleteClient(ctx context.Context, scope roster.Scope, vis *roster.Visibility, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		c, err := lockClient(ctx, tx, scope, vis, id, lockUpdate)
		if err != nil {
			return err
		}
		if err := writeEvent(ctx, tx, &roster.Event{Type: roster.EventClientDeleted, CompanyID: c.CompanyID, TargetName: c.Name, Before: clientFields(c)}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = $1`, c.ID); err != nil {
			return fmt.Errorf("delete client: %w", err)
		}
		return nil
	})
}
