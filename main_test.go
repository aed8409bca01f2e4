package socketio_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine survives the tests: servers,
// sessions, per-socket event goroutines and test clients must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
