// Package testoidc runs a real OpenID provider for tests: the OpenID
// Provider of github.com/zitadel/oidc (package op, certified by the OpenID
// Foundation) with that project's example storage and login page, on
// 127.0.0.1. Tests sign in through it exactly as a browser would: the
// authorization endpoint, the provider's own login form, the code exchange,
// the keys and the userinfo endpoint are all real.
package testoidc

import (
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// User is an account at the provider.
type User struct {
	ID, Username, Password string
	FirstName, LastName    string
	Email                  string
	EmailVerified          bool
}

// Server is a running provider.
type Server struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	ln           net.Listener
	srv          *http.Server
}

type users map[string]*storage.User

func (u users) GetUserByID(id string) *storage.User { return u[id] }
func (u users) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u users) ExampleClientID() string { return storage.ServiceUserID }

var quiet = slog.New(slog.DiscardHandler)

// New reserves the provider's address, so its issuer URL is known before
// the relying party (which must be configured with it) starts; Serve then
// starts it. It stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Issuer: "http://" + ln.Addr().String(), ClientID: "veilig-console", ClientSecret: "console-secret-" + veiligSafe(t.Name()), ln: ln}
	t.Cleanup(func() {
		if s.srv != nil {
			s.srv.Close()
		} else {
			ln.Close()
		}
	})
	return s
}

// Serve runs the provider with one confidential web client that may
// redirect to redirectURL, and the given users.
func (s *Server) Serve(redirectURL string, us ...User) {
	store := users{}
	for _, u := range us {
		store[u.ID] = &storage.User{
			ID: u.ID, Username: u.Username, Password: u.Password, FirstName: u.FirstName, LastName: u.LastName,
			Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.Dutch,
		}
	}
	clients := map[string]*storage.Client{s.ClientID: storage.WebClient(s.ClientID, s.ClientSecret, redirectURL)}
	st := storage.NewStorageWithClients(store, clients)
	// The example server logs every request through slog's default
	// logger, and sets it when given one: keep test output readable.
	router := exampleop.SetupServer(s.Issuer, st, quiet, false)
	s.srv = &http.Server{Handler: router}
	go s.srv.Serve(s.ln)
}

// Start is New and Serve in one.
func Start(t testing.TB, redirectURL string, us ...User) *Server {
	t.Helper()
	s := New(t)
	s.Serve(redirectURL, us...)
	return s
}

func veiligSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
}

// Stop stops the provider (to test a provider that is down).
func (s *Server) Stop() { s.srv.Close() }

var idField = regexp.MustCompile(`name="id" value="([^"]*)"`)

// Login plays the person at the provider's login page: client (with a
// cookie jar) opens start, which must lead to the provider's login form,
// and submits username and password there. It returns the first response
// that is not a redirect on the way back, or the first redirect whose
// target stop accepts (so a test can look at it before following it).
func (s *Server) Login(client *http.Client, start, username, password string, stop func(*url.URL) bool) (*http.Response, error) {
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 10 {
			return errors.New("testoidc: too many redirects")
		}
		if stop != nil && stop(req.URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := c.Get(start)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := idField.FindSubmatch(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.String(), s.Issuer+"/login/username") || m == nil {
		return nil, fmt.Errorf("testoidc: expected the provider's login form, got %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return c.PostForm(s.Issuer+"/login/username", url.Values{
		"id": {html.UnescapeString(string(m[1]))}, "username": {username}, "password": {password},
	})
}
