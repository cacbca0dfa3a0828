//go:build !race

package externaltest

const raceDetector = false
