package app

import (
	"context"
	"slices"
	"strings"

	"github.com/roster-app/roster"
)

// Events are the workflows on the event log (SPEC A7): holders of
// audit.view read the events of the companies in their scope and comment
// on them.
type Events struct{ app *App }

// List returns one page of the events matching f, newest first; every
// field of the filter is checked at once.
func (s *Events) List(ctx context.Context, f roster.EventFilter) (*roster.EventPage, error) {
	a, err := actor(ctx, roster.PermAuditView)
	if err != nil {
		return nil, err
	}
	var v roster.Validation
	if f.Type != "" && !slices.Contains(roster.EventTypes, f.Type) {
		v.Add("type", "invalid_choice", "Unknown event type; one of: "+strings.Join(roster.EventTypes, ", ")+".")
	}
	for _, t := range f.ExcludeTypes {
		if !slices.Contains(roster.EventTypes, t) {
			v.Add("exclude_types", "invalid_choice", "Unknown event type: "+t+".")
			break
		}
	}
	if f.Since != nil && f.Until != nil && f.Until.Before(*f.Since) {
		v.Add("until", "before_since", "until must not be before since.")
	}
	if f.Limit < 0 || f.Limit > roster.MaxPageSize {
		v.Add("limit", "out_of_range", "The page size is 1 to 200.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = roster.DefaultPageSize
	}
	page, err := s.app.d.Events.Events(ctx, a.Scope, f)
	if err != nil {
		return nil, err
	}
	if page.Items == nil {
		page.Items = []*roster.Event{}
	}
	return page, nil
}

// Get returns one event in scope with its comments.
func (s *Events) Get(ctx context.Context, id int64) (*roster.Event, error) {
	a, err := actor(ctx, roster.PermAuditView)
	if err != nil {
		return nil, err
	}
	return s.app.d.Events.EventByID(ctx, a.Scope, id)
}

// Comment adds the actor's comment to an event in scope.
func (s *Events) Comment(ctx context.Context, id int64, body string) (*roster.EventComment, error) {
	a, err := actor(ctx, roster.PermAuditView)
	if err != nil {
		return nil, err
	}
	if a.User == nil {
		return nil, errPersonOnly // a comment has a person as author
	}
	if _, err := s.app.d.Events.EventByID(ctx, a.Scope, id); err != nil {
		return nil, err
	}
	body = strings.TrimSpace(body)
	var v roster.Validation
	roster.ValidateComment(&v, "body", body, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.app.d.Events.AddEventComment(ctx, a.Scope, id, body)
}
