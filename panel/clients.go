package panel

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The clients directory and client tags (R3, R4). Every read and change
// goes through app.Clients, which passes the viewer's Visibility to the
// store: a user with masking never receives the real values, so no
// template can leak them.

// clientPageSize is the number of clients on one page.
const clientPageSize = 50

type clientsView struct {
	*page
	Q, Tag, Country string
	Result          *roster.ClientPage
	Tags            []*roster.ClientTag
	Masked          bool
	CanWrite        bool
	Offset          int
	PrevURL         string
	NextURL         string
	Form            clientForm
	Errors          formErrors
}

// clientForm is the create and edit form as typed.
type clientForm struct {
	Name, Email, Phone, Country string
	TagIDs                      []int64
}

// Active reports whether a filter narrows the list.
func (v *clientsView) Active() bool { return v.Q != "" || v.Tag != "" || v.Country != "" }

func (p *Panel) clientsView(w http.ResponseWriter, r *http.Request) (*clientsView, error) {
	ctx := r.Context()
	vis, err := p.App.Clients.Visibility(ctx)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	v := &clientsView{page: p.newPage(w, r, "clients.title", "clients"), Q: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag"),
		Country: strings.ToUpper(strings.TrimSpace(q.Get("country"))), Masked: vis.Mask, CanWrite: app.CanWrite(vis)}
	v.Offset, _ = strconv.Atoi(q.Get("offset"))
	if v.Offset < 0 {
		v.Offset = 0
	}
	f := roster.ClientFilter{Query: v.Q, Country: v.Country, Limit: clientPageSize, Offset: v.Offset}
	if id, ok := pathID(v.Tag); ok {
		f.TagID = &id
	}
	// A search the list cannot run (a hand-edited address) shows no clients
	// rather than an error page.
	if v.Result, err = p.App.Clients.List(ctx, f); err != nil {
		if roster.ErrorCode(err) != roster.EINVALID {
			return nil, err
		}
		v.Result = &roster.ClientPage{}
	}
	if v.Tags, err = p.App.Clients.Tags(ctx, 0); err != nil {
		return nil, err
	}
	vals := url.Values{}
	for k, s := range map[string]string{"q": v.Q, "tag": v.Tag, "country": v.Country} {
		if s != "" {
			vals.Set(k, s)
		}
	}
	if v.Offset > 0 {
		prev := max(v.Offset-clientPageSize, 0)
		vals.Set("offset", strconv.Itoa(prev))
		v.PrevURL = "/clients?" + vals.Encode()
	}
	if v.Offset+len(v.Result.Items) < v.Result.Total {
		vals.Set("offset", strconv.Itoa(v.Offset+clientPageSize))
		v.NextURL = "/clients?" + vals.Encode()
	}
	return v, nil
}

func (p *Panel) handleClients(w http.ResponseWriter, r *http.Request) error {
	v, err := p.clientsView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "clients", v)
}

// clientFormOf reads the create and edit form: every field is sent, so an
// edit sets them all.
func clientFormOf(r *http.Request) (clientForm, roster.ClientInput) {
	f := clientForm{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), Phone: r.PostFormValue("phone"),
		Country: r.PostFormValue("country"), TagIDs: formIDs(r.PostForm["tag_ids"])}
	tags := f.TagIDs
	if tags == nil {
		tags = []int64{}
	}
	name, email, phone, country := f.Name, f.Email, f.Phone, f.Country
	return f, roster.ClientInput{Name: &name, Email: &email, Phone: &phone, Country: &country, TagIDs: &tags}
}

func (p *Panel) handleClientCreate(w http.ResponseWriter, r *http.Request) error {
	form, in := clientFormOf(r)
	c, err := p.App.Clients.Create(r.Context(), in)
	if err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := p.clientsView(w, r)
		if verr != nil {
			return verr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, formStatus(err), "clients", v)
	}
	return p.redirect(w, r, "/clients/"+strconv.FormatInt(c.ID, 10), "flash.client_created", 0)
}

type clientView struct {
	*page
	Client   *roster.Client
	Tags     []*roster.ClientTag
	CanWrite bool
	Form     clientForm
	Errors   formErrors
}

// clientID is the client ID of the path; a malformed one is simply not found.
func clientID(r *http.Request) (int64, error) {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return 0, roster.Errorf(roster.ENOTFOUND, "Client not found.")
	}
	return id, nil
}

