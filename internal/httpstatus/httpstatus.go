// Package httpstatus records the status code a handler answered, for the
// metrics of package httpapi and for the embedded Yivi server's handler,
// which learns from it that the app fetched a session's request.
package httpstatus

import "net/http"

// Recorder is an http.ResponseWriter that remembers the status it sent.
type Recorder struct {
	http.ResponseWriter
	// Status is the status sent: 200 when the handler wrote a body without
	// one, 0 when it sent nothing yet.
	Status int
}

// WriteHeader remembers the first status.
func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write sends body bytes; without a status sent before, that is 200.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
