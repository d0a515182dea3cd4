package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

// unrecorded runs topology operations without recording them.
var unrecorded *amqp091.Topology

// dial091 connects an AMQP 0-9-1 client with o and returns it with its driver
// connection.
func dial091(t *testing.T, url string, o *amqp091.Options) (*amqplink.Client, *amqp091.Conn) {
	t.Helper()
	c := dialWith(t, url, &amqplink.Options{Protocol: amqplink.AMQP091, AMQP091: o})
	conn, err := c.AMQP091(testContext(t))
	require.NoError(t, err)
	return c, conn
}

// dropAtCleanup deletes exchanges and queues at the end of the test, on a
// connection of its own: the test's may be gone.
func dropAtCleanup(t *testing.T, url string, exchanges, queues []string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := amqp091.Dial(ctx, url, nil)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer c.Close(ctx)
		for _, q := range queues {
			_, _ = unrecorded.DeleteQueue(ctx, c, amqp091.DeleteQueueOptions{Name: q})
		}
		for _, x := range exchanges {
			_ = unrecorded.DeleteExchange(ctx, c, amqp091.DeleteExchangeOptions{Name: x})
		}
	})
}

// publishOutcome sends body to address with a confirm and returns the outcome:
// Accepted when routed, Released (NO_ROUTE) when nothing is bound for it.
func publishOutcome(t *testing.T, sess *session.Session, address, body string) message.Outcome {
	t.Helper()
	ctx := testContext(t)
	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: address})
	require.NoError(t, err)
	defer snd.Close(ctx)
	r, err := snd.Send(ctx, message.NewText(body), false)
	require.NoError(t, err)
	o, err := r.Wait(ctx)
	require.NoError(t, err)
	return o
}

// getText takes one message from queue with basic.get and accepts it.
func getText(t *testing.T, conn *amqp091.Conn, queue string) string {
	t.Helper()
	ctx := testContext(t)
	d, err := amqp091.Get(ctx, conn, queue, false)
	require.NoError(t, err)
	require.NoError(t, d.Accept(ctx))
	text, err := d.Message.Text()
	require.NoError(t, err)
	return text
}

func requireReplyCode(t *testing.T, err error, sentinel error, code uint16) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var e *errorpolicy.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, code, e.ReplyCode)
	assert.Equal(t, errorpolicy.ScopeSession, e.Scope, "a channel exception, not the connection's end")
}

