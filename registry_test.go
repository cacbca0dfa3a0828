package veilig_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
)

// chatChannel is a channel that exists only in this test: the citizen's
// client carries a long secret to the chat platform, which brings it with
// the conversation's id.
type chatChannel struct{}

type chatSettings struct{ Room string }

func (s *chatSettings) Problems() []string {
	if s.Room == "" {
		return []string{"room: is required"}
	}
	return nil
}

func (chatChannel) Channel() veilig.Channel { return "test-chat" }

func (chatChannel) CheckPurpose(p *veilig.Purpose) []string {
	if s, ok := p.ChannelSettings.(*chatSettings); !ok || s.Problems() != nil {
		return []string{"test-chat: settings with a room are required"}
	}
	return nil
}

func (chatChannel) Prepare(p *veilig.Purpose) (veilig.Preparation, error) {
	secret := veilig.NewToken()
	next, err := json.Marshal(map[string]string{"room": p.ChannelSettings.(*chatSettings).Room, "join": secret})
	return veilig.Preparation{Secret: secret, Next: next}, err
}

func (chatChannel) Describe(platform, address string) veilig.ConnectionView {
	return veilig.ConnectionView{Channel: "test-chat", Platform: platform, Address: address,
		Label: map[string]string{"nl": "Chatnaam", "en": "Chat name"}}
}

// employeeMeans is a means of proof that exists only in this test, at
// assurance low.
type employeeMeans struct{ scriptedYivi }

func (*employeeMeans) Means() veilig.Means            { return "test-employee" }
func (*employeeMeans) MaxAssurance() veilig.Assurance { return veilig.AssuranceLow }
func (*employeeMeans) Name() string                   { return "Employee ID" }

