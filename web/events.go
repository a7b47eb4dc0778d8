package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/roster-app/roster"
)

// handleEventList reads the event log of the companies in scope, newest first.
func (s *Server) handleEventList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "user_id", "type", "since", "until", "limit", "cursor")
	f := roster.EventFilter{UserID: q.id("user_id"), Type: q.str("type"), Since: q.time("since"),
		Until: q.time("until"), Limit: q.limit(), Cursor: q.str("cursor")}
	if f.Type != "" && !slices.Contains(roster.EventTypes, f.Type) {
		q.v.Add("type", "invalid_choice", "Unknown event type; one of: "+strings.Join(roster.EventTypes, ", ")+".")
	}
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		q.v.Add("until", "before_since", "until must not be before since.")
	}
	if err := q.err(); err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = roster.DefaultPageSize
	}
	page, err := s.Events.Events(r.Context(), actorOf(r).Scope, f)
	if err != nil {
		return err
	}
	if page.Items == nil {
		page.Items = []*roster.Event{}
	}
	return writeJSON(w, http.StatusOK, page)
}

// handleEventGet shows one event with its comments.
func (s *Server) handleEventGet(w http.ResponseWriter, r *http.Request) error {
	return getByID(w, r, s.Events.EventByID)
}

// eventCommentRequest is the body of POST /api/v1/events/{id}/comments.
type eventCommentRequest struct {
	Body string `json:"body"`
}

// handleEventComment adds an auditor's comment to an event.
func (s *Server) handleEventComment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	if _, err := s.Events.EventByID(ctx, a.Scope, id); err != nil {
		return err
	}
	var req eventCommentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	req.Body = strings.TrimSpace(req.Body)
	var v roster.Validation
	switch {
	case req.Body == "":
		v.Add("body", "required", "Enter a comment.")
	case len([]rune(req.Body)) > 2000:
		v.Add("body", "too_long", "A comment is at most 2000 characters.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	c, err := s.Events.AddEventComment(ctx, a.Scope, id, req.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}
