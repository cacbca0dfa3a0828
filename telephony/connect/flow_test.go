package connect

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The contact flow in deploy/amazon-connect, in Amazon Connect's flow
// language (Version 2019-10-30).
type flow struct {
	Version     string
	StartAction string
	Metadata    struct {
		EntryPointPosition struct{ X, Y int } `json:"entryPointPosition"`
		ActionMetadata     map[string]struct {
			Position struct{ X, Y int } `json:"position"`
		}
	}
	Actions []action
}

type action struct {
	Identifier  string
	Type        string
	Parameters  map[string]any
	Transitions struct {
		NextAction string
		Errors     []struct{ NextAction, ErrorType string }
		Conditions []struct {
			NextAction string
			Condition  struct {
				Operator string
				Operands []string
			}
		}
	}
}

func (a action) next() []string {
	var out []string
	if a.Transitions.NextAction != "" {
		out = append(out, a.Transitions.NextAction)
	}
	for _, e := range a.Transitions.Errors {
		out = append(out, e.NextAction)
	}
	for _, c := range a.Transitions.Conditions {
		out = append(out, c.NextAction)
	}
	return out
}

func (a action) errorTypes() []string {
	var out []string
	for _, e := range a.Transitions.Errors {
		out = append(out, e.ErrorType)
	}
	return out
}

func (a action) param(path ...string) string {
	var cur any = a.Parameters
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

func loadFlow(t *testing.T) (flow, map[string]action) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "amazon-connect", "contact-flow.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var f flow
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("contact-flow.json: %v", err)
	}
	byID := map[string]action{}
	for _, a := range f.Actions {
		if _, dup := byID[a.Identifier]; dup {
			t.Errorf("identifier %q is used twice", a.Identifier)
		}
		byID[a.Identifier] = a
	}
	return f, byID
}

// Connect's rules for identifiers.
var identifier = regexp.MustCompile(`^[^%:(\\/)=$,;\[\]{}]{1,50}$`)

// TestContactFlowShape: the flow is importable flow language: every
// transition names an action, the start exists, every action is reached,
// each action's required branches are there, and it has no cycle (so the
// caller gets exactly one retry).
func TestContactFlowShape(t *testing.T) {
	f, byID := loadFlow(t)
	if f.Version != "2019-10-30" {
		t.Errorf("Version %q", f.Version)
	}
	if _, ok := byID[f.StartAction]; !ok {
		t.Fatalf("StartAction %q is not an action", f.StartAction)
	}
	for _, a := range f.Actions {
		if !identifier.MatchString(a.Identifier) {
			t.Errorf("identifier %q breaks Connect's rules", a.Identifier)
		}
		for _, n := range a.next() {
			if _, ok := byID[n]; !ok {
				t.Errorf("%s: transition to %q, which is not an action", a.Identifier, n)
			}
		}
		errs := a.errorTypes()
		switch a.Type {
		case "DisconnectParticipant":
			if len(a.next()) != 0 {
				t.Errorf("%s: a disconnect has no transitions", a.Identifier)
			}
		case "GetParticipantInput":
			if !slices.Contains(errs, "NoMatchingError") || a.param("StoreInput") != "True" || a.param("InputValidation", "CustomValidation", "MaximumLength") == "" {
				t.Errorf("%s: needs StoreInput True, a MaximumLength and a NoMatchingError branch", a.Identifier)
			}
			if s, err := strconv.Atoi(a.param("InputTimeLimitSeconds")); err != nil || s < 1 || s > 180 {
				t.Errorf("%s: InputTimeLimitSeconds %q", a.Identifier, a.param("InputTimeLimitSeconds"))
			}
		case "Compare":
			if !slices.Contains(errs, "NoMatchingCondition") || len(a.Transitions.Conditions) == 0 {
				t.Errorf("%s: needs conditions and a NoMatchingCondition branch", a.Identifier)
			}
		case "CheckHoursOfOperation":
			var ops []string
			for _, c := range a.Transitions.Conditions {
				ops = append(ops, c.Condition.Operands...)
			}
			if !slices.Contains(ops, "True") || !slices.Contains(ops, "False") || !slices.Contains(errs, "NoMatchingError") {
				t.Errorf("%s: needs True, False and NoMatchingError branches", a.Identifier)
			}
		case "InvokeLambdaFunction":
			s, err := strconv.Atoi(a.param("InvocationTimeLimitSeconds"))
			// Above the Lambda's own 3 s bound on veilig, within Connect's 8 s.
			if err != nil || s < 4 || s > 8 || a.param("ResponseValidation", "ResponseType") != "STRING_MAP" || !slices.Contains(errs, "NoMatchingError") {
				t.Errorf("%s: needs a 4-8 s limit, STRING_MAP and an error branch", a.Identifier)
			}
		case "TransferContactToQueue":
			if !slices.Contains(errs, "QueueAtCapacity") || !slices.Contains(errs, "NoMatchingError") {
				t.Errorf("%s: needs QueueAtCapacity and NoMatchingError branches", a.Identifier)
			}
		case "MessageParticipant", "UpdateContactAttributes", "UpdateContactTargetQueue", "UpdateContactTextToSpeechVoice", "UpdateFlowLoggingBehavior":
			if a.Transitions.NextAction == "" {
				t.Errorf("%s: no next action", a.Identifier)
			}
		default:
			t.Errorf("%s: action type %s is not one this flow is meant to use", a.Identifier, a.Type)
		}
	}
	for id := range f.Metadata.ActionMetadata {
		if _, ok := byID[id]; !ok {
			t.Errorf("metadata for %q, which is not an action", id)
		}
	}

	// Every action is reached from the start, and there is no cycle.
	reached := map[string]bool{}
	var visit func(id string, path []string)
	visit = func(id string, path []string) {
		if slices.Contains(path, id) {
			t.Fatalf("cycle: %v -> %s", path, id)
		}
		reached[id] = true
		for _, n := range byID[id].next() {
			visit(n, append(slices.Clone(path), id))
		}
	}
	visit(f.StartAction, nil)
	for _, a := range f.Actions {
		if !reached[a.Identifier] {
			t.Errorf("%s is never reached (dangling)", a.Identifier)
		}
	}
}

