package asterisk

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Limits of the wire protocol. Asterisk's lines are far shorter: env values
// are channel names and caller ids, replies a result and a variable's value.
const (
	maxLine      = 4096 // bytes in one line, '\n' included
	maxEnvLines  = 256  // agi_* lines before the blank line (agi_arg_N included)
	maxUsageLine = 64   // lines of a "520-" usage reply
)

// Protocol errors. They never quote the offending line: it may hold a code
// or a caller id.
var (
	errLineTooLong = errors.New("agi: line too long")
	errBadLine     = errors.New("agi: malformed line")
	errTooManyEnv  = errors.New("agi: too many environment lines")
	errBadReply    = errors.New("agi: malformed reply")
	errHangup      = errors.New("agi: the channel hung up")
)

// lineReader reads bounded lines.
type lineReader struct{ br *bufio.Reader }

func newLineReader(r io.Reader) *lineReader { return &lineReader{br: bufio.NewReaderSize(r, maxLine)} }

// line returns the next line without its "\r\n" or "\n". A line longer than
// maxLine, or with control characters, is an error.
func (l *lineReader) line() (string, error) {
	b, err := l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(b) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return "", errBadLine
		}
	}
	return string(b), nil
}

// Env is the agi_* block Asterisk sends first: agi_network, agi_request,
// agi_channel, agi_uniqueid, agi_callerid, agi_arg_1, ... (names without
// the "agi_" prefix).
type Env map[string]string

// readEnv reads "agi_name: value" lines up to the blank line.
func readEnv(l *lineReader) (Env, error) {
	env := Env{}
	for range maxEnvLines {
		s, err := l.line()
		if err != nil {
			return nil, err
		}
		if s == "" {
			return env, nil
		}
		k, v, ok := strings.Cut(s, ":")
		name, isAGI := strings.CutPrefix(k, "agi_")
		if !ok || !isAGI || name == "" || strings.ContainsAny(name, " \t") {
			return nil, errBadLine
		}
		env[name] = strings.TrimPrefix(v, " ")
	}
	return nil, errTooManyEnv
}

// Reply is Asterisk's answer to one command, e.g. "200 result=1 (12345678)":
// Code 200, Result "1", Data "12345678". Replies other than 200 (510
// invalid command, 511 dead channel, 520 usage) keep their text in Data.
type Reply struct {
	Code   int
	Result string
	Data   string
}

// ParseReply parses one reply line.
func ParseReply(s string) (Reply, error) {
	if len(s) < 3 {
		return Reply{}, errBadReply
	}
	for i := range 3 {
		if s[i] < '0' || s[i] > '9' {
			return Reply{}, errBadReply
		}
	}
	code, _ := strconv.Atoi(s[:3])
	if code < 100 || code > 599 {
		return Reply{}, errBadReply
	}
	rest := s[3:]
	if rest != "" && rest[0] != ' ' {
		return Reply{}, errBadReply
	}
	rest = strings.TrimPrefix(rest, " ")
	if code != 200 {
		return Reply{Code: code, Data: rest}, nil
	}
	res, ok := strings.CutPrefix(rest, "result=")
	if !ok {
		return Reply{}, errBadReply
	}
	r := Reply{Code: code}
	r.Result, rest, _ = strings.Cut(res, " ")
	// Data is in parentheses and may hold spaces and parentheses itself;
	// an "endpos=N" may follow it.
	if open := strings.IndexByte(rest, '('); open >= 0 {
		if end := strings.LastIndexByte(rest, ')'); end > open {
			r.Data = rest[open+1 : end]
		} else {
			return Reply{}, errBadReply
		}
	}
	return r, nil
}
