package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// The schema rule that lets Roster's tenant data be distributed by
// company_id (docs/scaling.md, "The schema rule"). Every table of the
// PostgreSQL schema is in exactly one of these classes:
//
//   - the tenant root, companies, whose id is the tenant key;
//   - a tenant table: it has company_id, NOT NULL (unless listed in
//     nullableCompanyID), referencing companies;
//   - a tenant table that does not carry company_id yet (childTables): its
//     rows belong to the row of the named parent through a NOT NULL
//     foreign key. The list is the work left before distributing; it may
//     only shrink;
//   - a global table (globalTables), not tenant data, with the reason.
//
// A table in none of them fails the test: a new tenant table must carry
// company_id.
//
// Every unique key (primary key, unique constraint or unique index,
// partial or not) of a tenant table must be able to include company_id:
// adding company_id to the key must not change which rows it forbids. That
// holds when the key
//  1. already contains company_id, as a column or inside an expression, or
//  2. contains a column whose value names one row of a tenant table in the
//     whole installation — the table's own identity column, or a NOT NULL
//     foreign key to a tenant table — so that the key fixes company_id; or
//  3. is listed in globalKeys: a rule across all companies, kept on
//     purpose, with the reason and the way it stays correct when
//     distributed.
//
// Any other unique key (UNIQUE (name) on a tenant table, say) is a rule
// across companies that a sharded database cannot enforce, and fails.

const tenantRoot = "companies"

// childTables: tenant tables without company_id yet, and the parent whose
// NOT NULL foreign key places each row in a company.
var childTables = map[string]string{
	"user_roles":                 "users",
	"role_permissions":           "roles",
	"sessions":                   "users",
	"event_comments":             "events",
	"recovery_codes":             "users",
	"mfa_challenges":             "users",
	"work_group_members":         "work_groups",
	"work_group_managers":        "work_groups",
	"client_tag_links":           "clients",
	"user_client_tags":           "users",
	"notification_targets":       "users",
	"notification_subscriptions": "users",
	"avatars":                    "users",
	"user_preferences":           "users",
	"unlock_tokens":              "users",
}

// globalTables are not tenant data.
var globalTables = map[string]string{
	"schema_migrations":           "the schema version of the installation",
	"settings":                    "installation secrets (master key, bootstrap token): one set for all companies",
	"login_throttle":              "failed sign-ins per client address: an address is throttled across every company it tries",
	"jobs":                        "the queue of background work every instance's workers claim across companies; payloads are sealed",
	"login_failures":              "failed sign-ins by typed name (a hash) and address: names are unique across the installation and unknown names are counted too, so the counter belongs to no company",
	"mail_limits":                 "self-service e-mail limits by typed name (a hash), for unknown names too: like login_failures",
	"notification_disabled_types": "the event types the Main administrator switched off for notification in the whole installation (seed 003, System > Event notifications)",
	"auth_epoch":                  "one counter for the whole installation, raised by changes that touch many actors at once (role permissions), so cached actors across every company are checked again",
}

// nullableCompanyID: tenant tables whose company_id may be NULL.
var nullableCompanyID = map[string]string{
	"roles": "system roles belong to no company; they are reference data (docs/scaling.md)",
}

// globalKeys are unique keys that stay global on purpose.
var globalKeys = map[string]string{
	"users_email":                   "an e-mail address signs in to one account in the whole installation, before the company is known",
	"users_login":                   "a login signs in to one account in the whole installation, before the company is known",
	"users_invitation_hash":         "an invitation link is looked up by its token before the company is known; 256-bit random tokens",
	"users_reset_hash":              "a reset link is looked up by its token before the company is known; 256-bit random tokens",
	"sessions_token_hash_key":       "a bearer token is looked up on every request before the company is known; 256-bit random tokens",
	"mfa_challenges_token_hash_key": "a sign-in's second step is looked up by its token before the company is known; random tokens",
	"unlock_tokens_hash_key":        "an unlock link is looked up by its token before the company is known; 256-bit random tokens",
	"service_tokens_token_hash_key": "a service token is looked up on every request before the company is known; 256-bit random tokens",
}

// TestTenancySchemaRule checks the rule on the migrated PostgreSQL schema,
// and that the check catches a tenant table without company_id, a unique
// key across companies and a nullable company_id.
func TestTenancySchemaRule(t *testing.T) {
	t.Parallel()
	s := sqlstoretest.Open(t, sqlstoretest.Postgres)
	ctx := context.Background()
	if v := tenancyViolations(t, s); len(v) > 0 {
		t.Fatalf("the schema breaks the tenancy rule (docs/scaling.md):\n  %s", strings.Join(v, "\n  "))
	}

	for _, tc := range []struct{ ddl, want string }{
		{`CREATE TABLE probe_notes (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
			user_id BIGINT NOT NULL REFERENCES users (id), body TEXT NOT NULL)`, "table probe_notes has no company_id"},
		{`CREATE TABLE probe_tags (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
			company_id BIGINT NOT NULL REFERENCES companies (id), name TEXT NOT NULL UNIQUE)`, "probe_tags_name_key of probe_tags (name)"},
		{`CREATE TABLE probe_codes (company_id BIGINT NOT NULL REFERENCES companies (id), code TEXT NOT NULL, PRIMARY KEY (code))`, "probe_codes_pkey of probe_codes (code)"},
		{`CREATE TABLE probe_loose (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, company_id BIGINT REFERENCES companies (id))`, "company_id of probe_loose may be NULL"},
		{`CREATE TABLE probe_stray (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, company_id BIGINT NOT NULL)`, "company_id of probe_stray does not reference companies"},
	} {
		name := regexp.MustCompile(`CREATE TABLE (\w+)`).FindStringSubmatch(tc.ddl)[1]
		if _, err := s.DB().ExecContext(ctx, tc.ddl); err != nil {
			t.Fatal(err)
		}
		v := tenancyViolations(t, s)
		if len(v) != 1 || !strings.Contains(v[0], tc.want) {
			t.Errorf("with %s: violations %q, want one saying %q", name, v, tc.want)
		}
		if _, err := s.DB().ExecContext(ctx, `DROP TABLE `+name); err != nil {
			t.Fatal(err)
		}
	}
}

