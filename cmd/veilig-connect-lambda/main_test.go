package main

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/veiligcontact/veilig/telephony/connect"
)

func TestSetup(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if _, err := setup(func(string) string { return "" }, log); err == nil ||
		!strings.Contains(err.Error(), connect.EnvURL) || !strings.Contains(err.Error(), connect.EnvSecret) {
		t.Fatalf("an empty environment: %v", err)
	}
	env := map[string]string{
		connect.EnvURL:    "https://veilig.internal:8081",
		connect.EnvSecret: base64.StdEncoding.EncodeToString(make([]byte, 32)),
	}
	h, err := setup(func(k string) string { return env[k] }, log)
	if err != nil || h.Logger != log || h.Core == nil {
		t.Fatalf("%v %+v", err, h)
	}
	// What main hands to lambda.Start must be a lambda.Handler as is, so
	// the event's shape decides how it is decoded.
	var _ lambda.Handler = h
}
