package httpstatus

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRecorder(t *testing.T) {
	for name, tc := range map[string]struct {
		handler func(w http.ResponseWriter)
		want    int
	}{
		"body only":        {func(w http.ResponseWriter) { w.Write([]byte("x")) }, http.StatusOK},
		"status then body": {func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound); w.Write([]byte("x")) }, http.StatusNotFound},
		"the first status": {func(w http.ResponseWriter) { w.WriteHeader(http.StatusGone); w.WriteHeader(http.StatusOK) }, http.StatusGone},
		"nothing":          {func(w http.ResponseWriter) {}, 0},
	} {
		rec := &Recorder{ResponseWriter: httptest.NewRecorder()}
		tc.handler(rec)
		if rec.Status != tc.want {
			t.Errorf("%s: status %d, want %d", name, rec.Status, tc.want)
		}
	}
	rec := &Recorder{ResponseWriter: httptest.NewRecorder()}
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Errorf("Flush through the recorder: %v", err)
	}
}
