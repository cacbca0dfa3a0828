package main

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/veiligcontact/veilig/config"
	"github.com/veiligcontact/veilig/httpapi"
)

// TestOpenAPICoversEveryRoute: with everything on (demo, the agent
// console, Twilio, Asterisk, the profiler), every pattern either listener
// serves is in openapi.yaml, and everything there is served. A prefix
// pattern ("/irma/") is documented as its prefix with a {path} parameter,
// an exact one ("/agent/{$}") as its path; x-any-method stands for a
// pattern without a method.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	ta := startApp(t, "sqlite:"+t.TempDir()+"/veilig.db", func(c *config.Config) {
		c.Internal.PProf = true
		c.Telephony.Twilio.AuthToken, c.Telephony.Twilio.Enqueue = strings.Repeat("0a", 16), "verified"
		// An organisation with a Twilio account of its own: its webhooks.
		c.Organisations = []config.Organisation{{ID: "arnhem", Names: map[string]string{"nl": "Arnhem", "en": "Arnhem"},
			Telephony: config.OrganisationTelephony{Twilio: config.OrganisationTwilio{AuthToken: strings.Repeat("0b", 16), Enqueue: "arnhem"}}}}
	})
	public, internal := httpapi.Patterns(ta.hcfg)
	var served []string
	for _, p := range append(public, internal...) {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "", p // any method
		}
		switch path {
		case "/", "/api/":
			continue // the catch-alls: "no such endpoint"
		}
		path = strings.Replace(path, "/twilio/arnhem/", "/twilio/{organisation}/", 1)
		// "/x/{$}" is exactly /x/; "/x/" is every path below it.
		if exact, ok := strings.CutSuffix(path, "{$}"); ok {
			path = exact
		} else if strings.HasSuffix(path, "/") {
			path += "{path}"
		}
		served = append(served, strings.TrimSpace(method+" "+path))
	}
	documented, err := httpapi.DocumentedOperations()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(served)
	served = slices.Compact(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("served but not in openapi.yaml: %s", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("in openapi.yaml but not served: %s", r)
		}
	}
}
