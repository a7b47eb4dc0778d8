package roster

import (
	"context"
	"strings"
	"time"
)

// Mask replaces a value a user may not see (R4).
const Mask = "****"

// ClientTag labels clients; users' visibility is limited by tags (R3).
type ClientTag struct {
	ID          int64     `json:"id"`
	CompanyID   int64     `json:"company_id"`
	Name        string    `json:"name"`
	ClientCount int       `json:"client_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Client is an end customer of a company.
type Client struct {
	ID        int64     `json:"id"`
	CompanyID int64     `json:"company_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Country   string    `json:"country"`
	Tags      []TagRef  `json:"tags"`
	Masked    bool      `json:"masked"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TagRef is the short form of a client tag inside a client.
type TagRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// MaskFields hides the name, e-mail and phone.
func (c *Client) MaskFields() {
	for _, p := range []*string{&c.Name, &c.Email, &c.Phone} {
		if *p != "" {
			*p = Mask
		}
	}
	c.Masked = true
}

// ClientInput is a new client or a client update; nil means unchanged.
type ClientInput struct {
	Name    *string
	Email   *string
	Phone   *string
	Country *string
	TagIDs  *[]int64
}

// Validate normalizes and checks the set fields; create requires a name.
func (in *ClientInput) Validate(create bool) error {
	var v Validation
	if in.Name != nil {
		*in.Name = strings.TrimSpace(*in.Name)
		if *in.Name == "" {
			v.Add("name", "required", "Enter a name.")
		} else {
			ValidateText(&v, "name", *in.Name, 200)
		}
	} else if create {
		v.Add("name", "required", "Enter a name.")
	}
	if in.Email != nil {
		*in.Email = NormalizeEmail(*in.Email)
		if *in.Email != "" {
			ValidateEmail(&v, "email", *in.Email)
		}
	}
	if in.Phone != nil {
		*in.Phone = strings.TrimSpace(*in.Phone)
		ValidatePhone(&v, "phone", *in.Phone)
	}
	if in.Country != nil {
		*in.Country = strings.ToUpper(strings.TrimSpace(*in.Country))
		if *in.Country != "" && !ValidCountry(*in.Country) {
			v.Add("country", "invalid_country", "A country is a two-letter ISO 3166-1 code, like DE.")
		}
	}
	return v.Err()
}

// ClientFilter selects clients. Query matches name, e-mail and phone
// partially — only the fields the viewer may see unmasked — and the ID exactly.
type ClientFilter struct {
	Query   string
	TagID   *int64
	Country string
	Limit   int
	Offset  int
}

// ClientPage is one page of clients.
type ClientPage struct {
	Items []*Client `json:"items"`
	Total int       `json:"total"`
}

// ClientService stores clients and client tags. Every read takes the
// viewer's Visibility and applies it in the query: filtered rows are never
// loaded and masked values never leave the store.
type ClientService interface {
	ClientTags(ctx context.Context, companyID int64) ([]*ClientTag, error)
	ClientTagByID(ctx context.Context, scope Scope, id int64) (*ClientTag, error)
	// CreateClientTag / RenameClientTag: ECONFLICT on "name" for a duplicate.
	CreateClientTag(ctx context.Context, t *ClientTag) error
	RenameClientTag(ctx context.Context, scope Scope, id int64, name string) (*ClientTag, error)
	DeleteClientTag(ctx context.Context, scope Scope, id int64) error

	Clients(ctx context.Context, companyID int64, vis *Visibility, f ClientFilter) (*ClientPage, error)
	// ClientByID returns a client in scope the viewer may see (else ENOTFOUND).
	ClientByID(ctx context.Context, scope Scope, vis *Visibility, id int64) (*Client, error)
	CreateClient(ctx context.Context, companyID int64, in ClientInput) (*Client, error)
	UpdateClient(ctx context.Context, scope Scope, vis *Visibility, id int64, in ClientInput) (*Client, error)
	DeleteClient(ctx context.Context, scope Scope, vis *Visibility, id int64) error
}