func TestAMQP091Topology(t *testing.T) {
	url := brokertest.RabbitMQ(t)
	admin := brokertest.NewAdmin(t, url)
	client, conn := dial091(t, url, nil)
	sess := newSession(t, client)
	topo := &amqp091.Topology{}

	// stillUsable shows that the connection and a session opened before the
	// failure carry on: a channel exception cost only the operation's channel.
	stillUsable := func(t *testing.T) {
		t.Helper()
		q := admin.NewQueue(brokertest.QueueOptions{})
		info, err := topo.DeclareQueue(testContext(t), conn, amqp091.QueueOptions{Name: q.Name, Passive: true})
		require.NoError(t, err)
		assert.Equal(t, q.Name, info.Name)
		sendAll(t, sess, queueAddress(q.Name), message.NewText("still usable"))
		assert.Equal(t, "still usable", getText(t, conn, q.Name))
	}

	t.Run("exchanges", func(t *testing.T) {
		ctx := testContext(t)
		base := link.UniqueName("amqplink-topo-x")
		var names []string
		for _, kind := range []string{"", "direct", "fanout", "topic", "headers"} {
			name := base + "-" + kind
			names = append(names, name)
			require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: name, Kind: kind}), kind)
		}
		dropAtCleanup(t, url, names, nil)
		require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: base + "-", Kind: "direct"}),
			"the default kind is direct")

		require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: base + "-topic", Passive: true}))
		err := topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: base + "-missing", Passive: true})
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
		stillUsable(t)

		err = topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: base + "-topic", Kind: "fanout"})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		err = topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: base + "-topic", Kind: "topic", Durable: true})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		stillUsable(t)
	})

	t.Run("exchange-bindings-internal-and-delete", func(t *testing.T) {
		ctx := testContext(t)
		src, dst := link.UniqueName("amqplink-topo-src"), link.UniqueName("amqplink-topo-internal")
		dropAtCleanup(t, url, []string{src, dst}, nil)
		require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: src, Kind: "topic"}))
		require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: dst, Kind: "fanout", Internal: true}))
		q := admin.NewQueue(brokertest.QueueOptions{})
		require.NoError(t, topo.BindQueue(ctx, conn, amqp091.QueueBinding{Queue: q.Name, Exchange: dst}))
		xb := amqp091.ExchangeBinding{Destination: dst, Source: src, Key: "order.*"}
		require.NoError(t, topo.BindExchange(ctx, conn, xb))

		assert.Equal(t, message.Accepted{}, publishOutcome(t, sess, "/exchange/"+src+"/order.created", "via the binding"))
		assert.Equal(t, "via the binding", getText(t, conn, q.Name))
		assert.Equal(t, message.Released{Reason: "NO_ROUTE (312)"}, publishOutcome(t, sess, "/exchange/"+src+"/invoice.created", "x"),
			"the key does not match")

		// Publishers cannot reach an internal exchange.
		err := conn.Tx(ctx, func(tx *amqp091.Tx) error {
			return tx.Publish(ctx, "/exchange/"+dst+"/k", message.NewText("direct"))
		})
		requireReplyCode(t, err, errorpolicy.ErrUnauthorized, 403)

		err = topo.DeleteExchange(ctx, conn, amqp091.DeleteExchangeOptions{Name: src, IfUnused: true})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		stillUsable(t)

		require.NoError(t, topo.UnbindExchange(ctx, conn, xb))
		assert.Equal(t, message.Released{Reason: "NO_ROUTE (312)"}, publishOutcome(t, sess, "/exchange/"+src+"/order.created", "x"),
			"unbound")
		require.NoError(t, topo.DeleteExchange(ctx, conn, amqp091.DeleteExchangeOptions{Name: src, IfUnused: true}))
		err = topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: src, Passive: true})
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
	})

	t.Run("queues", func(t *testing.T) {
		ctx := testContext(t)
		info, err := topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Exclusive: true})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(info.Name, "amq.gen-"), "server-named: %s", info.Name)

		name := link.UniqueName("amqplink-topo-q")
		dropAtCleanup(t, url, nil, []string{name})
		info, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name})
		require.NoError(t, err)
		assert.Equal(t, amqp091.QueueInfo{Name: name}, info)
		admin.Publish(name, 0, 3)
		info, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name})
		require.NoError(t, err)
		assert.Equal(t, amqp091.QueueInfo{Name: name, Messages: 3}, info, "declaring again returns the counts")

		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Durable: true})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, MaxLength: 7})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name + "-missing", Passive: true})
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
		stillUsable(t)

		_, err = topo.DeleteQueue(ctx, conn, amqp091.DeleteQueueOptions{Name: name, IfEmpty: true})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)

		rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(name)})
		require.NoError(t, err)
		closeAtCleanup(t, rcv.Close)
		require.NoError(t, rcv.IssueCredit(1))
		d, err := rcv.Receive(ctx)
		require.NoError(t, err) // held unsettled: the consumer's prefetch of 1 is used up
		require.Eventually(t, func() bool {
			info, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Passive: true})
			return err == nil && info.Consumers == 1 && info.Messages == 2
		}, 5*time.Second, 20*time.Millisecond, "passive declare counts the consumer: %+v %v", info, err)
		_, err = topo.DeleteQueue(ctx, conn, amqp091.DeleteQueueOptions{Name: name, IfUnused: true})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		require.NoError(t, d.Release(ctx))
		require.NoError(t, rcv.Close(ctx))
		require.Equal(t, 3, admin.WaitReady(ctx, name, 3))

		n, err := topo.DeleteQueue(ctx, conn, amqp091.DeleteQueueOptions{Name: name, IfUnused: true})
		require.NoError(t, err)
		assert.Equal(t, 3, n, "the messages deleted with the queue")
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Passive: true})
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
	})

	t.Run("queue-bindings-and-purge", func(t *testing.T) {
		ctx := testContext(t)
		x, name := link.UniqueName("amqplink-topo-x"), link.UniqueName("amqplink-topo-q")
		dropAtCleanup(t, url, []string{x}, []string{name})
		require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: x, Kind: "headers"}))
		_, err := topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name})
		require.NoError(t, err)
		b := amqp091.QueueBinding{Queue: name, Exchange: x, Args: map[string]any{"x-match": "all", "region": "eu"}}
		require.NoError(t, topo.BindQueue(ctx, conn, b))

		m := message.NewText("eu order")
		m.ApplicationProperties = map[string]any{"region": "eu"}
		require.NoError(t, conn.Tx(ctx, func(tx *amqp091.Tx) error {
			for range 3 {
				if err := tx.Publish(ctx, "/exchange/"+x+"/", m); err != nil {
					return err
				}
			}
			return nil
		}))
		assert.Equal(t, 3, admin.WaitReady(ctx, name, 3), "the headers binding routed them")
		n, err := topo.PurgeQueue(ctx, conn, name)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		assert.Equal(t, 0, admin.Ready(name))

		require.NoError(t, topo.UnbindQueue(ctx, conn, b))
		assert.Equal(t, message.Released{Reason: "NO_ROUTE (312)"}, publishOutcome(t, sess, "/exchange/"+x, "x"))
		_, err = topo.PurgeQueue(ctx, conn, name+"-missing")
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
		err = topo.BindQueue(ctx, conn, amqp091.QueueBinding{Queue: name, Exchange: x + "-missing"})
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
		stillUsable(t)
	})

	t.Run("queue-arguments", func(t *testing.T) {
		ctx := testContext(t)
		capped, expiring, dlq := link.UniqueName("amqplink-topo-capped"), link.UniqueName("amqplink-topo-ttl"), link.UniqueName("amqplink-topo-dlq")
		dropAtCleanup(t, url, nil, []string{capped, expiring, dlq})
		_, err := topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: dlq})
		require.NoError(t, err)
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: capped, MaxLength: 1, DeadLetterRoutingKey: dlq})
		require.NoError(t, err)
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{
			Name: expiring, MessageTTL: 50 * time.Millisecond, DeadLetterExchange: "", DeadLetterRoutingKey: dlq,
			Args: map[string]any{"x-expires": 60_000},
		})
		require.NoError(t, err)

		admin.Publish(capped, 0, 2) // "0" overflows into the dead-letter queue
		assert.Equal(t, "1", getText(t, conn, capped))
		assert.Equal(t, 1, admin.WaitReady(ctx, dlq, 1))
		assert.Equal(t, "0", getText(t, conn, dlq))

		admin.Publish(expiring, 7, 1)
		assert.Equal(t, 1, admin.WaitReady(ctx, dlq, 1), "expired into the dead-letter queue")
		assert.Equal(t, "7", getText(t, conn, dlq))
		assert.Equal(t, 0, admin.Ready(expiring))
	})

	t.Run("quorum-queue", func(t *testing.T) {
		ctx := testContext(t)
		name := link.UniqueName("amqplink-topo-quorum")
		dropAtCleanup(t, url, nil, []string{name})
		_, err := topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Quorum: true})
		require.NoError(t, err)
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Quorum: true})
		require.NoError(t, err, "declaring it again is equivalent")
		_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Durable: true, Args: map[string]any{"x-queue-type": "classic"}})
		requireReplyCode(t, err, errorpolicy.ErrPreconditionFailed, 406)
		admin.Publish(name, 0, 1)
		assert.Equal(t, "0", getText(t, conn, name))
	})

	t.Run("get", func(t *testing.T) {
		ctx := testContext(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		_, err := amqp091.Get(ctx, conn, q.Name, false)
		require.ErrorIs(t, err, amqp091.ErrEmpty)

		admin.Publish(q.Name, 0, 2)
		d, err := amqp091.Get(ctx, conn, q.Name, false)
		require.NoError(t, err)
		text, _ := d.Message.Text()
		assert.Equal(t, "0", text)
		assert.False(t, d.Presettled)
		assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "the other stays ready; this one is held")
		require.NoError(t, d.Release(ctx))
		assert.Equal(t, 2, admin.WaitReady(ctx, q.Name, 2), "released back to the queue")

		d, err = amqp091.Get(ctx, conn, q.Name, false)
		require.NoError(t, err)
		text, _ = d.Message.Text()
		assert.Equal(t, "0", text)
		assert.True(t, d.Redelivered)
		require.NoError(t, d.Accept(ctx))
		require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrAlreadySettled)
		assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1))

		d, err = amqp091.Get(ctx, conn, q.Name, true)
		require.NoError(t, err)
		text, _ = d.Message.Text()
		assert.Equal(t, "1", text)
		assert.True(t, d.Presettled, "auto-ack: the broker forgot it")
		require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrAlreadySettled)
		_, err = amqp091.Get(ctx, conn, q.Name, true)
		require.ErrorIs(t, err, amqp091.ErrEmpty)

		admin.Publish(q.Name, 5, 1)
		d, err = amqp091.Get(ctx, conn, q.Name, false)
		require.NoError(t, err)
		require.NoError(t, d.Reject(ctx, "", ""))
		assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0), "rejected: dropped, no dead-letter exchange")

		_, err = amqp091.Get(ctx, conn, "no-such-queue-"+link.UniqueName("q"), false)
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
		stillUsable(t)
	})

	t.Run("tx", func(t *testing.T) {
		ctx := testContext(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		err := conn.Tx(ctx, func(tx *amqp091.Tx) error {
			for i := range 3 {
				if err := tx.Publish(ctx, queueAddress(q.Name), message.NewText(strconv.Itoa(i))); err != nil {
					return err
				}
			}
			assert.Equal(t, 0, admin.Ready(q.Name), "nothing reaches the queue before the commit")
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, 3, admin.WaitReady(ctx, q.Name, 3), "committed")

		changed := errors.New("changed my mind")
		err = conn.Tx(ctx, func(tx *amqp091.Tx) error {
			for i := range 2 {
				if err := tx.Publish(ctx, q.Name, message.NewText("rolled back "+strconv.Itoa(i))); err != nil {
					return err
				}
			}
			return changed
		})
		require.ErrorIs(t, err, changed)
		time.Sleep(100 * time.Millisecond)
		assert.Equal(t, 3, admin.Ready(q.Name), "rolled back")

		err = conn.Tx(ctx, func(tx *amqp091.Tx) error {
			return tx.Publish(ctx, "/exchange/no-such-exchange-"+link.UniqueName("x")+"/k", message.NewText("lost"))
		})
		requireReplyCode(t, err, errorpolicy.ErrNotFound, 404)
		assert.NotErrorIs(t, err, errorpolicy.ErrOutcomeUnknown, "the broker refused: nothing was committed")

		err = conn.Tx(ctx, func(tx *amqp091.Tx) error {
			return tx.Publish(ctx, "/exchange/", message.NewText("x"))
		})
		require.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
		stillUsable(t)
		assert.Equal(t, "0", getText(t, conn, q.Name))
	})

	t.Run("amqp10-client-has-no-amqp091-conn", func(t *testing.T) {
		c := dialWith(t, url, &amqplink.Options{Protocol: amqplink.AMQP10})
		_, err := c.AMQP091(testContext(t))
		require.ErrorIs(t, err, errorpolicy.ErrNotSupported)
	})
}

// renames collects what Topology.OnQueueRenamed reports.
type renames struct {
	mu   sync.Mutex
	seen [][2]string
}

func (r *renames) hook(old, new string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, [2]string{old, new})
}

