package twilio

import (
	"encoding/xml"
	"strings"
)

// twiml builds a TwiML document. Every text and attribute value is
// XML-escaped, so nothing from a request or the configuration can change
// the document's structure.
type twiml struct{ b strings.Builder }

func newTwiML() *twiml {
	t := &twiml{}
	t.b.WriteString(xml.Header)
	t.b.WriteString("<Response>")
	return t
}

// open writes <name a="v"...> (attrs are name, value pairs; empty values
// are left out).
func (t *twiml) open(name string, attrs ...string) *twiml {
	t.start(name, attrs)
	t.b.WriteString(">")
	return t
}

func (t *twiml) start(name string, attrs []string) {
	t.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] == "" {
			continue
		}
		t.b.WriteString(" " + attrs[i] + `="`)
		xml.EscapeText(&t.b, []byte(attrs[i+1]))
		t.b.WriteString(`"`)
	}
}

func (t *twiml) close(name string) *twiml {
	t.b.WriteString("</" + name + ">")
	return t
}

func (t *twiml) text(s string) *twiml {
	xml.EscapeText(&t.b, []byte(s))
	return t
}

// elem writes <name attrs>text</name>.
func (t *twiml) elem(name, text string, attrs ...string) *twiml {
	return t.open(name, attrs...).text(text).close(name)
}

// empty writes <name attrs/>.
func (t *twiml) empty(name string, attrs ...string) *twiml {
	t.start(name, attrs)
	t.b.WriteString("/>")
	return t
}

func (t *twiml) String() string { return t.b.String() + "</Response>" }
