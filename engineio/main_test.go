package engineio_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them:
// every session, transport and test client must be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
