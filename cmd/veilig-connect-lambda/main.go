// Command veilig-connect-lambda is the AWS Lambda function that Amazon
// Connect invokes: from the contact flow with the digits the caller typed,
// and from an EventBridge rule with contact events. It reports them to
// veilig's signed telephony API; see package telephony/connect and
// docs/telephony.md. Configuration is by environment variables
// (VEILIG_TELEPHONY_URL, VEILIG_TELEPHONY_SECRET, VEILIG_TELEPHONY_TIMEOUT,
// VEILIG_TELEPHONY_CA_FILE).
//
// Build for the provided.al2023 runtime:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./cmd/veilig-connect-lambda
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/veiligcontact/veilig/telephony/connect"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := setup(os.Getenv, log)
	if err != nil {
		// A misconfigured function fails its init; Connect then takes the
		// flow's error branch, which queues the caller unverified.
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

func setup(getenv func(string) string, log *slog.Logger) (*connect.Handler, error) {
	h, err := connect.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	h.Logger = log
	return h, nil
}