func (r *renames) all() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][2]string(nil), r.seen...)
}

// A new connection with the same Topology declares it again, in order; a
// server-named queue gets a new name, and its bindings follow it.
func TestAMQP091TopologyReplay(t *testing.T) {
	url := brokertest.RabbitMQ(t)
	ctx := testContext(t)
	var renamed renames
	topo := &amqp091.Topology{OnQueueRenamed: renamed.hook}
	opts := &amqp091.Options{Topology: topo}
	x, q := link.UniqueName("amqplink-replay-x"), link.UniqueName("amqplink-replay-q")
	dropAtCleanup(t, url, []string{x}, []string{q})

	first, err := amqp091.Dial(ctx, url, opts)
	require.NoError(t, err)
	require.NoError(t, topo.DeclareExchange(ctx, first, amqp091.ExchangeOptions{Name: x, Kind: "fanout"}))
	_, err = topo.DeclareQueue(ctx, first, amqp091.QueueOptions{Name: q})
	require.NoError(t, err)
	require.NoError(t, topo.BindQueue(ctx, first, amqp091.QueueBinding{Queue: q, Exchange: x}))
	tmp, err := topo.DeclareQueue(ctx, first, amqp091.QueueOptions{Exclusive: true})
	require.NoError(t, err)
	require.NoError(t, topo.BindQueue(ctx, first, amqp091.QueueBinding{Queue: tmp.Name, Exchange: x}))
	// Declared, then gone: not replayed.
	gone := link.UniqueName("amqplink-replay-gone")
	_, err = topo.DeclareQueue(ctx, first, amqp091.QueueOptions{Name: gone})
	require.NoError(t, err)
	_, err = topo.DeleteQueue(ctx, first, amqp091.DeleteQueueOptions{Name: gone})
	require.NoError(t, err)
	require.NoError(t, first.Close(ctx)) // the exclusive queue goes with it

	// Lose the rest behind the topology's back.
	admin := brokertest.NewAdmin(t, url)
	admin.Delete(q)
	second, err := amqp091.Dial(ctx, url, nil)
	require.NoError(t, err)
	require.NoError(t, unrecorded.DeleteExchange(ctx, second, amqp091.DeleteExchangeOptions{Name: x}))
	require.NoError(t, second.Close(ctx))

	third, err := amqp091.Dial(ctx, url, opts)
	require.NoError(t, err)
	defer third.Close(ctx)
	got := renamed.all()
	require.Len(t, got, 1)
	assert.Equal(t, tmp.Name, got[0][0])
	newTmp := got[0][1]
	assert.NotEqual(t, tmp.Name, newTmp)
	assert.False(t, admin.Exists(gone))

	require.NoError(t, third.Tx(ctx, func(tx *amqp091.Tx) error {
		return tx.Publish(ctx, "/exchange/"+x, message.NewText("fan out"))
	}))
	assert.Equal(t, "fan out", getText(t, third, q), "the queue and its binding are back")
	assert.Equal(t, "fan out", getText(t, third, newTmp), "the renamed queue kept its binding")

	// A declaration the broker refuses fails the dial, naming it.
	ext := link.UniqueName("amqplink-replay-ext")
	require.NoError(t, unrecorded.DeclareExchange(ctx, third, amqp091.ExchangeOptions{Name: ext}))
	strict := &amqp091.Topology{}
	require.NoError(t, strict.BindQueue(ctx, third, amqp091.QueueBinding{Queue: q, Exchange: ext}))
	require.NoError(t, unrecorded.DeleteExchange(ctx, third, amqp091.DeleteExchangeOptions{Name: ext}))
	_, err = amqp091.Dial(ctx, url, &amqp091.Options{Topology: strict})
	require.ErrorIs(t, err, errorpolicy.ErrNotFound)
	var e *errorpolicy.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, errorpolicy.ScopeConn, e.Scope)
	assert.Contains(t, e.Description, "replaying the topology: binding queue "+q+" to "+ext)
}

