package tests

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The examples that need no broker run on the embedded one and say what they did.
func TestExamplesRunOnTheEmbeddedBroker(t *testing.T) {
	root := repoRoot(t)
	for name, want := range map[string][]string{
		"quickstart": {"received hello 3"},
		"servicebus": {"sent     a batch of 5 orders", "received order 5 (accepted)"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(testContext(t), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "run", "./examples/"+name)
			cmd.Dir = root
			cmd.Env = withoutEnv(os.Environ(), "AMQPLINK_URL", "AMQPLINK_CONNECTION_STRING")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			for _, w := range want {
				assert.Contains(t, string(out), w)
			}
		})
	}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		drop := false
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
