// Package veilig holds the domain of Veilig Contact: sessions in which a
// person proves attributes before contacting an organisation, the purposes
// that say what must be proven, the contacts agents take, and the audit trail
// of who saw what. It imports no adapter; the packages below it (sqlite,
// postgres, yivi, httpapi, ...) implement its interfaces and cmd/veilig wires
// them together.
package veilig

import "time"

// Means is how the person proved their attributes: the name a means of
// proof is registered under (DisclosureService.Means). What a means does is
// behind that port; the name is all the domain knows of it.
type Means string

// MeansYivi is the name package yivi registers its means under.
const MeansYivi Means = "yivi"

// Assurance is a level of assurance in the sense of eIDAS. Levels are ordered:
// a purpose states the least level it accepts.
type Assurance string

const (
	AssuranceLow         Assurance = "low"
	AssuranceSubstantial Assurance = "substantial"
	AssuranceHigh        Assurance = "high"
)

func (a Assurance) rank() int {
	switch a {
	case AssuranceLow:
		return 1
	case AssuranceSubstantial:
		return 2
	case AssuranceHigh:
		return 3
	}
	return 0
}

// Valid reports whether a is a known level.
func (a Assurance) Valid() bool { return a.rank() > 0 }

// AtLeast reports whether a is the same as or higher than min.
func (a Assurance) AtLeast(min Assurance) bool { return a.rank() >= min.rank() && a.Valid() }

// Clock returns the current time; tests replace it to move time forward.
type Clock func() time.Time
