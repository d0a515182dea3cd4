// Package brokertest finds the real brokers that integration tests run against,
// and inspects them through a side channel (AMQP 0-9-1), so a test can check what
// reached the broker rather than what the client believes.
//
// A test that needs a broker calls RabbitMQ(t). When none answers it is skipped
// with a clear message, unless AMQPLINK_REQUIRE_BROKERS=1 (set by `make test-all`
// and CI), where a missing broker fails the test instead.
package brokertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// Environment variables that point tests at brokers.
const (
	// EnvRequire makes a missing broker a failure instead of a skip.
	EnvRequire = "AMQPLINK_REQUIRE_BROKERS"
	// EnvRabbitMQ is the RabbitMQ URL. Default: amqp://guest:guest@127.0.0.1:5672.
	EnvRabbitMQ = "AMQPLINK_RABBITMQ_URL"
	// EnvTLSCA is the CA file for the TLS listener on 127.0.0.1:5671.
	// Default: the one scripts/brokers.sh makes.
	EnvTLSCA = "AMQPLINK_TLS_CA"
	// EnvBrokerDir is where scripts/brokers.sh keeps its state.
	EnvBrokerDir = "AMQPLINK_BROKER_DIR"
)

// RabbitMQ returns the URL of a running RabbitMQ (AMQP 0-9-1 and 1.0 share it),
// or skips (fails under AMQPLINK_REQUIRE_BROKERS=1) when none answers.
func RabbitMQ(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvRabbitMQ)
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672"
	}
	c, err := amqp091.Dial(url)
	if err != nil {
		missing(t, fmt.Sprintf("RabbitMQ at %s does not answer (%v); start it with `scripts/brokers.sh start`", redact(url), err))
	}
	_ = c.Close()
	return url
}

// TLSAddr returns the TLS listener's address and the CA that signed its
// certificate, or skips (fails under AMQPLINK_REQUIRE_BROKERS=1).
func TLSAddr(t testing.TB) (addr, caFile string) {
	t.Helper()
	RabbitMQ(t)
	caFile = os.Getenv(EnvTLSCA)
	if caFile == "" {
		caFile = filepath.Join(BrokerDir(), "tls", "ca.pem")
	}
	if _, err := os.Stat(caFile); err != nil {
		missing(t, fmt.Sprintf("no CA file for the TLS listener (%v); start brokers with `scripts/brokers.sh start`", err))
	}
	addr = "127.0.0.1:5671"
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		missing(t, fmt.Sprintf("no TLS listener on %s: %v", addr, err))
	}
	_ = c.Close()
	return addr, caFile
}

// BrokerDir is where scripts/brokers.sh keeps its state.
func BrokerDir() string {
	if d := os.Getenv(EnvBrokerDir); d != "" {
		return d
	}
	return "/tmp/amqplink-brokers"
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s (%s=1: brokers are required)", why, EnvRequire)
	}
	t.Skipf("skipping: %s", why)
}

func redact(url string) string {
	u, err := amqp091.ParseURI(url)
	if err != nil {
		return "(unparsable URL)"
	}
	u.Password = "xxxxx"
	return u.String()
}

// Admin is a side channel to RabbitMQ over AMQP 0-9-1 for arranging and
// inspecting queues.
type Admin struct {
	t    testing.TB
	url  string
	mu   sync.Mutex // guards conn, which a broker restart replaces
	conn *amqp091.Connection
}

// NewAdmin connects the side channel; it is closed at the test's cleanup.
func NewAdmin(t testing.TB, url string) *Admin {
	t.Helper()
	c, err := amqp091.Dial(url)
	if err != nil {
		t.Fatalf("brokertest: admin connection: %v", err)
	}
	a := &Admin{t: t, conn: c, url: url}
	t.Cleanup(func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		_ = a.conn.Close()
	})
	return a
}

// do runs fn on a fresh channel: a failed 0-9-1 operation closes its channel.
// A connection lost to a broker restart is dialed again.
func (a *Admin) do(fn func(ch *amqp091.Channel) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn.IsClosed() {
		c, err := amqp091.Dial(a.url)
		if err != nil {
			return err
		}
		a.conn = c
	}
	ch, err := a.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return fn(ch)
}

// Queue is a queue made for one test.
type Queue struct {
	Name string
	// DeadLetter is the name of its dead-letter queue, when it has one.
	DeadLetter string
}

