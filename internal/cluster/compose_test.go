package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
	caddy := needTool(t, "caddy", "Debian's caddy")
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
	// irmago's server CLI with deploy/compose/irma-server.yaml, as the
	// compose file runs it; a second, in-process requestor server only
	// issues the wallet its demo credentials (production has no issuer).
	yiviPort, _ := FreePort()
	token := "compose-requestor-" + b64(12)
	yiviSrv, yiviLog := startYiviCLI(t, yiviPort, site+"/irma", schemes, token)
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := StartYiviServer(iln, schemes, keys, "issuer-"+b64(12))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)

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
		fmt.Sprintf("CADDY_YIVI=127.0.0.1:%d", yiviPort), "CADDY_REPLICAS="+strings.Join(upstreams, " "))
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

	w, err := NewWallet(ctx, filepath.Join(dir, "wallet"), schemes, issuer.URL, issuer.Token)
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
	call := veilig.IncomingCall{Provider: "api", CallID: "compose-" + s.SessionID, CallerNumber: "+31612345678", CalledNumber: s.Dial.Number, Code: s.Dial.Code}
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
	// What the file asks of the Yivi server held: no scheme downloads,
	// status events on.
	if log := yiviLog.String(); strings.Contains(log, "Updating schemes every") {
		t.Errorf("the Yivi server updates schemes, though irma-server.yaml says never:\n%s", tail(log, 2000))
	}
	checkStatusEvents(t, yiviSrv)
}

// startYiviCLI runs irmago's `yivi irma server` (built once per irmago
// version into the user cache) with deploy/compose/irma-server.yaml, only
// its port, url, schemes and requestor key replaced for local processes
// and its disclosing permission for the demo scheme.
func startYiviCLI(t *testing.T, port int, appURL, schemes, token string) (*YiviServer, *bytes.Buffer) {
	t.Helper()
	bin := yiviCLI(t)
	raw, err := os.ReadFile("../../deploy/compose/irma-server.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["port"], cfg["url"], cfg["schemes_path"] = port, appURL, schemes
	cfg["listen_addr"] = "127.0.0.1"
	req, ok := cfg["requestors"].(map[string]any)["veilig"].(map[string]any)
	if !ok {
		t.Fatal("irma-server.yaml has no requestor veilig")
	}
	req["key"], req["disclose_perms"] = token, []string{demoscheme.SchemeID + ".*"}
	out, _ := yaml.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "irma-server.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "irma", "server", "--config="+path)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("yivi server log (tail):\n%s", tail(log.String(), 3000))
		}
	})
	y := &YiviServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Token: token}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return y, &log
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Yivi server never listened:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// yiviCLI builds irmago's yivi command at the version go.mod pins, in its
// own module, once per version (as deploy/compose/build-images.sh does).
func yiviCLI(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/privacybydesign/irmago").Output()
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "veilig-test", "yivi-"+version)
	bin := filepath.Join(dir, "yivi")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.CommandContext(t.Context(), "go", "install", "github.com/privacybydesign/irmago/yivi@"+version)
	cmd.Dir = t.TempDir() // outside this module: irmago's own go.mod decides
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-trimpath")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build irmago's yivi command: %v\n%s", err, b)
	}
	return bin
}

// checkStatusEvents starts a session on the requestor API and asks its
// status events: the server must stream them (sse in its configuration).
func checkStatusEvents(t *testing.T, y *YiviServer) {
	t.Helper()
	body := `{"@context":"https://irma.app/ld/request/disclosure/v2","disclose":[[["` + demoscheme.FullName + `"]]]}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, y.URL+"/session", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", y.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&pkg)
	resp.Body.Close()
	if err != nil || pkg.Token == "" {
		t.Fatalf("start a session on the Yivi server: %d %v", resp.StatusCode, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, y.URL+"/session/"+pkg.Token+"/statusevents", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("status events: %d %s, want a stream (sse: true)", resp.StatusCode, resp.Header.Get("Content-Type"))
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
