package trials

import (
	"testing"

	"github.com/strongroom-archive/strongroom/cmd/strongroom/internal/clitest"
)

// The exit codes the README documents for `strongroom`.
const (
	exitFailed      = 1
	exitInterrupted = 4
)

func TestMain(m *testing.M) {
	clitest.Main(m, "github.com/strongroom-archive/strongroom/cmd/strongroom")
}
