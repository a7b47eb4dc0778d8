package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// userCSVRoutes are the users CSV export and import (issue 10, items 3
// and 4).
func (s *Server) userCSVRoutes() []route {
	P := func(ps ...roster.Permission) access { return anyOf(ps...) }
	return []route{
		{"GET", "/api/v1/users/export", P(roster.PermUsersView), s.handleUserExport, docUserExport},
		{"POST", "/api/v1/users/import", P(roster.PermUsersCreate), s.handleUserImport, docUserImport},
	}
}

// DefaultMaxImportBytes bounds a users import upload when
// Deps.MaxImportBytes is zero: 64 MiB holds some 200,000 users.
const DefaultMaxImportBytes int64 = 64 << 20

var docUserImport = opDoc{tag: "users", summary: "Import users from CSV, all or nothing", body: "text/csv", status: 200, response: "UserImportResult",
	query: []paramDoc{pCompany, {"dry_run", "boolean", "Check everything and write nothing: the answer says what would be created and updated.", nil},
		{"update_existing", "boolean", "A row whose e-mail (method email) or login (method login) belongs to a user of the company updates that user (names, phones, position; roles when the cell is not empty) instead of being an error.", nil}},
	description: "The body is a CSV file (UTF-8, a byte order mark is skipped) whose header names the columns " +
		"`auth_method,email,login,first_name,middle_name,last_name,phone,work_phone,position,roles,credentials` in any order " +
		"(credentials may be left out; an export's extra columns id, company_id, status, created_at, last_login_at are ignored, and the apostrophe an export puts before a formula-like cell is taken off). " +
		"`roles` are role keys separated by `;`. `credentials` is `invitation` (the e-mail method's default: an invitation is e-mailed) or `generated` (the login method's default: a temporary password, " +
		"answered once in `temporary_passwords`). Every row is checked with the rules of POST /api/v1/users (login Latin letters and digits, roles of the company within your own permissions, …) " +
		"and, for updates, of PATCH /api/v1/users/{id} (e-mail, login and method never change; a name the user set themselves is theirs) before anything is written; then everything is written in one transaction. " +
		"Any error: 422 and nothing is written; the problem's `errors` give `line` (1 is the header), `column` and `message` for each (at most 1000). A line that is not CSV is refused with its number. " +
		"A body over 64 MiB: 413. Needs users.create; updates need users.edit, role changes users.roles."}

// handleUserImport creates and updates users from a CSV body (issue 10, item 4).
func (s *Server) handleUserImport(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "company_id", "dry_run", "update_existing")
	opt := app.ImportOptions{DryRun: q.boolean("dry_run"), UpdateExisting: q.boolean("update_existing")}
	if id := q.id("company_id"); id != nil {
		opt.CompanyID = *id
	}
	if err := q.err(); err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/csv" {
		return &httpError{http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the file as text/csv."}
	}
	res, err := s.App.Users.Import(r.Context(), opt, r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &httpError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("The file is larger than %d bytes; split it.", mbe.Limit)}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

var docUserExport = opDoc{tag: "users", summary: "Export the users list as CSV", query: append([]paramDoc{{"format", "string", "The file format; csv is the only one (and the default).", []string{"csv"}}},
	pUsers[:len(pUsers)-2]...), status: 200, response: "text/csv",
	description: "Every user the list (GET /api/v1/users) shows with the same filters, in the same order, without paging — streamed, so a large company exports in seconds. " +
		"UTF-8 with a byte order mark (so that Excel shows Cyrillic correctly), CRLF line ends, a header row: " +
		"auth_method, email, login, first_name, middle_name, last_name, phone, work_phone, position, roles (role keys separated by ;), id, company_id, status, created_at, last_login_at (RFC 3339, empty when never). " +
		"A cell starting with = + - @, a tab or a carriage return is prefixed with an apostrophe so that spreadsheets do not run it as a formula."}

// userExportParams are the export's query parameters: the list's, without
// paging, and the format.
var userExportParams = func() []string {
	out := []string{"format"}
	for _, p := range userListParams {
		if p != "limit" && p != "cursor" {
			out = append(out, p)
		}
	}
	return out
}()

// handleUserExport streams the users list, as filtered and sorted, as CSV.
func (s *Server) handleUserExport(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, userExportParams...)
	if f := q.str("format"); f != "" && f != "csv" {
		q.v.Add("format", "invalid_choice", `The only export format is "csv".`)
	}
	if err := q.err(); err != nil {
		return err
	}
	f, err := s.userFilter(r, userExportParams...)
	if err != nil {
		return err
	}
	started := false
	err = s.App.Users.ExportCSV(r.Context(), f, flushWriter{w}, func() {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="users-`+s.Clock().UTC().Format("20060102")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
	if err != nil && started {
		// The answer is under way: cut it, so that the client sees a
		// broken transfer rather than a short file.
		s.Logger.Error("users export cut short", "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// flushWriter sends what was written so far to the client on Flush.
type flushWriter struct{ http.ResponseWriter }

func (w flushWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