func (p *Panel) clientView(w http.ResponseWriter, r *http.Request) (*clientView, error) {
	id, err := clientID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	c, err := p.App.Clients.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	vis, err := p.App.Clients.Visibility(ctx)
	if err != nil {
		return nil, err
	}
	v := &clientView{page: p.newPage(w, r, "clients.client", "clients"), Client: c, CanWrite: app.CanWrite(vis),
		Form: clientForm{Name: c.Name, Email: c.Email, Phone: c.Phone, Country: c.Country}}
	v.Title = c.Name
	for _, t := range c.Tags {
		v.Form.TagIDs = append(v.Form.TagIDs, t.ID)
	}
	if v.Tags, err = p.App.Clients.Tags(ctx, c.CompanyID); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *Panel) handleClient(w http.ResponseWriter, r *http.Request) error {
	v, err := p.clientView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "client", v)
}

func (p *Panel) handleClientUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := clientID(r)
	if err != nil {
		return err
	}
	form, in := clientFormOf(r)
	if _, err := p.App.Clients.Update(r.Context(), id, in); err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := p.clientView(w, r)
		if verr != nil {
			return verr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, formStatus(err), "client", v)
	}
	return p.redirect(w, r, "/clients/"+strconv.FormatInt(id, 10), "flash.client_saved", 0)
}

func (p *Panel) handleClientDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := clientID(r)
	if err != nil {
		return err
	}
	if err := p.App.Clients.Delete(r.Context(), id); err != nil {
		return err
	}
	return p.redirect(w, r, "/clients", "flash.client_deleted", 0)
}

// ---- Client tags ----

type tagsView struct {
	*page
	Tags      []*roster.ClientTag
	CanManage bool
	NewName   string
	EditID    int64
	EditName  string
	Errors    formErrors
}

func (p *Panel) tagsView(w http.ResponseWriter, r *http.Request) (*tagsView, error) {
	tags, err := p.App.Clients.Tags(r.Context(), 0)
	if err != nil {
		return nil, err
	}
	return &tagsView{page: p.newPage(w, r, "tags.title", "clients"), Tags: tags, CanManage: app.CanManageTags(state(r).actor)}, nil
}

func (p *Panel) handleTags(w http.ResponseWriter, r *http.Request) error {
	v, err := p.tagsView(w, r)
	if err != nil {
		return err
	}
	// ?edit=ID opens that tag's rename form in its row.
	if id, ok := pathID(r.URL.Query().Get("edit")); ok && v.CanManage {
		for _, t := range v.Tags {
			if t.ID == id {
				v.EditID, v.EditName = id, t.Name
			}
		}
	}
	return p.render(w, r, http.StatusOK, "tags", v)
}

// tagsDone redirects to the tags after a change, or shows them again with
// the form's errors; an error no form can show is returned.
func (p *Panel) tagsDone(w http.ResponseWriter, r *http.Request, err error, editID int64, flash string) error {
	if err == nil {
		return p.redirect(w, r, "/client-tags", flash, 0)
	}
	fe, ok := newFormErrors(state(r).lang, err)
	if !ok {
		return err
	}
	v, verr := p.tagsView(w, r)
	if verr != nil {
		return verr
	}
	v.Errors = *fe
	if editID != 0 {
		v.EditID, v.EditName = editID, r.PostFormValue("name")
	} else {
		v.NewName = r.PostFormValue("name")
	}
	return p.render(w, r, formStatus(err), "tags", v)
}

func (p *Panel) handleTagCreate(w http.ResponseWriter, r *http.Request) error {
	_, err := p.App.Clients.CreateTag(r.Context(), 0, r.PostFormValue("name"))
	return p.tagsDone(w, r, err, 0, "flash.tag_created")
}

// tagID is the tag ID of the path; a malformed one is simply not found.
func tagID(r *http.Request) (int64, error) {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return 0, roster.Errorf(roster.ENOTFOUND, "Tag not found.")
	}
	return id, nil
}

func (p *Panel) handleTagRename(w http.ResponseWriter, r *http.Request) error {
	id, err := tagID(r)
	if err != nil {
		return err
	}
	_, err = p.App.Clients.RenameTag(r.Context(), id, r.PostFormValue("name"))
	return p.tagsDone(w, r, err, id, "flash.tag_renamed")
}

func (p *Panel) handleTagDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := tagID(r)
	if err != nil {
		return err
	}
	if err := p.App.Clients.DeleteTag(r.Context(), id); err != nil {
		return err
	}
	return p.redirect(w, r, "/client-tags", "flash.tag_deleted", 0)
}
