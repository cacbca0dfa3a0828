package connect

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/veiligcontact/veilig/telephony"
)

// Environment variables of the Lambda function.
const (
	// EnvURL is the base URL of veilig's internal listener (the telephony
	// API), reachable from the Lambda's VPC, e.g. https://veilig.internal:8081.
	EnvURL = "VEILIG_TELEPHONY_URL"
	// EnvSecret is veilig's telephony.secret: base64 of at least 32 bytes.
	EnvSecret = "VEILIG_TELEPHONY_SECRET"
	// EnvTimeout bounds each call to veilig (a Go duration, 100ms to 7s;
	// default 6s).
	EnvTimeout = "VEILIG_TELEPHONY_TIMEOUT"
	// EnvCAFile is an optional PEM file (packaged with the function) of the
	// CA that signed the internal listener's certificate.
	EnvCAFile = "VEILIG_TELEPHONY_CA_FILE"
)

// FromEnv makes a Handler that calls veilig's signed telephony API as the
// environment (getenv, e.g. os.Getenv) says. The error names every
// variable that is wrong, never a secret's value.
func FromEnv(getenv func(string) string) (*Handler, error) {
	var problems []string
	add := func(name, msg string) { problems = append(problems, name+": "+msg) }

	base := strings.TrimSuffix(getenv(EnvURL), "/")
	if u, err := url.Parse(base); base == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(EnvURL, "must be the base URL of veilig's internal listener, such as https://veilig.internal:8081")
	}
	secret, err := base64.StdEncoding.DecodeString(getenv(EnvSecret))
	if err != nil || len(secret) < 32 {
		add(EnvSecret, "must be veilig's telephony.secret: base64 of at least 32 bytes")
	}
	timeout := telephony.DefaultTimeout
	if s := getenv(EnvTimeout); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil || timeout < 100*time.Millisecond || timeout > 7*time.Second {
			add(EnvTimeout, "must be a duration from 100ms to 7s (Amazon Connect waits 8s at most)")
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if path := getenv(EnvCAFile); path != "" {
		pem, err := os.ReadFile(path)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			add(EnvCAFile, "must name a readable PEM file with at least one certificate")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if len(problems) > 0 {
		return nil, errors.New("connect: " + strings.Join(problems, "; "))
	}
	return &Handler{
		Core: &telephony.Client{
			BaseURL: base, Secret: secret,
			HTTPClient: &http.Client{Timeout: timeout, Transport: transport},
		},
		Timeout: timeout,
	}, nil
}