// paths lists every path from the start to an end; a path that comes back
// to an action is cut there (TestContactFlowShape reports the cycle), and
// at most 10000 paths are listed.
func paths(byID map[string]action, start string) [][]action {
	var out [][]action
	var walk func(id string, path []action)
	walk = func(id string, path []action) {
		a := byID[id]
		if len(out) >= 10000 || slices.ContainsFunc(path, func(b action) bool { return b.Identifier == id }) {
			return
		}
		path = append(slices.Clone(path), a)
		next := a.next()
		if len(next) == 0 {
			out = append(out, path)
			return
		}
		for _, n := range slices.Compact(slices.Sorted(slices.Values(next))) {
			walk(n, path)
		}
	}
	walk(start, nil)
	return out
}

// TestContactFlowKeepsTheCode: the digits go to the Lambda and nowhere
// else, every way through the flow ends in a queue or a goodbye, verified
// callers carry the contact reference for the agent view, and the flow
// reads exactly what the Lambda answers.
func TestContactFlowKeepsTheCode(t *testing.T) {
	f, byID := loadFlow(t)
	raw, _ := json.Marshal(f.Actions)
	if n := strings.Count(string(raw), "StoredCustomerInput"); n != 2 {
		t.Errorf("$.StoredCustomerInput is referenced %d times; want only the two verify invocations", n)
	}
	verifies := 0
	for _, a := range f.Actions {
		switch a.Type {
		case "InvokeLambdaFunction":
			attrs, _ := a.Parameters["LambdaInvocationAttributes"].(map[string]any)
			switch attrs[ParamAction] {
			case "verify":
				verifies++
				if attrs[ParamCode] != "$.StoredCustomerInput" || len(attrs) != 2 {
					t.Errorf("%s: passes %v; want the action and the code only", a.Identifier, attrs)
				}
			case "callState":
				if attrs[ParamState] != "unavailable" {
					t.Errorf("%s: state %v", a.Identifier, attrs[ParamState])
				}
			default:
				t.Errorf("%s: action %v", a.Identifier, attrs[ParamAction])
			}
		case "GetParticipantInput":
			// What was stored goes straight to the Lambda.
			if next := byID[a.Transitions.NextAction]; next.Type != "InvokeLambdaFunction" {
				t.Errorf("%s: stored input goes to %s, not the Lambda", a.Identifier, next.Identifier)
			}
		case "Compare":
			v := a.param("ComparisonValue")
			if v != "$.External."+KeyMatched && v != "$.External."+KeyRetry {
				t.Errorf("%s: compares %s, which the Lambda does not answer", a.Identifier, v)
			}
			if a.Transitions.Conditions[0].Condition.Operands[0] != "true" {
				t.Errorf("%s: the Lambda answers \"true\"", a.Identifier)
			}
		case "UpdateContactAttributes":
			attrs, _ := a.Parameters["Attributes"].(map[string]any)
			if ref, ok := attrs["veiligContactRef"]; ok && ref != "$.External."+KeyContactRef {
				t.Errorf("%s: veiligContactRef = %v", a.Identifier, ref)
			}
		}
	}
	if verifies != 2 {
		t.Errorf("%d verify invocations; want one and one retry", verifies)
	}

	for _, p := range paths(byID, f.StartAction) {
		var ids []string
		lambdaSeen, verified, unverified, retries := false, false, false, 0
		for _, a := range p {
			ids = append(ids, a.Identifier)
			switch a.Type {
			case "GetParticipantInput":
				retries++
			case "InvokeLambdaFunction":
				lambdaSeen = true
			case "UpdateContactAttributes":
				attrs, _ := a.Parameters["Attributes"].(map[string]any)
				verified = verified || attrs["veiligVerified"] == "true"
				unverified = unverified || attrs["veiligVerified"] == "false"
			case "TransferContactToQueue":
				if verified == unverified {
					t.Errorf("path %v queues a caller without saying whether verified", ids)
				}
			}
		}
		if retries > 2 {
			t.Errorf("path %v asks for the code %d times", ids, retries)
		}
		if last := p[len(p)-1]; last.Type != "DisconnectParticipant" && last.Type != "TransferContactToQueue" {
			t.Errorf("path %v ends in %s", ids, last.Type)
		}
		if verified {
			// The verified branch starts where the Lambda said matched.
			i := slices.Index(ids, "set-verified")
			if i < 1 || p[i-1].Type != "Compare" || p[i-1].param("ComparisonValue") != "$.External."+KeyMatched || !lambdaSeen {
				t.Errorf("path %v sets verified without a match", ids)
			}
		}
	}
}
