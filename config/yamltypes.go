package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// typeProblems walks a YAML document along the type it is decoded into and
// names, by key path as the rest of the configuration reference does
// (purposes[0].code_length), every value of the wrong kind. yaml.v3's own
// errors give only a line, and it silently truncates a fractional number
// into a whole-number field (code_length: 8.5 became 8).
func typeProblems(doc *yaml.Node, t reflect.Type) []string {
	var problems []string
	var walk func(n *yaml.Node, t reflect.Type, path string)
	walk = func(n *yaml.Node, t reflect.Type, path string) {
		if n == nil {
			return
		}
		if n.Kind == yaml.DocumentNode {
			for _, c := range n.Content {
				walk(c, t, path)
			}
			return
		}
		if n.Kind == yaml.AliasNode {
			walk(n.Alias, t, path)
			return
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		add := func(msg string) {
			problems = append(problems, fmt.Sprintf("%s: %s (line %d)", strings.TrimPrefix(path, "."), msg, n.Line))
		}
		switch t.Kind() {
		case reflect.Struct:
			if n.Kind != yaml.MappingNode {
				add("must be a mapping of keys")
				return
			}
			fields := map[string]reflect.Type{}
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if name != "" && name != "-" {
					fields[name] = f.Type
				}
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if ft, ok := fields[n.Content[i].Value]; ok {
					walk(n.Content[i+1], ft, path+"."+n.Content[i].Value)
				}
			}
		case reflect.Map:
			if n.Kind != yaml.MappingNode {
				add("must be a mapping of keys")
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], t.Elem(), path+"."+n.Content[i].Value)
			}
		case reflect.Slice:
			if n.Kind != yaml.SequenceNode {
				add("must be a list")
				return
			}
			for i, c := range n.Content {
				walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			switch {
			case t == reflect.TypeFor[time.Duration]():
				// A bare number would be nanoseconds: only 0 means what it says.
				if n.Kind != yaml.ScalarNode || n.Tag == "!!float" || n.Tag == "!!bool" || (n.Tag == "!!int" && n.Value != "0") {
					add("must be a duration such as 15m or 24h")
				}
			case n.Kind != yaml.ScalarNode || n.Tag != "!!int":
				add("must be a whole number")
			}
		case reflect.Bool:
			if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
				add("must be true or false")
			}
		case reflect.String:
			if n.Kind != yaml.ScalarNode {
				add("must be a single value")
			}
		}
	}
	walk(doc, t, "")
	return problems
}