// TestChannelAndMeansRegistry: a channel and a means that exist only in
// this test, registered as the real ones are, carry a contact through the
// service from start to end: the means' proof at its own assurance, the
// channel's next step and connection, the agent's list, card and opened
// attributes, the end, the attributes and address destroyed, the audit
// entries. The phone purpose beside it keeps its own channel and means,
// and neither channel's secret binds the other's connection.
func TestChannelAndMeansRegistry(t *testing.T) {
	employee := &employeeMeans{}
	yivi := &scriptedYivi{}
	svc, st := newServiceWith(t, yivi, func(c *veilig.ServiceConfig) {
		c.Means = append(c.Means, employee)
		c.Channels = append(c.Channels, chatChannel{})
		c.Purposes = append(c.Purposes, &veilig.Purpose{
			ID: "staff-chat", Labels: map[string]string{"nl": "Personeelschat", "en": "Staff chat"},
			Disclose: [][][]string{{{"t.e.employee.name"}}}, Means: []veilig.Means{"test-employee"},
			Channel: "test-chat", ChannelSettings: &chatSettings{Room: "hr"}, MinAssurance: veilig.AssuranceLow,
			SessionTTL: 15 * time.Minute, Retention: time.Hour,
		})
	})
	ctx := context.Background()
	started, err := svc.StartSession(ctx, "staff-chat", "")
	if err != nil {
		t.Fatal(err)
	}
	var next struct{ Room, Join string }
	if err := json.Unmarshal(started.Next, &next); err != nil || started.Channel != "test-chat" || started.Means != "test-employee" || next.Room != "hr" || len(next.Join) < veilig.MinConnectSecret {
		t.Fatalf("started %+v, next %s", started, started.Next)
	}
	w, req := employee.last()
	if req.ClientReturnURL != "" || len(yivi.requests) != 0 {
		t.Fatalf("the proof went to the wrong means, or with a return URL: %+v", req)
	}
	// Before the proof nothing binds.
	chat := veilig.ConnectRequest{Channel: "test-chat", Secret: next.Join, Platform: "matrix", ConnectionID: "!room:hr", Address: "@jan:example.nl"}
	if _, err := svc.Connect(ctx, chat); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Fatalf("connect before the proof: %v", err)
	}
	w.Connected()
	w.Finished(veilig.ProofResult{Means: "test-employee", Outcome: veilig.ProofProven, Assurance: veilig.AssuranceLow,
		Attributes: []veilig.Attribute{{ID: "t.e.employee.name", Value: "Jan de Vries"}}})

	// The phone purpose's session cannot be bound by the chat, nor the
	// chat's by a call.
	phone, err := svc.StartSession(ctx, "tax", "")
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := yivi.last()
	pw.Finished(veilig.ProofResult{Means: veilig.MeansYivi, Outcome: veilig.ProofProven, Assurance: veilig.AssuranceSubstantial,
		Attributes: []veilig.Attribute{attr("s.i.c.bsn"), attr("s.i.c.a")}})
	if _, err := svc.Connect(ctx, veilig.ConnectRequest{Channel: "test-chat", Secret: phoneCode(t, phone), Platform: "matrix", ConnectionID: "x", Address: "a"}); veilig.ErrorCode(err) != veilig.EINVALID {
		t.Fatalf("a typed code through Connect: %v", err)
	}
	if _, err := svc.Connect(ctx, veilig.ConnectRequest{Channel: veilig.ChannelPhone, Secret: next.Join, Platform: "matrix", ConnectionID: "x", Address: "a"}); veilig.ErrorCode(err) != veilig.ENOTFOUND {
		t.Fatalf("the chat's secret through another channel: %v", err)
	}
	if m, err := svc.ReportCall(ctx, veilig.IncomingCall{Code: next.Join, CallerNumber: "+31600000000", Provider: "test", CallID: "c1"}); err != nil || m.Matched {
		t.Fatalf("the chat's secret as a call's code: %+v %v", m, err)
	}

	m, err := svc.Connect(ctx, chat)
	if err != nil || !m.Matched || m.ContactRef != started.SessionID || m.PurposeID != "staff-chat" {
		t.Fatalf("connect: %+v %v", m, err)
	}
	if again, err := svc.Connect(ctx, chat); err != nil || again != m {
		t.Fatalf("a retried connect: %+v %v, want %+v", again, err, m)
	}

	agent := &veilig.Agent{ID: veilig.NewID(), Username: "hr", DisplayName: "HR", Role: veilig.RoleAgent, Purposes: []string{"staff-chat"}, CreatedAt: time.Now()}
	if err := st.CreateAgent(ctx, agent); err != nil {
		t.Fatal(err)
	}
	list, err := svc.WaitingContacts(ctx, agent)
	if err != nil || len(list) != 1 {
		t.Fatalf("waiting: %v %v", list, err)
	}
	c := list[0]
	wantView := veilig.ConnectionView{Channel: "test-chat", Platform: "matrix", Address: "@jan:example.nl", Label: map[string]string{"nl": "Chatnaam", "en": "Chat name"}}
	if c.Channel != "test-chat" || c.Means != "test-employee" || c.Assurance != veilig.AssuranceLow || c.Attributes != nil || !sameView(c.Connection, wantView) {
		t.Fatalf("listed contact %+v", c)
	}
	if byConn, err := svc.ContactByConnection(ctx, agent, "matrix", "!room:hr"); err != nil || byConn.ID != started.SessionID {
		t.Fatalf("by connection: %+v %v", byConn, err)
	}
	opened, err := svc.OpenContact(ctx, agent, started.SessionID, "192.0.2.1")
	if err != nil || len(opened.Attributes) != 1 || opened.Attributes[0].Value != "Jan de Vries" || opened.Assurance != veilig.AssuranceLow {
		t.Fatalf("opened %+v %v", opened, err)
	}
	if err := svc.EndContact(ctx, agent, started.SessionID, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	s, err := st.Session(ctx, started.SessionID)
	if err != nil || s.State != veilig.StateEnded || !s.SealedDisclosure.IsZero() || !s.SealedAddress.IsZero() || s.ProofRef != "" {
		t.Fatalf("ended session %+v %v: personal data kept", s, err)
	}
	entries, err := st.Audit(ctx, veilig.AuditFilter{SessionID: started.SessionID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Action == veilig.AuditContactOpened && !slices.Equal(e.Attributes, []string{"t.e.employee.name"}) {
			t.Errorf("audit of the view names %v", e.Attributes)
		}
	}
	if !slices.Contains(actions, veilig.AuditContactOpened) || !slices.Contains(actions, veilig.AuditContactEnded) {
		t.Fatalf("audit entries %v", actions)
	}
	if _, err := svc.Connect(ctx, chat); veilig.ErrorCode(err) != veilig.ECONFLICT {
		t.Fatalf("connect after the end: %v", err)
	}
}

func sameView(a, b veilig.ConnectionView) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestChannelRegistry: a purpose whose channel is not configured, or whose
// settings its channel refuses, or which no configured means reaches at
// its least assurance, is a configuration error; so is a channel twice.
func TestChannelRegistry(t *testing.T) {
	chatPurpose := func() *veilig.Purpose {
		return &veilig.Purpose{ID: "c", Labels: map[string]string{"nl": "c", "en": "c"}, Disclose: [][][]string{{{"t.e.employee.name"}}},
			Means: []veilig.Means{"test-employee"}, Channel: "test-chat", ChannelSettings: &chatSettings{Room: "r"},
			MinAssurance: veilig.AssuranceLow, SessionTTL: time.Minute}
	}
	for name, tc := range map[string]struct {
		mutate func(*veilig.ServiceConfig)
		want   string
	}{
		"a channel not configured": {func(c *veilig.ServiceConfig) {
			c.Means = append(c.Means, &employeeMeans{})
			c.Purposes = append(c.Purposes, chatPurpose())
		}, `no channel "test-chat" is configured`},
		"settings the channel refuses": {func(c *veilig.ServiceConfig) {
			c.Means, c.Channels = append(c.Means, &employeeMeans{}), append(c.Channels, chatChannel{})
			p := chatPurpose()
			p.ChannelSettings = &chatSettings{}
			c.Purposes = append(c.Purposes, p)
		}, "settings with a room are required"},
		"no accepted means reaches the least assurance": {func(c *veilig.ServiceConfig) {
			c.Means, c.Channels = append(c.Means, &employeeMeans{}), append(c.Channels, chatChannel{})
			p := chatPurpose()
			p.MinAssurance = veilig.AssuranceSubstantial
			c.Purposes = append(c.Purposes, p)
		}, "reaches min_assurance substantial"},
		"a phone purpose without phone settings": {func(c *veilig.ServiceConfig) { c.Purposes[0].ChannelSettings = nil }, "the number to dial is required"},
		"a channel twice":                        {func(c *veilig.ServiceConfig) { c.Channels = append(c.Channels, telephony.Phone{}) }, "configured twice"},
		"no channel":                             {func(c *veilig.ServiceConfig) { c.Channels = nil }, "a channel"},
	} {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			cfg := baseConfig(t, st)
			tc.mutate(&cfg)
			if _, err := veilig.NewService(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
