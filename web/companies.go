package web

import (
	"net/http"

	"github.com/roster-app/roster"
)

// handleCompanyList lists the companies in scope: all for the Main
// administrator, otherwise the caller's own and its dependents.
func (s *Server) handleCompanyList(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).err(); err != nil {
		return err
	}
	cs, err := s.Companies.Companies(r.Context(), actorOf(r).Scope)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*roster.Company{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": cs})
}

// companyRequest is the body of POST and PATCH on companies.
type companyRequest struct {
	Name     string `json:"name"`
	ParentID *int64 `json:"parent_id"`
}

// handleCompanyCreate creates a company, dependent when parent_id is given.
func (s *Server) handleCompanyCreate(w http.ResponseWriter, r *http.Request) error {
	var req companyRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c := &roster.Company{Name: req.Name, ParentID: req.ParentID}
	if err := s.App.Companies.Create(r.Context(), c); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

// handleCompanyGet shows one company in scope.
func (s *Server) handleCompanyGet(w http.ResponseWriter, r *http.Request) error {
	return getByID(w, r, s.Companies.CompanyByID)
}

// companyPatch is the body of PATCH /api/v1/companies/{id}.
type companyPatch struct {
	Name *string `json:"name"`
}

// handleCompanyPatch renames a company.
func (s *Server) handleCompanyPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req companyPatch
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return getByID(w, r, s.Companies.CompanyByID)
	}
	c, err := s.App.Companies.Rename(r.Context(), id, *req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}
