package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veiligcontact/veilig"
)

type overview struct {
	Agents []struct {
		ID, Username string
		Role         veilig.Role
		Sessions     int
		Contacts     int
	}
	Waiting []struct {
		ID, Purpose string
		State       veilig.SessionState
		MatchedAt   time.Time
		TakenBy     string
	}
	Since      time.Time
	Matched    map[string]int
	Unverified int
}

// TestSupervisorOverview: agents online, live contacts with their waiting
// times, and matched against unverified calls since the start of the day;
// supervisors and admins only, without personal data.
func TestSupervisorOverview(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ta := startApp(t, db(t), nil)
			ta.addAccount("sam", veilig.RoleSupervisor, "demo")
			aliceID := ta.addAccount("alice", veilig.RoleAgent, "demo")
			ta.addAccount("idle", veilig.RoleAgent, "demo")
			ta.addAccount("ada", veilig.RoleAdmin, "*")
			idle := ta.agentClient("idle")
			ta.clock.Advance(20 * time.Minute)
			sam, alice, ada := ta.agentClient("sam"), ta.agentClient("alice"), ta.agentClient("ada")
			ta.agentClient("alice") // a second browser

			w := ta.newWallet()
			taken := ta.openContact(w, alice, "sup-1")
			waiting := ta.openContact(w, nil, "sup-2")
			for i, caller := range []string{"+31600000001", "+31600000002"} {
				if m, err := ta.call("0000000", caller, "miss-"+string(rune('a'+i))); err != nil || m.Matched {
					t.Fatalf("a wrong code matched: %+v %v", m, err)
				}
			}

			since := ta.clock.Now().Add(-time.Hour).Truncate(time.Second)
			get := func(c *agentClient, q string) (int, overview, string) {
				var o overview
				st, _, body := c.raw("/api/v1/supervisor/overview"+q, nil)
				if st == 200 {
					if err := json.Unmarshal(body, &o); err != nil {
						t.Fatalf("overview: %v", err)
					}
				}
				return st, o, string(body)
			}
			st, o, raw := get(sam, "?since="+url.QueryEscape(since.Format(time.RFC3339)))
			if st != 200 {
				t.Fatalf("overview: %d %s", st, raw)
			}
			// idle was last seen 20 minutes ago, within the 30 minute idle timeout.
			online := map[string]int{}
			for _, a := range o.Agents {
				online[a.Username] = a.Sessions
				if a.ID == aliceID && a.Contacts != 1 {
					t.Errorf("alice has %d contacts in hand, want 1", a.Contacts)
				}
			}
			if len(online) != 4 || online["alice"] != 2 || online["sam"] != 1 || online["idle"] != 1 || online["ada"] != 1 {
				t.Fatalf("online %v", online)
			}
			if len(o.Waiting) != 2 || o.Waiting[0].ID != taken.SessionID || o.Waiting[0].State != veilig.StateAnswered || o.Waiting[0].TakenBy != aliceID ||
				o.Waiting[1].ID != waiting.SessionID || o.Waiting[1].State != veilig.StateMatched || o.Waiting[1].TakenBy != "" || o.Waiting[1].MatchedAt.IsZero() {
				t.Fatalf("waiting %+v", o.Waiting)
			}
			if o.Matched["demo"] != 2 || len(o.Matched) != 1 || o.Unverified != 2 || !o.Since.Equal(since) {
				t.Fatalf("today: matched %v unverified %d since %v", o.Matched, o.Unverified, o.Since)
			}
			for _, v := range []string{"+31611111111", "+31600000001", "999999990", "Jan de Vries"} {
				if strings.Contains(raw, v) {
					t.Errorf("the overview holds personal data")
				}
			}

			// Twenty minutes on: idle has been idle for 40 minutes and is
			// no longer online; the others did something meanwhile.
			ta.clock.Advance(20 * time.Minute)
			for _, c := range []*agentClient{sam, alice, ada} {
				c.do("GET", "/api/v1/agent/me", nil, nil, nil)
			}
			_, o, _ = get(ada, "")
			for _, a := range o.Agents {
				if a.Username == "idle" {
					t.Fatal("an agent idle past the timeout is still online")
				}
			}
			if st := idle.do("GET", "/api/v1/agent/me", nil, nil, nil); st != 401 {
				t.Fatalf("the idle agent's session: %d", st)
			}
			// The default "today" starts at the server's midnight.
			if y, m, d := ta.clock.Now().Date(); !o.Since.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.Local)) {
				t.Errorf("default since %v", o.Since)
			}

			if st, _, _ := get(alice, ""); st != 403 {
				t.Errorf("an agent sees the overview: %d", st)
			}
			for _, q := range []string{"?since=yesterday", "?since=" + url.QueryEscape(ta.clock.Now().Add(-27*time.Hour).Format(time.RFC3339)), "?since=" + url.QueryEscape(ta.clock.Now().Add(time.Hour).Format(time.RFC3339))} {
				if st, _, body := get(sam, q); st != 400 || !strings.Contains(body, "invalid") {
					t.Errorf("%s: %d %s", q, st, body)
				}
			}
		})
	}
}
