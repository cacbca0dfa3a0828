package demo

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseSessionPointer(t *testing.T) {
	const ptr = `{"u":"https://contact.example.nl/irma/session/abcDEF123","irmaqr":"disclosing"}`
	want := SessionPointer{U: "https://contact.example.nl/irma/session/abcDEF123", Irmaqr: "disclosing"}
	// What yivi-client puts in the QR code (with its extra field) and in
	// the app links on phones.
	qrJSON := `{"u":"https://contact.example.nl/irma/session/abcDEF123","irmaqr":"disclosing","continueOnSecondDevice":true}`
	for name, in := range map[string]string{
		"json":               ptr,
		"json with spaces":   "  \n" + ptr + "\n ",
		"universal link":     "https://open.yivi.app/-/session#" + url.QueryEscape(qrJSON),
		"path-escaped link":  "https://open.yivi.app/-/session#" + url.PathEscape(qrJSON),
		"old irma.app link":  "https://irma.app/-/session#" + url.QueryEscape(ptr),
		"android intent":     "intent://qr/json/" + url.QueryEscape(ptr) + "#Intent;package=org.irmacard.cardemu;scheme=irma;l.timestamp=1;end",
		"irma scheme":        "irma://qr/json/" + url.QueryEscape(ptr),
		"unescaped fragment": "https://open.yivi.app/-/session#" + ptr,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSessionPointer(in)
			if err != nil || got != want {
				t.Fatalf("got %+v, %v; want %+v", got, err, want)
			}
			if string(got.JSON()) != ptr {
				t.Fatalf("JSON %s, want %s", got.JSON(), ptr)
			}
		})
	}

	for name, in := range map[string]string{
		"empty":              "",
		"text":               "hello",
		"json without u":     `{"irmaqr":"disclosing"}`,
		"unknown kind":       `{"u":"https://x.example/irma/session/a","irmaqr":"teleport"}`,
		"relative u":         `{"u":"/irma/session/a","irmaqr":"disclosing"}`,
		"javascript u":       `{"u":"javascript:alert(1)","irmaqr":"disclosing"}`,
		"credentials in u":   `{"u":"https://user:pw@x.example/irma/session/a","irmaqr":"disclosing"}`,
		"link to elsewhere":  "https://open.yivi.app/-/other#" + url.QueryEscape(ptr),
		"http link":          "http://open.yivi.app/-/session#" + url.QueryEscape(ptr),
		"link without json":  "https://open.yivi.app/-/session#nothing",
		"bad escape":         "https://open.yivi.app/-/session#%zz",
		"too long":           `{"u":"https://x.example/` + strings.Repeat("a", maxInput) + `","irmaqr":"disclosing"}`,
		"array":              `[]`,
		"intent without ptr": "intent://qr/json/#Intent;end",
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			if got, err := ParseSessionPointer(in); err == nil {
				t.Fatalf("accepted %q as %+v", in, got)
			}
		})
	}
}

func TestParseDial(t *testing.T) {
	for in, want := range map[string]Dial{
		"tel:+31850000000,12345678":    {"+31850000000", "12345678"},
		"+31850000000,12345678":        {"+31850000000", "12345678"},
		"+31 85 000 0000 , 1234 5678":  {"+31850000000", "12345678"},
		"tel:+31850000000%2C12345678":  {"+31850000000", "12345678"},
		"TEL:+31850000000,,12345678":   {"+31850000000", "12345678"},
		"085-0000000;12345678":         {"+31850000000", "12345678"},
		"0031850000000p1234#":          {"+31850000000", "1234#"},
		"+31850000000":                 {"+31850000000", ""},
		"+31850000000w*1":              {"+31850000000", "*1"},
		"(085) 000 00 00,12345678":     {"+31850000000", "12345678"},
		"tel:+442071234567,987654":     {"+442071234567", "987654"},
		"\u00a0+31850000000,12345678 ": {"+31850000000", "12345678"},
	} {
		got, err := ParseDial(in)
		if err != nil || got != want {
			t.Errorf("ParseDial(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "tel:", "hello", "+31abc,123", "+0850000000,1", "+31850000000,12a4",
		"+31850000000," + strings.Repeat("1", 33), strings.Repeat("+31850000000", 30), "+3185", "tel:%zz",
	} {
		if got, err := ParseDial(in); err == nil {
			t.Errorf("ParseDial(%q) accepted as %+v", in, got)
		}
	}
	if u := (Dial{"+31850000000", "12345678"}).URI(); u != "tel:+31850000000,12345678" {
		t.Errorf("URI %s", u)
	}
}

// The demo endpoints take these from any browser that reaches them: they
// must never panic, and what they accept must be what they give back.
func FuzzParseSessionPointer(f *testing.F) {
	f.Add(`{"u":"https://x.example/irma/session/a","irmaqr":"disclosing"}`)
	f.Add("https://open.yivi.app/-/session#%7B%22u%22%3A%22https%3A%2F%2Fx%22%2C%22irmaqr%22%3A%22disclosing%22%7D")
	f.Add("intent://qr/json/%7B%7D#Intent;end")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParseSessionPointer(in)
		if err != nil {
			return
		}
		again, err := ParseSessionPointer(string(p.JSON()))
		if err != nil || again != p {
			t.Fatalf("%q parsed as %+v, which does not parse back (%+v, %v)", in, p, again, err)
		}
	})
}

func FuzzParseDial(f *testing.F) {
	f.Add("tel:+31850000000,12345678")
	f.Add("085-0000000;1234#")
	f.Add("0031850000000p*1")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDial(in)
		if err != nil {
			return
		}
		again, err := ParseDial(d.URI())
		if err != nil || again != d {
			t.Fatalf("%q parsed as %+v, whose URI does not parse back (%+v, %v)", in, d, again, err)
		}
	})
}