// QueueOptions shapes the queue a test asks for.
type QueueOptions struct {
	// DeadLetter gives the queue a dead-letter exchange bound to a second queue.
	DeadLetter bool
	// Args are more queue arguments (x-max-length, x-overflow, …).
	Args map[string]any
	// Durable makes the queue survive a broker restart (with durable messages).
	Durable bool
}

// NewQueue declares a uniquely named queue (and its dead-letter queue), not
// durable unless asked, and deletes them at cleanup.
func (a *Admin) NewQueue(o QueueOptions) Queue {
	a.t.Helper()
	name := fmt.Sprintf("amqplink-test-%s-%d", sanitize(a.t.Name()), time.Now().UnixNano())
	q := Queue{Name: name}
	args := amqp091.Table{}
	for k, v := range o.Args {
		args[k] = v
	}
	err := a.do(func(ch *amqp091.Channel) error {
		if o.DeadLetter {
			q.DeadLetter = name + ".dlq"
			if _, err := ch.QueueDeclare(q.DeadLetter, false, false, false, false, nil); err != nil {
				return err
			}
			args["x-dead-letter-exchange"] = ""
			args["x-dead-letter-routing-key"] = q.DeadLetter
		}
		_, err := ch.QueueDeclare(name, o.Durable, false, false, false, args)
		return err
	})
	if err != nil {
		a.t.Fatalf("brokertest: declaring queue %s: %v", name, err)
	}
	a.t.Cleanup(func() { a.Delete(q.Name); a.Delete(q.DeadLetter) })
	return q
}

// Delete deletes a queue if it exists.
func (a *Admin) Delete(name string) {
	if name == "" {
		return
	}
	_ = a.do(func(ch *amqp091.Channel) error { _, err := ch.QueueDelete(name, false, false, false); return err })
}

// Exists reports whether the queue exists.
func (a *Admin) Exists(name string) bool {
	err := a.do(func(ch *amqp091.Channel) error {
		_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
		return err
	})
	return err == nil
}

// Ready returns the number of messages ready for delivery in the queue (not
// counting deliveries a consumer holds unsettled).
func (a *Admin) Ready(name string) int {
	a.t.Helper()
	var n int
	err := a.do(func(ch *amqp091.Channel) error {
		q, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
		n = q.Messages
		return err
	})
	if err != nil {
		a.t.Fatalf("brokertest: inspecting queue %s: %v", name, err)
	}
	return n
}

// WaitReady polls until the queue holds want ready messages or ctx ends, and
// returns the last count seen. Brokers count asynchronously after a settlement.
func (a *Admin) WaitReady(ctx context.Context, name string, want int) int {
	a.t.Helper()
	for {
		n := a.Ready(name)
		if n == want {
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Publish puts n messages on the queue through the default exchange, waiting
// for the broker's confirms. Their bodies are the numbers first, first+1, ….
func (a *Admin) Publish(name string, first, n int) {
	a.t.Helper()
	err := a.do(func(ch *amqp091.Channel) error {
		if err := ch.Confirm(false); err != nil {
			return err
		}
		var last *amqp091.DeferredConfirmation
		for i := range n {
			dc, err := ch.PublishWithDeferredConfirm("", name, true, false,
				amqp091.Publishing{Body: []byte(strconv.Itoa(first + i))})
			if err != nil {
				return err
			}
			last = dc
		}
		if last != nil && !last.Wait() {
			return fmt.Errorf("broker nacked the publish")
		}
		return nil
	})
	if err != nil {
		a.t.Fatalf("brokertest: publishing to %s: %v", name, err)
	}
}

// Unacked returns the queue's messages_unacknowledged as rabbitmqctl reports it:
// deliveries consumers hold unsettled. It needs the broker started by
// scripts/brokers.sh (and root, as that script does).
func (a *Admin) Unacked(name string) int {
	a.t.Helper()
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "brokers.sh"), "ctl",
		"list_queues", "-q", "--no-table-headers", "name", "messages_unacknowledged").Output()
	if err != nil {
		a.t.Fatalf("brokertest: rabbitmqctl list_queues: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				a.t.Fatalf("brokertest: rabbitmqctl said %q", line)
			}
			return n
		}
	}
	a.t.Fatalf("brokertest: rabbitmqctl does not list queue %s", name)
	return 0
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 60 {
		b = b[:60]
	}
	return string(b)
}
