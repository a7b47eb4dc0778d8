package web

import (
	"net/http"

	"github.com/roster-app/roster"
)

// userCSVRoutes are the users CSV export and import (issue 10, items 3
// and 4).
func (s *Server) userCSVRoutes() []route {
	P := func(ps ...roster.Permission) access { return anyOf(ps...) }
	return []route{
		{"GET", "/api/v1/users/export", P(roster.PermUsersView), s.handleUserExport, docUserExport},
	}
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
