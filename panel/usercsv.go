package panel

import (
	"net/http"

	"github.com/roster-app/roster"
)

// handleUsersExport downloads the users list, as filtered and sorted on the
// page, as CSV (the same file as GET /api/v1/users/export).
func (p *Panel) handleUsersExport(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermUsersView); err != nil {
		return err
	}
	f := parseUsersFilter(r.URL.Query())
	f.Cursor = ""
	uf, err := p.App.Users.Filter(r.Context(), f.query())
	if err != nil {
		return err
	}
	started := false
	err = p.App.Users.ExportCSV(r.Context(), uf, flushWriter{w}, func() {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="users-`+p.Clock().UTC().Format("20060102")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
	if err != nil && started {
		// Cut the transfer so that the browser reports a failed download
		// rather than keeping a short file.
		panic(http.ErrAbortHandler)
	}
	return err
}

// flushWriter sends what was written so far to the browser on Flush.
type flushWriter struct{ http.ResponseWriter }

func (w flushWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// ExportURL downloads the list as shown (filters and sort) as CSV.
func (v *usersView) ExportURL() string { return "/users/export.csv?" + v.Filter.Values().Encode() }
