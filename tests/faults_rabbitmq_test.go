package tests

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
)

// viaRelay returns a relay in front of the RabbitMQ at rawURL and the URL that
// reaches the broker through it.
func viaRelay(t *testing.T, rawURL string) (*amqptest.Relay, string) {
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	relay := amqptest.NewRelay(t, u.Host)
	u.Host = relay.Addr()
	return relay, u.String()
}

// patient is the policy for faults that last seconds (a broker restart): keep
// trying for about a minute.
var patient = &errorpolicy.Policy{MaxRetries: 60, MaxDelay: time.Second}

func TestFaultConnResetOnRabbitMQ(t *testing.T) {
	_, admin, brokerURL := rabbit(t)
	relay, u := viaRelay(t, brokerURL)
	c := dial(t, u)
	q := admin.NewQueue(brokertest.QueueOptions{})
	rep := faultRun{
		Name:    "conn-reset",
		Total:   20000,
		Address: queueAddress(q.Name),
		Send:    newSession(t, c),
		Recv:    newSession(t, c),
		Every:   time.Second,
		Rate:    4000, // about 5 s, so about 5 resets
		Inject:  func() { relay.ResetConnections() },
	}.run(t)
	assert.Zero(t, rep.Lost, "confirmed messages lost")
	assert.Zero(t, rep.Unconfirmed)
	assert.Equal(t, 20000, rep.Received)
	assert.GreaterOrEqual(t, len(rep.Recovery), 3, "the run lasted through several resets")
	assert.Less(t, percentileMS(rep.Recovery, 0.99), 2000.0, "recovery p99 under 2 s")
}

func TestFaultLatencyAndResetOnRabbitMQ(t *testing.T) {
	_, admin, brokerURL := rabbit(t)
	relay, u := viaRelay(t, brokerURL)
	c := dial(t, u)
	q := admin.NewQueue(brokertest.QueueOptions{})
	n := 0
	rep := faultRun{
		Name:       "latency-reset",
		Total:      5000,
		Injections: 3,
		Address:    queueAddress(q.Name),
		Send:       newSession(t, c),
		Recv:       newSession(t, c),
		Inject: func() {
			// 5 ms each way from now on, and a reset under it.
			n++
			relay.SetLatency(5 * time.Millisecond)
			relay.ResetConnections()
		},
	}.run(t)
	assert.Zero(t, rep.Lost, "confirmed messages lost")
	assert.Zero(t, rep.Unconfirmed)
	assert.Equal(t, 5000, rep.Received)
	assert.Len(t, rep.Recovery, n)
}

// A connection that goes silent without a FIN or RST is noticed by the idle
// timeout, then replaced.
func TestFaultHalfOpenOnRabbitMQ(t *testing.T) {
	const idle = 2 * time.Second
	_, admin, brokerURL := rabbit(t)
	relay, u := viaRelay(t, brokerURL)
	c := dialWith(t, u, &amqplink.Options{AMQP10: &amqp10.Options{IdleTimeout: idle}})
	q := admin.NewQueue(brokertest.QueueOptions{})
	rep := faultRun{
		Name:       "half-open",
		Total:      3000,
		Injections: 1,
		Address:    queueAddress(q.Name),
		Send:       newSession(t, c),
		Recv:       newSession(t, c),
		Inject:     func() { relay.Silence() },
	}.run(t)
	assert.Zero(t, rep.Lost, "confirmed messages lost")
	assert.Zero(t, rep.Unconfirmed)
	assert.Equal(t, 3000, rep.Received)
	require.Len(t, rep.Recovery, 1)
	assert.Less(t, rep.Recovery[0], 2*idle+time.Second, "the idle timeout noticed the silence")
}

// RabbitMQ is restarted mid-run; durable messages on a durable queue survive,
// and the client reconnects once the broker is back.
func TestFaultBrokerRestartOnRabbitMQ(t *testing.T) {
	if os.Getenv(brokertest.EnvRequire) != "1" && os.Getenv("AMQPLINK_FAULT_RESTART") != "1" {
		t.Skip("restarts the shared broker: runs under make test-all, or with AMQPLINK_FAULT_RESTART=1")
	}
	script := filepath.Join(repoRoot(t), "scripts", "brokers.sh")
	_, admin, brokerURL := rabbit(t)
	c := dial(t, brokerURL)
	q := admin.NewQueue(brokertest.QueueOptions{Durable: true})
	rep := faultRun{
		Name:       "broker-restart",
		Total:      5000,
		Injections: 1,
		Address:    queueAddress(q.Name),
		Send:       newSession(t, c),
		Recv:       newSession(t, c),
		Policy:     patient,
		Durable:    true,
		Rate:       1000, // about 5 s, so the restart falls mid-run
		Deadline:   4 * time.Minute,
		Inject: func() {
			out, err := exec.Command("bash", script, "restart").CombinedOutput()
			require.NoError(t, err, "restarting RabbitMQ: %s", out)
		},
	}.run(t)
	assert.Zero(t, rep.Lost, "confirmed messages lost")
	assert.Zero(t, rep.Unconfirmed)
	assert.Equal(t, 5000, rep.Received)
	assert.Len(t, rep.Recovery, 1, "the receiver recovered after the restart")
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return filepath.Dir(wd) // this package is tests/, one below the root
}
