package httpapi

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestOpenAPIMatchesRoutes keeps the OpenAPI document true for the API's
// own routes: every route served is documented with its method, and every
// documented operation is served. (cmd/veilig's TestOpenAPICoversEveryRoute
// checks every pattern of a fully configured veilig.)
func TestOpenAPIMatchesRoutes(t *testing.T) {
	all, err := DocumentedOperations()
	if err != nil {
		t.Fatal(err)
	}
	// The pages, the Yivi server, Twilio, the demo and operations are
	// added by cmd/veilig; its route test checks them with the rest.
	var documented []string
	for _, op := range all {
		_, path, _ := strings.Cut(op, " ")
		if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/telephony/") || path == "/healthz" || path == "/readyz" {
			documented = append(documented, op)
		}
	}
	served := append(PublicRoutes(), InternalRoutes()...)
	slices.Sort(served)
	served = slices.Compact(served)
	sort.Strings(documented)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("served but not documented: %s", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("documented but not served: %s", r)
		}
	}
}

// TestOpenAPIRefsResolve checks every $ref points at a defined component.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if k == "$ref" {
					ref := val.(string)
					parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
					var cur any = doc
					for _, p := range parts {
						m, ok := cur.(map[string]any)
						if !ok || m[p] == nil {
							t.Errorf("unresolved $ref %s", ref)
							return
						}
						cur = m[p]
					}
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
}
