package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/veiligcontact/veilig"
	"github.com/veiligcontact/veilig/telephony"
	"github.com/veiligcontact/veilig/yivi/demoscheme"
)

// TestComposeTopology runs deploy/compose as written, with local processes
// where the compose file has containers: the project's Caddyfile in Debian's
// Caddy in front, irmago's requestor server behind /irma, three replicas
// configured from deploy/compose/veilig.yaml (only what names the
// containers' network, files and secrets replaced, and the purpose's
// attributes taken from the demo scheme the wallet holds), PostgreSQL, and
// the first admin made with the documented command. A real irmago wallet
// discloses through the proxy, a call is reported to a replica's internal
// listener, and the admin opens and ends the contact through the proxy.
func TestComposeTopology(t *testing.T) {
	need(t)
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("caddy missing (apt-get install caddy; scripts/test-deps.sh does)")
		}
		t.Skip("caddy missing")
	}
	ctx := t.Context()
	dir := t.TempDir()
	bin := filepath.Join(dir, "veilig")
	if err := Build(ctx, "../..", bin); err != nil {
		t.Fatal(err)
	}
	pg, err := StartPostgres(ctx, filepath.Join(dir, "pg"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background(), "immediate") })
	if err := pg.CreateDatabase(ctx, "veilig"); err != nil {
		t.Fatal(err)
	}

	proxyPort, _ := FreePort()
	site := fmt.Sprintf("http://127.0.0.1:%d", proxyPort)
	schemes, keys, err := demoscheme.Extract(filepath.Join(dir, "yivi"))
	if err != nil {
		t.Fatal(err)
	}
	yln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	yiviSrv, err := StartYiviServerAt(yln, site+"/irma", schemes, keys, "compose-requestor-"+b64(12))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(yiviSrv.Close)

	tel := make([]byte, 32)
	copy(tel, b64(32))
	common := composeConfig(t, pg.PoolURL("veilig", 8), yiviSrv, schemes, tel)
	var upstreams []string
	var replicas []*Replica
	for i := range 3 {
		pp, _ := FreePort()
		ip, _ := FreePort()
		r, err := StartReplica(ctx, ReplicaConfig{
			Bin: bin, Dir: filepath.Join(dir, fmt.Sprintf("veilig-%d", i+1)), Name: fmt.Sprintf("veilig-%d", i+1),
			Public: pp, Intern: ip, PublicURL: site, Common: common,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			r.Stop(10 * time.Second)
			if t.Failed() {
				t.Logf("%s log (tail):\n%s", r.Name, tail(r.Log(), 4000))
			}
		})
		replicas = append(replicas, r)
		upstreams = append(upstreams, strings.TrimPrefix(r.PublicURL, "http://"))
	}

	// The Caddyfile of deploy/compose, unchanged; its {$...} values name
	// the local processes instead of the compose services.
	proxy := exec.CommandContext(ctx, caddy, "run", "--config", "../../deploy/compose/Caddyfile", "--adapter", "caddyfile")
	proxy.Env = append(os.Environ(),
		"HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "caddy"), "XDG_CONFIG_HOME="+filepath.Join(dir, "caddy"),
		"CADDY_ADMIN=off", "CADDY_BIND=127.0.0.1", "CADDY_SITE="+site,
		"CADDY_YIVI="+yln.Addr().String(), "CADDY_REPLICAS="+strings.Join(upstreams, " "))
	var proxyLog bytes.Buffer
	proxy.Stdout, proxy.Stderr = &proxyLog, &proxyLog
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = proxy.Process.Kill()
		_ = proxy.Wait()
		if t.Failed() {
			t.Logf("caddy log (tail):\n%s", tail(proxyLog.String(), 3000))
		}
	})
	citizen := NewClient(site)
	if err := Retry(ctx, 20*time.Second, func() error {
		resp, err := citizen.HTTP.Get(site + "/readyz")
		if err != nil {
			return &StatusError{Status: http.StatusBadGateway, Body: err.Error()}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return &StatusError{Status: http.StatusBadGateway}
		}
		return nil
	}); err != nil {
		t.Fatalf("the proxy never answered /readyz: %v", err)
	}

	// The first admin, with the command docs/scaling.md gives: -config
	// names the deployment's file, so the account is in PostgreSQL.
	password := "compose-" + b64(18)
	add := exec.CommandContext(ctx, bin, "user", "add", "-config", filepath.Join(replicas[0].Dir, "veilig.yaml"),
		"-username", "ada", "-role", "admin", "-purposes", "*", "-password-stdin")
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v: %s", err, out)
	}

	w, err := NewWallet(ctx, filepath.Join(dir, "wallet"), schemes, yiviSrv.URL, yiviSrv.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	s, err := citizen.StartSession(ctx, "belastingen")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(s.SessionPtr, []byte(`"`+site+`/irma/session/`)) {
		t.Fatalf("the session pointer does not lead through the proxy: %s", s.SessionPtr)
	}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	ret, err := w.Disclose(dctx, s.SessionPtr)
	cancel()
	if err != nil {
		t.Fatalf("disclose through the proxy: %v", err)
	}
	if !strings.HasPrefix(ret, "tel:+31850000000,") {
		t.Fatalf("return URL %q", ret)
	}
	// A call to a replica's internal listener, as a telephony adapter on
	// the compose network makes it; the disclosure's result may still be
	// on its way from the Yivi server.
	call := veilig.IncomingCall{Provider: "api", CallID: "compose-" + s.SessionID, CallerNumber: "+31612345678", Code: s.Dial.Code}
	client := &telephony.Client{BaseURL: replicas[1].InternalURL, Secret: tel}
	var m veilig.CallMatch
	if err := Retry(ctx, 30*time.Second, func() (err error) {
		if m, err = client.ReportCall(ctx, call); err == nil && !m.Matched {
			return &StatusError{Status: http.StatusBadGateway, Body: "not matched yet"}
		}
		return err
	}); err != nil || m.ContactRef != s.SessionID {
		t.Fatalf("report call: %+v %v", m, err)
	}
	admin := NewClient(site)
	if err := admin.Login(ctx, "ada", password); err != nil {
		t.Fatalf("the first admin signs in through the proxy: %v", err)
	}
	opened, err := admin.OpenContact(ctx, s.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range opened.Attributes {
		got[a.ID] = a.Value
	}
	if got[demoscheme.BSN] != Person[demoscheme.BSN] || got[demoscheme.FullName] != Person[demoscheme.FullName] || len(got) != 2 {
		t.Fatalf("attributes through the proxy: %v", got)
	}
	if err := admin.EndContact(ctx, s.SessionID); err != nil {
		t.Fatal(err)
	}
}

// composeConfig is deploy/compose/veilig.yaml with what names the compose
// network, its files and the secrets of veilig.env replaced for local
// processes (StartReplica writes the listeners), and the purposes asking
// the demo scheme's attributes instead of pbdf's.
func composeConfig(t *testing.T, dbURL string, y *YiviServer, schemes string, telSecret []byte) string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/compose/veilig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	section := func(k string) map[string]any {
		m, ok := cfg[k].(map[string]any)
		if !ok {
			t.Fatalf("deploy/compose/veilig.yaml has no %s section", k)
		}
		return m
	}
	for _, k := range []string{"public", "internal", "data_dir"} {
		delete(cfg, k)
	}
	section("database")["url"] = dbURL
	yv := section("yivi")
	yv["url"], yv["token"], yv["schemes_path"] = y.URL, y.Token, schemes
	sec := section("secrets")
	sec["secret_key"] = b64(32)
	keys := sec["encryption_keys"].(map[string]any)
	for k := range keys {
		keys[k] = b64(32)
	}
	cfg["telephony"] = map[string]any{"secret": base64.StdEncoding.EncodeToString(telSecret)}
	purposes, _ := cfg["purposes"].([]any)
	if len(purposes) != 1 {
		t.Fatalf("deploy/compose/veilig.yaml: %d purposes, want its one", len(purposes))
	}
	purposes[0].(map[string]any)["disclose"] = [][][]string{{{demoscheme.BSN, demoscheme.FullName}}}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
