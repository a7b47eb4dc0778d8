package panel

import (
	"errors"

	"github.com/roster-app/roster"
	"net/url"
	"strconv"
	"strings"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// pathID parses the {id} path segment; a malformed one is simply not found.
func pathID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// formIDs parses every value of a form field as an ID, skipping garbage.
func formIDs(vals []string) []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, v := range vals {
		if id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && id > 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func asErr(err error, target **roster.Error) bool { return errors.As(err, target) }
