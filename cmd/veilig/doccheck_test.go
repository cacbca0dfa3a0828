package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/httpapi"
)

// The docs check: every veilig command and flag, configuration key,
// VEILIG_* variable and API path that README.md, docs/ and deploy/'s
// READMEs show in code (fenced blocks, `inline code` and table cells)
// exists: in the CLI's flag sets, the configuration loader and the route
// tables. A misspelling in a doc fails `make test`.

var (
	commandPattern = regexp.MustCompile(`(?:^|[\s/(])veilig ((?:user add|demo wallet|demo call|demo-scheme|serve|migrate|health|version|user|demo))\b([^|\n` + "`" + `]*)`)
	flagPattern    = regexp.MustCompile(`(?:^|\s)(-[a-z][a-z-]*)`)
	keyPattern     = regexp.MustCompile("`((?:data_dir|demo|public|internal|database|yivi|secrets|telephony|agents|retention|log)(?:\\.[a-z_]+)+)`")
	envPattern     = regexp.MustCompile(`\bVEILIG_[A-Z0-9_]+\b`)
	pathPattern    = regexp.MustCompile(`((?:/api/v1|/telephony/v1)/[A-Za-z0-9_{}/.-]*)`)
	// Values of flags are no flags: quoted strings and $(...) go first.
	valuePattern = regexp.MustCompile(`"[^"]*"|'[^']*'|\$\([^)]*\)`)
	codePattern  = regexp.MustCompile("(?s)```[a-z]*\\n(.*?)```|`([^`\\n]+)`")
)

// adapterVariables are the VEILIG_* names that are not veilig's settings:
// the Connect Lambda's environment and the Asterisk channel variables, as
// their code and the shipped dialplan name them.
func adapterVariables(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	literal := regexp.MustCompile(`"(VEILIG_[A-Z0-9_]+)"`)
	files, _ := filepath.Glob("../../telephony/connect/*.go")
	more, _ := filepath.Glob("../../telephony/asterisk/*.go")
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			vars[m[1]] = true
		}
	}
	dialplan, err := os.ReadFile("../../deploy/asterisk/extensions.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envPattern.FindAllString(string(dialplan), -1) {
		vars[v] = true
	}
	return vars
}

// docProblems returns what doc (named name) shows that does not exist.
func docProblems(name, doc string, flags map[string][]string, keys, adapterVars map[string]bool, routes []string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, name+": "+fmt.Sprintf(format, args...)) }
	var code strings.Builder
	for _, m := range codePattern.FindAllStringSubmatch(doc, -1) {
		code.WriteString(m[1] + m[2] + "\n")
	}
	text := strings.ReplaceAll(code.String(), "\\\n", " ")
	for _, m := range commandPattern.FindAllStringSubmatch(text, -1) {
		cmd := m[1]
		known, ok := flags[cmd]
		if !ok {
			continue // "veilig user" or "veilig demo" alone: the usage
		}
		for _, f := range flagPattern.FindAllStringSubmatch(valuePattern.ReplaceAllString(m[2], ""), -1) {
			if !slices.Contains(known, strings.TrimLeft(f[1], "-")) {
				add("veilig %s has no flag %s", cmd, f[1])
			}
		}
	}
	for _, m := range keyPattern.FindAllStringSubmatch(doc, -1) {
		if !keys[m[1]] {
			add("no configuration key %s", m[1])
		}
	}
	for _, v := range envPattern.FindAllString(text, -1) {
		if strings.HasPrefix(v, "VEILIG_TEST_") || v == "VEILIG_CONFIG" || v == "VEILIG_" || adapterVars[v] {
			continue
		}
		if _, err := config.Load("", []string{v + "=0"}); err != nil && strings.Contains(err.Error(), v+": no such setting") {
			add("no configuration variable %s", v)
		}
	}
	for _, m := range pathPattern.FindAllStringSubmatch(text, -1) {
		p := strings.TrimRight(m[1], "/.")
		if !routeExists(p, routes) {
			add("no route %s", p)
		}
	}
	return problems
}

// routeExists reports whether some route's path matches p segment by
// segment ({name} in either matches any segment; a route ending in
// {name...} matches the rest), or p is a prefix of one.
func routeExists(p string, routes []string) bool {
	ps := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for _, r := range routes {
		_, path, _ := strings.Cut(r, " ")
		rs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if len(ps) > len(rs) && !strings.HasSuffix(rs[len(rs)-1], "...}") {
			continue
		}
		ok := true
		for i, seg := range ps {
			if i >= len(rs) {
				break
			}
			if seg != rs[i] && !strings.HasPrefix(seg, "{") && !strings.HasPrefix(rs[i], "{") {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// configKeys are every key path of the configuration file.
func configKeys() map[string]bool {
	keys := map[string]bool{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[config.Config]().PkgPath() {
			return
		}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			keys[prefix+name] = true
			walk(prefix+name+".", f.Type)
		}
	}
	walk("", reflect.TypeFor[config.Config]())
	return keys
}

// cliFlags are the flags of every command, as its -h prints them.
func cliFlags(t *testing.T) map[string][]string {
	t.Helper()
	flags := map[string][]string{}
	for _, cmd := range []string{"serve", "migrate", "health", "user add", "demo wallet", "demo call", "demo-scheme", "version"} {
		r, w, _ := os.Pipe()
		stderr := os.Stderr
		os.Stderr = w
		_ = run(append(strings.Fields(cmd), "-h"))
		os.Stderr = stderr
		w.Close()
		out, _ := io.ReadAll(r)
		for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`).FindAllStringSubmatch(string(out), -1) {
			flags[cmd] = append(flags[cmd], m[1])
		}
		if _, ok := flags[cmd]; !ok {
			flags[cmd] = nil
		}
	}
	return flags
}

func TestDocsShowWhatExists(t *testing.T) {
	flags, keys, vars := cliFlags(t), configKeys(), adapterVariables(t)
	if len(flags["serve"]) == 0 || len(flags["user add"]) < 5 || !keys["telephony.twilio.enqueue"] {
		t.Fatalf("the checker reads too little: flags %v", flags)
	}
	routes := append(httpapi.PublicRoutes(), httpapi.InternalRoutes()...)
	docs, _ := filepath.Glob("../../docs/*.md")
	more, _ := filepath.Glob("../../deploy/*/README.md")
	docs = append(append(docs, "../../README.md"), more...)
	for _, d := range docs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range docProblems(strings.TrimPrefix(d, "../../"), string(b), flags, keys, vars, routes) {
			t.Error(p)
		}
	}

	// And the checker finds misspellings.
	bad := "```sh\nveilig serve -confg x\nveilig user add -config c -usrname ada\ncurl http://x/api/v1/agent/contacs\n```\n" +
		"| `telephony.miss_per_calller` | x |\n`VEILIG_DATABASE_ULR=x`\n"
	got := strings.Join(docProblems("bad.md", bad, flags, keys, vars, routes), "\n")
	for _, want := range []string{"no flag -confg", "no flag -usrname", "no route /api/v1/agent/contacs", "no configuration key telephony.miss_per_calller", "no configuration variable VEILIG_DATABASE_ULR"} {
		if !strings.Contains(got, want) {
			t.Errorf("the checker missed %q in:\n%s", want, got)
		}
	}
}
