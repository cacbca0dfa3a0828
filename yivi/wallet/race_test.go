//go:build race

package wallet_test

const raceDetector = true
