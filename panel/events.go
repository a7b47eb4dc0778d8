package panel

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

type eventsView struct {
	*page
	User, Type, From, To string
	UserName             string
	Types                []string
	Result               *roster.EventPage
	NextURL              string
	FirstURL             string
	IsFirst              bool
	Errors               formErrors
}

// change is one field of an event's before/after.
type change struct{ Field, Before, After string }

// Changes lists an event's changed fields in name order.
func (v *eventsView) Changes(e *roster.Event) []change {
	keys := map[string]bool{}
	for k := range e.Before {
		keys[k] = true
	}
	for k := range e.After {
		keys[k] = true
	}
	var out []change
	for k := range keys {
		out = append(out, change{Field: k, Before: showValue(e.Before[k]), After: showValue(e.After[k])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func (p *Panel) handleEvents(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermAuditView); err != nil {
		return err
	}
	ctx := r.Context()
	a := state(r).actor
	q := r.URL.Query()
	v := &eventsView{page: p.newPage(w, r, "events.title", "events"), User: strings.TrimSpace(q.Get("user")),
		Type: q.Get("type"), From: q.Get("from"), To: q.Get("to"), Types: roster.EventTypes, IsFirst: q.Get("cursor") == ""}
	f := roster.EventFilter{Limit: 50, Cursor: q.Get("cursor")}
	if id, ok := pathID(v.User); ok {
		f.UserID = &id
		if u, err := p.Users.UserByID(ctx, a.Scope, id); err == nil {
			v.UserName = u.DisplayName()
		}
	}
	for _, t := range roster.EventTypes {
		if t == v.Type {
			f.Type = t
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v.From, time.Local); err == nil {
		f.Since = &t
	}
	if t, err := time.ParseInLocation("2006-01-02", v.To, time.Local); err == nil {
		end := t.AddDate(0, 0, 1)
		f.Until = &end
	}
	res, err := p.Events.Events(ctx, a.Scope, f)
	if roster.ErrorCode(err) == roster.EINVALID && f.Cursor != "" {
		f.Cursor, v.IsFirst = "", true
		res, err = p.Events.Events(ctx, a.Scope, f)
	}
	if err != nil {
		return err
	}
	v.Result = res
	vals := url.Values{}
	for k, s := range map[string]string{"user": v.User, "type": f.Type, "from": v.From, "to": v.To} {
		if s != "" {
			vals.Set(k, s)
		}
	}
	v.FirstURL = "/events?" + vals.Encode()
	if res.NextCursor != "" {
		vals.Set("cursor", res.NextCursor)
		v.NextURL = "/events?" + vals.Encode()
	}
	return p.render(w, r, http.StatusOK, "events", v)
}

func (p *Panel) handleEventComment(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermAuditView); err != nil {
		return err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Event not found.")
	}
	back := localPath(r.PostFormValue("return"), "/events")
	body := strings.TrimSpace(r.PostFormValue("body"))
	var val roster.Validation
	roster.ValidateComment(&val, "body", body, true)
	if err := val.Err(); err != nil {
		return p.redirect(w, r, back, "flash.comment_empty", 0)
	}
	if _, err := p.Events.AddEventComment(r.Context(), state(r).actor.Scope, id, body); err != nil {
		return err
	}
	return p.redirect(w, r, back, "flash.comment_added", 0)
}