// tenancyViolations reads the current schema from the catalog and lists
// every break of the rule.
func tenancyViolations(t *testing.T, s *sqlstore.Store) []string {
	t.Helper()
	db := s.DB()
	type table struct {
		hasCompany, companyNotNull, companyRefs bool
		identity                                []string
		tenantFKs                               map[string]string // NOT NULL single-column FK column -> parent
	}
	tables := map[string]*table{}
	query(t, db, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`, func(r *sql.Rows) error {
		var name string
		err := r.Scan(&name)
		tables[name] = &table{tenantFKs: map[string]string{}}
		return err
	})
	query(t, db, `SELECT c.relname, a.attname, a.attnotnull, a.attidentity <> ''
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
			AND (a.attname = 'company_id' OR a.attidentity <> '')`, func(r *sql.Rows) error {
		var tbl, col string
		var notNull, identity bool
		if err := r.Scan(&tbl, &col, &notNull, &identity); err != nil {
			return err
		}
		if identity {
			tables[tbl].identity = append(tables[tbl].identity, col)
		}
		if col == "company_id" {
			tables[tbl].hasCompany, tables[tbl].companyNotNull = true, notNull
		}
		return nil
	})
	query(t, db, `SELECT ct.relname, a.attname, a.attnotnull, pt.relname
		FROM pg_constraint k JOIN pg_class ct ON ct.oid = k.conrelid JOIN pg_namespace n ON n.oid = ct.relnamespace
		JOIN pg_class pt ON pt.oid = k.confrelid
		JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
		WHERE k.contype = 'f' AND cardinality(k.conkey) = 1 AND n.nspname = current_schema()`, func(r *sql.Rows) error {
		var tbl, col, parent string
		var notNull bool
		if err := r.Scan(&tbl, &col, &notNull, &parent); err != nil {
			return err
		}
		if col == "company_id" && parent == tenantRoot {
			tables[tbl].companyRefs = true
		}
		if notNull {
			tables[tbl].tenantFKs[col] = parent
		}
		return nil
	})

	var out []string
	isTenant := func(name string) bool {
		tb := tables[name]
		return tb != nil && (name == tenantRoot || tb.hasCompany || childTables[name] != "")
	}
	for name, tb := range tables {
		switch {
		case name == tenantRoot:
		case globalTables[name] != "":
			if tb.hasCompany {
				out = append(out, fmt.Sprintf("table %s is listed as global but has company_id: take it off globalTables", name))
			}
		case childTables[name] != "":
			if tb.hasCompany {
				out = append(out, fmt.Sprintf("table %s has company_id now: take it off childTables", name))
			} else if !slices.Contains(mapValues(tb.tenantFKs), childTables[name]) {
				out = append(out, fmt.Sprintf("table %s has no NOT NULL foreign key to %s, the parent childTables names", name, childTables[name]))
			}
		case !tb.hasCompany:
			out = append(out, fmt.Sprintf("table %s has no company_id: a tenant table must carry company_id NOT NULL REFERENCES companies (docs/scaling.md)", name))
		default:
			if !tb.companyNotNull && nullableCompanyID[name] == "" {
				out = append(out, fmt.Sprintf("company_id of %s may be NULL", name))
			}
			if !tb.companyRefs {
				out = append(out, fmt.Sprintf("company_id of %s does not reference companies", name))
			}
		}
	}
	for _, list := range []map[string]string{childTables, globalTables, nullableCompanyID} {
		for name := range list {
			if tables[name] == nil {
				out = append(out, fmt.Sprintf("table %s is listed but does not exist: take it off the list", name))
			}
		}
	}

	// Unique keys of tenant tables, key by key (columns or expressions).
	seenGlobal := map[string]bool{}
	companyRef := regexp.MustCompile(`\bcompany_id\b`)
	query(t, db, `SELECT t.relname, i.relname,
			(SELECT string_agg(pg_get_indexdef(x.indexrelid, k, true), E'\n' ORDER BY k) FROM generate_series(1, x.indnkeyatts) k)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND x.indisunique`, func(r *sql.Rows) error {
		var tbl, index, list string
		if err := r.Scan(&tbl, &index, &list); err != nil {
			return err
		}
		keys := strings.Split(list, "\n")
		if globalKeys[index] != "" {
			seenGlobal[index] = true
			return nil
		}
		if !isTenant(tbl) {
			return nil
		}
		tb := tables[tbl]
		for _, k := range keys {
			if companyRef.MatchString(k) || slices.Contains(tb.identity, k) || isTenant(tb.tenantFKs[k]) || (tbl == tenantRoot && k == "id") {
				return nil
			}
		}
		out = append(out, fmt.Sprintf("unique key %s of %s (%s) neither includes company_id nor names a tenant row: a rule across companies (list it in globalKeys with the reason, or add company_id)",
			index, tbl, strings.Join(keys, ", ")))
		return nil
	})
	for index := range globalKeys {
		if !seenGlobal[index] {
			out = append(out, fmt.Sprintf("global key %s is listed but does not exist: take it off globalKeys", index))
		}
	}
	sort.Strings(out)
	return out
}

func query(t *testing.T, db *sql.DB, q string, each func(*sql.Rows) error) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
