package httpapi

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DocumentedOperations lists the operations openapi.yaml documents, as
// "METHOD /path" (route patterns' form), or "/path" for one documented
// with x-any-method (a prefix served for every method), sorted.
func DocumentedOperations() ([]string, error) {
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return nil, fmt.Errorf("openapi.yaml: version %q", doc.OpenAPI)
	}
	var ops []string
	for path, methods := range doc.Paths {
		for method := range methods {
			switch method {
			case "parameters", "summary", "description":
			case "x-any-method":
				ops = append(ops, path)
			default:
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(ops)
	return ops, nil
}
