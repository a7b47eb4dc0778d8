package panel

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
)

// The clients directory and client tags (R3, R4). Every read passes the
// viewer's Visibility to the store, which filters and masks in the query:
// a user with masking never receives the real values, so no template can
// leak them.

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

// visibility is the acting user's client visibility.
func (p *Panel) visibility(r *http.Request) (*roster.Visibility, error) {
	return p.ops().Visibility(r.Context(), state(r).actor.User.ID)
}

func (p *Panel) clientsView(w http.ResponseWriter, r *http.Request) (*clientsView, error) {
	if err := need(r, roster.PermClientsView); err != nil {
		return nil, err
	}
	ctx := r.Context()
	a := state(r).actor
	vis, err := p.visibility(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	v := &clientsView{page: p.newPage(w, r, "clients.title", "clients"), Q: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag"),
		Country: strings.ToUpper(strings.TrimSpace(q.Get("country"))), Masked: vis.Mask, CanWrite: !vis.Mask}
	v.Offset, _ = strconv.Atoi(q.Get("offset"))
	if v.Offset < 0 {
		v.Offset = 0
	}
	f := roster.ClientFilter{Query: v.Q, Country: v.Country, Limit: clientPageSize, Offset: v.Offset}
	if id, ok := pathID(v.Tag); ok {
		f.TagID = &id
	}
	if v.Result, err = p.clientStore().Clients(ctx, a.Company.ID, vis, f); err != nil {
		if roster.ErrorCode(err) != roster.EINVALID {
			return nil, err
		}
		v.Result = &roster.ClientPage{}
	}
	if v.Tags, err = p.clientStore().ClientTags(ctx, a.Company.ID); err != nil {
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

// unmaskedWriter refuses changes by users who see clients masked: they
// cannot know what they would overwrite.
func (p *Panel) unmaskedWriter(r *http.Request) (*roster.Visibility, error) {
	if err := need(r, roster.PermClientsView); err != nil {
		return nil, err
	}
	vis, err := p.visibility(r)
	if err != nil {
		return nil, err
	}
	if vis.Mask {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You see client data masked, so you cannot change clients.")
	}
	return vis, nil
}

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
	if _, err := p.unmaskedWriter(r); err != nil {
		return err
	}
	st := state(r)
	form, in := clientFormOf(r)
	err := in.Validate(true)
	var c *roster.Client
	if err == nil {
		c, err = p.clientStore().CreateClient(r.Context(), st.actor.Company.ID, in)
	}
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v, verr := p.clientsView(w, r)
		if verr != nil {
			return verr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, http.StatusUnprocessableEntity, "clients", v)
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

func (p *Panel) clientView(w http.ResponseWriter, r *http.Request) (*clientView, error) {
	if err := need(r, roster.PermClientsView); err != nil {
		return nil, err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return nil, roster.Errorf(roster.ENOTFOUND, "Client not found.")
	}
	a := state(r).actor
	vis, err := p.visibility(r)
	if err != nil {
		return nil, err
	}
	c, err := p.clientStore().ClientByID(r.Context(), a.Scope, vis, id)
	if err != nil {
		return nil, err
	}
	v := &clientView{page: p.newPage(w, r, "clients.client", "clients"), Client: c, CanWrite: !vis.Mask,
		Form: clientForm{Name: c.Name, Email: c.Email, Phone: c.Phone, Country: c.Country}}
	v.Title = c.Name
	for _, t := range c.Tags {
		v.Form.TagIDs = append(v.Form.TagIDs, t.ID)
	}
	if v.Tags, err = p.clientStore().ClientTags(r.Context(), c.CompanyID); err != nil {
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
	vis, err := p.unmaskedWriter(r)
	if err != nil {
		return err
	}
	v, err := p.clientView(w, r)
	if err != nil {
		return err
	}
	st := state(r)
	form, in := clientFormOf(r)
	err = in.Validate(false)
	if err == nil {
		_, err = p.clientStore().UpdateClient(r.Context(), st.actor.Scope, vis, v.Client.ID, in)
	}
	if err != nil {
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, http.StatusUnprocessableEntity, "client", v)
	}
	return p.redirect(w, r, "/clients/"+strconv.FormatInt(v.Client.ID, 10), "flash.client_saved", 0)
}

func (p *Panel) handleClientDelete(w http.ResponseWriter, r *http.Request) error {
	vis, err := p.unmaskedWriter(r)
	if err != nil {
		return err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Client not found.")
	}
	if err := p.clientStore().DeleteClient(r.Context(), state(r).actor.Scope, vis, id); err != nil {
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
	a := state(r).actor
	if !a.Can(roster.PermClientsView) && !a.Can(roster.PermTagsManage) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You do not have permission to do this.")
	}
	tags, err := p.clientStore().ClientTags(r.Context(), a.Company.ID)
	if err != nil {
		return nil, err
	}
	return &tagsView{page: p.newPage(w, r, "tags.title", "clients"), Tags: tags, CanManage: a.Can(roster.PermTagsManage)}, nil
}

func (p *Panel) handleTags(w http.ResponseWriter, r *http.Request) error {
	v, err := p.tagsView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "tags", v)
}

func (p *Panel) tagsFail(w http.ResponseWriter, r *http.Request, err error, editID int64) error {
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
	return p.render(w, r, http.StatusUnprocessableEntity, "tags", v)
}

func (p *Panel) handleTagCreate(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermTagsManage); err != nil {
		return err
	}
	t := &roster.ClientTag{CompanyID: state(r).actor.Company.ID, Name: r.PostFormValue("name")}
	if err := p.clientStore().CreateClientTag(r.Context(), t); err != nil {
		return p.tagsFail(w, r, err, 0)
	}
	return p.redirect(w, r, "/client-tags", "flash.tag_created", 0)
}

func (p *Panel) handleTagRename(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermTagsManage); err != nil {
		return err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Tag not found.")
	}
	a := state(r).actor
	if _, err := p.clientStore().ClientTagByID(r.Context(), a.Scope, id); err != nil {
		return err
	}
	if _, err := p.clientStore().RenameClientTag(r.Context(), a.Scope, id, r.PostFormValue("name")); err != nil {
		return p.tagsFail(w, r, err, id)
	}
	return p.redirect(w, r, "/client-tags", "flash.tag_renamed", 0)
}

func (p *Panel) handleTagDelete(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermTagsManage); err != nil {
		return err
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Tag not found.")
	}
	if err := p.clientStore().DeleteClientTag(r.Context(), state(r).actor.Scope, id); err != nil {
		return err
	}
	return p.redirect(w, r, "/client-tags", "flash.tag_deleted", 0)
}
