package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestClientToken(t *testing.T) {
	for path, want := range map[string][2]string{
		"/irma/session/abc":        {"abc", ""},
		"/irma/session/abc/":       {"abc", ""},
		"/irma/session/abc/proofs": {"abc", "proofs"},
		"/irma/other":              {"", "-"},
	} {
		ct, tail := clientToken(path)
		if ct != want[0] || tail != want[1] {
			t.Errorf("clientToken(%q) = %q, %q; want %q, %q", path, ct, tail, want[0], want[1])
		}
	}
}

// The wallet must reach the capture with the original host in the path,
// and everything else in the pointer unchanged.
func TestCaptureVia(t *testing.T) {
	c := newCapture("http://127.0.0.1:9")
	got := c.via(json.RawMessage(`{"u":"http://127.0.0.1:4000/irma/session/XYZ","irmaqr":"disclosing"}`))
	var qr map[string]string
	if err := json.Unmarshal(got, &qr); err != nil {
		t.Fatal(err)
	}
	if qr["u"] != "http://127.0.0.1:9/127.0.0.1:4000/irma/session/XYZ" || qr["irmaqr"] != "disclosing" {
		t.Fatalf("via = %s", got)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, .5); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(ds, .99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument in place")
	}
	if p := percentile(nil, .5); p != 0 {
		t.Errorf("p50 of nothing = %v", p)
	}
}

// A new report keeps what people wrote below the mark, and only that.
func TestHandWrittenKept(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/benchmarks.md"
	if got := handWritten(path); got != "" {
		t.Errorf("no file: %q", got)
	}
	old := "# Benchmarks\n\n| old table |\n\n" + handWrittenMark + "\n\nWhat bounds it.\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := handWritten(path), "\n"+handWrittenMark+"\n\nWhat bounds it.\n"; got != want {
		t.Errorf("handWritten = %q, want %q", got, want)
	}
	if err := os.WriteFile(path, []byte("# Benchmarks\n\nno mark\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := handWritten(path); got != "" {
		t.Errorf("without the mark: %q", got)
	}
}