// Robust mode: RabbitMQ restarts, and everything declared through the Topology
// (non-durable, so only the replay can bring it back) is declared again before
// the receiver re-attaches its consumer with its prefetch.
func TestAMQP091RobustModeSurvivesBrokerRestart(t *testing.T) {
	if os.Getenv(brokertest.EnvRequire) != "1" && os.Getenv("AMQPLINK_FAULT_RESTART") != "1" {
		t.Skip("restarts the shared broker: runs under make test-all, or with AMQPLINK_FAULT_RESTART=1")
	}
	script := filepath.Join(repoRoot(t), "scripts", "brokers.sh")
	url := brokertest.RabbitMQ(t)
	admin := brokertest.NewAdmin(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var renamed renames
	topo := &amqp091.Topology{OnQueueRenamed: renamed.hook}
	client, conn := dial091(t, url, &amqp091.Options{Topology: topo})
	x, q := link.UniqueName("amqplink-robust-x"), link.UniqueName("amqplink-robust-q")
	dropAtCleanup(t, url, []string{x}, []string{q})
	require.NoError(t, topo.DeclareExchange(ctx, conn, amqp091.ExchangeOptions{Name: x, Kind: "direct"}))
	_, err := topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: q})
	require.NoError(t, err)
	require.NoError(t, topo.BindQueue(ctx, conn, amqp091.QueueBinding{Queue: q, Exchange: x, Key: "k"}))
	tmp, err := topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Exclusive: true})
	require.NoError(t, err)
	require.NoError(t, topo.BindQueue(ctx, conn, amqp091.QueueBinding{Queue: tmp.Name, Exchange: x, Key: "k"}))

	const prefetch = 5
	sess := newSession(t, client)
	rcv, err := receiver.New(ctx, sess, queueAddress(q), &receiver.Options{Prefetch: prefetch, Policy: patient})
	require.NoError(t, err)
	closeAtCleanup(t, rcv.Close)
	snd, err := sender.New(ctx, sess, "/exchange/"+x+"/k", &sender.Options{Policy: patient})
	require.NoError(t, err)
	closeAtCleanup(t, snd.Close)

	out, err := snd.Send(ctx, message.NewText("before"))
	require.NoError(t, err)
	require.Equal(t, message.Accepted{}, out)
	d, err := rcv.Receive(ctx)
	require.NoError(t, err)
	text, _ := d.Message.Text()
	require.Equal(t, "before", text)
	require.NoError(t, d.Accept(ctx))

	start := time.Now()
	out2, err := exec.Command("bash", script, "restart").CombinedOutput()
	require.NoError(t, err, "restarting RabbitMQ: %s", out2)
	t.Logf("broker restarted in %v", time.Since(start))

	// The sender reconnects (or finds the receiver's new connection), and the
	// replay has declared the exchange, queue and binding again: routed, so
	// Accepted rather than Released (NO_ROUTE).
	const n = 20
	for i := range n {
		out, err := snd.Send(ctx, message.NewText(strconv.Itoa(i)))
		require.NoError(t, err, "message %d", i)
		require.Equal(t, message.Accepted{}, out, "message %d", i)
	}
	t.Logf("topology and links back %v after the restart began", time.Since(start))

	// The consumer is back with its prefetch: the broker holds back what the
	// unsettled deliveries leave no room for.
	first, err := rcv.Receive(ctx)
	require.NoError(t, err)
	time.Sleep(500 * time.Millisecond)
	ready := admin.Ready(q)
	assert.GreaterOrEqual(t, ready, n-prefetch, "at most the prefetch is out with the consumer")
	assert.Less(t, ready, n)
	texts := []string{bodyText(first)}
	for len(texts) < n {
		d, err := rcv.Receive(ctx)
		require.NoError(t, err)
		texts = append(texts, bodyText(d))
		require.NoError(t, d.Accept(ctx))
	}
	require.NoError(t, first.Accept(ctx))
	for i, text := range texts {
		assert.Equal(t, strconv.Itoa(i), text)
	}

	// The server-named queue came back under a new name, bound like before.
	got := renamed.all()
	require.Len(t, got, 1)
	assert.Equal(t, tmp.Name, got[0][0])
	now, err := client.AMQP091(ctx)
	require.NoError(t, err)
	assert.NotSame(t, conn, now, "a new connection")
	require.Eventually(t, func() bool {
		info, err := topo.DeclareQueue(ctx, now, amqp091.QueueOptions{Name: got[0][1], Passive: true})
		return err == nil && info.Messages == n
	}, 10*time.Second, 50*time.Millisecond, "the renamed queue kept its binding")
}

func bodyText(d *message.Delivery) string {
	text, _ := d.Message.Text()
	return text
}
