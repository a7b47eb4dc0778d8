package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-app/roster/web"
)

// TestOpenAPICoversEveryRoute fails when a registered route is undocumented
// or the document refers to a schema that does not exist.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := web.NewServer(web.Deps{})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components map[string]map[string]any            `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, rt := range s.Routes() {
		method, pattern, _ := strings.Cut(rt, " ")
		op := doc.Paths[pattern][strings.ToLower(method)]
		if op == nil {
			t.Errorf("route %s is not in the OpenAPI document", rt)
			continue
		}
		if s, _ := op["summary"].(string); s == "" {
			t.Errorf("route %s has no summary", rt)
		}
		if resp, _ := op["responses"].(map[string]any); len(resp) < 2 {
			t.Errorf("route %s documents too few responses: %v", rt, resp)
		}
	}
	// Every $ref resolves.
	comps := doc.Components
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
				if comps[kind][name] == nil {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var raw any
	json.Unmarshal(rec.Body.Bytes(), &raw)
	walk(raw)
}
