//go:build !race

package yivi_test

const raceDetector = false
