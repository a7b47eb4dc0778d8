package web

import (
	"net/http"

	"github.com/roster-app/roster"
)

// handleEventList reads the event log of the companies in scope, newest first.
func (s *Server) handleEventList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "user_id", "type", "since", "until", "limit", "cursor")
	f := roster.EventFilter{UserID: q.id("user_id"), Type: q.str("type"), Since: q.time("since"),
		Until: q.time("until"), Limit: q.limit(), Cursor: q.str("cursor")}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.App.Events.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// handleEventGet shows one event with its comments.
func (s *Server) handleEventGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := s.App.Events.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
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
	var req eventCommentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.App.Events.Comment(r.Context(), id, req.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}
