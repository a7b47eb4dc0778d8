package panel

import (
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
)

// Country names by language, from CLDR (golang.org/x/text).
var countryNamers = map[string]display.Namer{
	i18n.EN: display.English.Regions(),
	i18n.RU: display.Russian.Regions(),
}

// CountryName names an ISO 3166-1 code in the page's language, with the code:
// "Germany (DE)", «Германия (DE)». Anything else is shown as it is.
func (pg *page) CountryName(code string) string {
	if !roster.ValidCountry(code) {
		return code
	}
	r, err := language.ParseRegion(code)
	namer := countryNamers[pg.Lang]
	if err != nil || namer == nil {
		return code
	}
	if name := namer.Name(r); name != "" {
		return name + " (" + code + ")"
	}
	return code
}

// CountryList names several countries, comma-separated.
func (pg *page) CountryList(codes []string) string {
	names := make([]string, len(codes))
	for i, c := range codes {
		names[i] = pg.CountryName(c)
	}
	return strings.Join(names, ", ")
}

// CountryOptions are every country, for a chooser, named in the page's language.
func (pg *page) CountryOptions() []countryOption {
	out := make([]countryOption, len(roster.Countries))
	for i, c := range roster.Countries {
		out[i] = countryOption{Code: c, Name: pg.CountryName(c)}
	}
	return out
}

type countryOption struct{ Code, Name string }
