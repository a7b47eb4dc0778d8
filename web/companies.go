package web

import (
	"net/http"
	"strings"

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
	a, ctx := actorOf(r), r.Context()
	c := &roster.Company{Name: req.Name, ParentID: req.ParentID}
	err := c.Validate()
	if req.ParentID != nil {
		if _, perr := s.Companies.CompanyByID(ctx, a.Scope, *req.ParentID); perr != nil {
			err = mergeValidation(err, fieldNotFound(perr, "parent_id", "No such company."))
			if roster.ErrorCode(perr) != roster.ENOTFOUND {
				return perr
			}
		}
	}
	if err != nil {
		return err
	}
	if err := s.Companies.CreateCompany(ctx, c); err != nil {
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
	a, ctx := actorOf(r), r.Context()
	c, err := s.Companies.CompanyByID(ctx, a.Scope, id)
	if err != nil {
		return err
	}
	var req companyPatch
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == nil {
		return writeJSON(w, http.StatusOK, c)
	}
	check := roster.Company{Name: strings.TrimSpace(*req.Name)}
	if err := check.Validate(); err != nil {
		return err
	}
	if c, err = s.Companies.RenameCompany(ctx, a.Scope, id, check.Name); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}
