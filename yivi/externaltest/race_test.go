//go:build race

package externaltest

const raceDetector = true
