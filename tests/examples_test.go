package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/internal/brokertest"
)

// The examples that need no broker run on the embedded one and say what they did.
func TestExamplesRunOnTheEmbeddedBroker(t *testing.T) {
	root := repoRoot(t)
	for name, want := range map[string][]string{
		"quickstart": {"received hello 3"},
		"servicebus": {"sent     a batch of 5 orders", "peeked   5 orders", "renewed  the lock of order 1", "received order 5 (accepted)"},
		"eventhubs":  {"event hub telemetry has partitions 0, 1", "sent     6 readings from 3 devices", "read     6 events in all"},
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

// The examples that need RabbitMQ run against it, on each protocol they offer,
// and say what they did. Like every RabbitMQ test, they skip when no RabbitMQ
// answers, and fail instead under AMQPLINK_REQUIRE_BROKERS=1.
func TestExamplesRunOnRabbitMQ(t *testing.T) {
	url := brokertest.RabbitMQ(t)
	admin := brokertest.NewAdmin(t, url)
	root := repoRoot(t)
	// A durable work queue of this test's own, so that no other run shares it.
	workQueue := fmt.Sprintf("amqplink-test-workqueue-%d", time.Now().UnixNano())
	t.Cleanup(func() { admin.Delete(workQueue) })
	for _, ex := range []struct {
		name, protocol string
		args           []string
		want           []string
	}{
		{"rabbitmq-workqueue", "amqp091", []string{"-queue=" + workQueue},
			[]string{"producer: 200 tasks sent", "workqueue: 200/200 tasks acknowledged by 8 workers", "over AMQP 0-9-1"}},
		{"rabbitmq-workqueue", "amqp10", []string{"-queue=" + workQueue},
			[]string{"producer: 200 tasks sent", "workqueue: 200/200 tasks acknowledged by 8 workers", "over AMQP 1.0"}},
		{"rpc", "amqp091", nil,
			[]string{"call 10: fib(10) = 55", "rpc: 10/10 replies matched by correlation id over AMQP 0-9-1"}},
		{"rpc", "amqp10", nil,
			[]string{"call 10: fib(10) = 55", "rpc: 10/10 replies matched by correlation id over AMQP 1.0"}},
	} {
		t.Run(ex.name+"/"+ex.protocol, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(testContext(t), 2*time.Minute)
			defer cancel()
			args := append([]string{"run", "./examples/" + ex.name, "-protocol=" + ex.protocol}, ex.args...)
			cmd := exec.CommandContext(ctx, "go", args...)
			cmd.Dir = root
			cmd.Env = append(withoutEnv(os.Environ(), "AMQPLINK_URL"), "AMQPLINK_URL="+url)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			for _, w := range ex.want {
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
