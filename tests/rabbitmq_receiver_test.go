package tests

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
)

// number is the message number brokertest.Admin.Publish put in the body.
func number(t *testing.T, d *message.Delivery) int {
	t.Helper()
	s, err := d.Message.Text()
	require.NoError(t, err)
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// tally records every message number accepted, and fails on a second accept.
type tally struct {
	mu   sync.Mutex
	seen map[int]bool
}

func (c *tally) accept(t *testing.T, ctx context.Context, d *message.Delivery) {
	n := number(t, d)
	require.NoError(t, d.Accept(ctx))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[int]bool{}
	}
	assert.False(t, c.seen[n], "message %d accepted twice", n)
	c.seen[n] = true
}

func (c *tally) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.seen) }

func newReceiver(t *testing.T, q string, o *receiver.Options) *receiver.Receiver {
	t.Helper()
	c, _, _ := rabbit(t)
	sess := newSession(t, c)
	r, err := receiver.New(testContext(t), sess, queueAddress(q), o)
	require.NoError(t, err)
	closeAtCleanup(t, r.Close)
	return r
}

// TestReceiver10kEachStyle sends 10,000 messages through each way to consume and
// checks each is accepted exactly once and gone from the broker.
func TestReceiver10kEachStyle(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		const total = 10000
		styles := map[string]func(t *testing.T, ctx context.Context, r *receiver.Receiver, c *tally){
			"Receive": func(t *testing.T, ctx context.Context, r *receiver.Receiver, c *tally) {
				for c.count() < total {
					d, err := r.Receive(ctx)
					require.NoError(t, err)
					c.accept(t, ctx, d)
				}
			},
			"ReceiveBatch": func(t *testing.T, ctx context.Context, r *receiver.Receiver, c *tally) {
				for c.count() < total {
					batch, err := r.ReceiveBatch(ctx, 100, nil)
					require.NoError(t, err)
					for _, d := range batch {
						c.accept(t, ctx, d)
					}
				}
			},
			"All": func(t *testing.T, ctx context.Context, r *receiver.Receiver, c *tally) {
				for d, err := range r.All(ctx) {
					require.NoError(t, err)
					if c.accept(t, ctx, d); c.count() == total {
						break
					}
				}
			},
			"Run-c16": func(t *testing.T, ctx context.Context, r *receiver.Receiver, c *tally) {
				runCtx, stop := context.WithCancel(ctx)
				defer stop()
				err := r.Run(runCtx, func(ctx context.Context, d *message.Delivery) error {
					n := number(t, d)
					c.mu.Lock()
					if c.seen == nil {
						c.seen = map[int]bool{}
					}
					assert.False(t, c.seen[n], "message %d handled twice", n)
					c.seen[n] = true
					if len(c.seen) == total {
						stop()
					}
					c.mu.Unlock()
					return nil // Run accepts
				})
				require.ErrorIs(t, err, context.Canceled)
			},
		}
		for name, consume := range styles {
			t.Run(name, func(t *testing.T) {
				_, admin, _ := rabbit(t)
				q := admin.NewQueue(brokertest.QueueOptions{})
				admin.Publish(q.Name, 0, total)
				o := &receiver.Options{}
				if name == "Run-c16" {
					o.Concurrency = 16
				}
				r := newReceiver(t, q.Name, o)
				ctx := testContext(t)
				var c tally
				consume(t, ctx, r, &c)
				require.Equal(t, total, c.count())
				require.NoError(t, r.Close(ctx))
				assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0))
				assert.Equal(t, 0, admin.Unacked(q.Name))
				s := r.Stats()
				assert.Equal(t, uint64(total), s.Settled)
				t.Logf("%s: received %d, surplus from the broker %d, released %d, re-attached %d", name, s.Received, s.Surplus, s.Released, s.Recoveries)
			})
		}
	})
}

func TestReceiverBlockedHandlersNeverHoldMoreThanPrefetch(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		const prefetch, workers = 50, 4
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		admin.Publish(q.Name, 0, 1000)
		r := newReceiver(t, q.Name, &receiver.Options{Prefetch: prefetch, Concurrency: workers})
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		unblock := make(chan struct{})
		var handled atomic.Int32
		done := make(chan error, 1)
		go func() {
			done <- r.Run(ctx, func(context.Context, *message.Delivery) error {
				<-unblock
				handled.Add(1)
				return nil
			})
		}()
		require.Eventually(t, func() bool { return r.Stats().Held() >= prefetch }, 10*time.Second, 10*time.Millisecond)
		for range 5 { // the broker stays held back while handlers block
			time.Sleep(100 * time.Millisecond)
			unacked := admin.Unacked(q.Name)
			s := r.Stats()
			assert.LessOrEqual(t, unacked, prefetch+int(s.Surplus), "broker's unacknowledged count")
			assert.Equal(t, unacked, s.Held(), "Stats agree with the broker")
			assert.Equal(t, workers, s.Handling)
		}
		close(unblock)
		require.Eventually(t, func() bool { return handled.Load() == 1000 }, 20*time.Second, 10*time.Millisecond)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		assert.Equal(t, 0, admin.WaitReady(testContext(t), q.Name, 0))
	})
}

func TestReceiverResetCreditStopsAndResumes(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		const total = 300
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		admin.Publish(q.Name, 0, total)
		r := newReceiver(t, q.Name, &receiver.Options{Prefetch: 20})
		ctx := testContext(t)
		var c tally
		require.NoError(t, r.ResetCredit(ctx, 0, false))
		// What was granted before the pause still comes; then nothing.
		for {
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			d, err := r.Receive(short)
			cancel()
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				break
			}
			c.accept(t, ctx, d)
		}
		got := c.count()
		assert.LessOrEqual(t, got, 20+int(r.Stats().Surplus))
		// On AMQP 0-9-1 the consumer's prefetch window stays filled while paused
		// without drain: the driver holds those messages unacknowledged, unseen.
		reserved := 0
		if protocolOf(t) == amqplink.AMQP091 {
			reserved = 20
		}
		assert.Equal(t, total-got-reserved, admin.WaitReady(ctx, q.Name, total-got-reserved))
		time.Sleep(200 * time.Millisecond)
		assert.Equal(t, total-got-reserved, admin.Ready(q.Name), "paused: the broker keeps the rest")

		require.NoError(t, r.ResetCredit(ctx, 20, false))
		for c.count() < total {
			d, err := r.Receive(ctx)
			require.NoError(t, err)
			c.accept(t, ctx, d)
		}
		assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0))
	})
}

func TestReceiverCloseReturnsBufferedToTheQueue(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		admin.Publish(q.Name, 0, 500)
		r := newReceiver(t, q.Name, &receiver.Options{Prefetch: 100})
		ctx := testContext(t)
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
		require.Eventually(t, func() bool { return r.Stats().Buffered >= 99 }, 10*time.Second, 10*time.Millisecond)
		require.NoError(t, r.Close(ctx))
		assert.Equal(t, 499, admin.WaitReady(ctx, q.Name, 499), "every buffered delivery is back")
		assert.Equal(t, 0, admin.Unacked(q.Name))
		assert.GreaterOrEqual(t, r.Stats().Released, uint64(99))
	})
}

// TestReceiverRecoversFromRabbitMQDrainCrash: RabbitMQ 3.10 answers a drain, then
// its session process crashes with amqp:internal-error. The receiver attaches a
// new link on a new session; nothing is lost and nothing settled twice.
func TestReceiverRecoversFromRabbitMQDrainCrash(t *testing.T) {
	const total = 300
	_, admin, _ := rabbit(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	admin.Publish(q.Name, 0, 20) // fewer than the prefetch: credit is outstanding
	r := newReceiver(t, q.Name, &receiver.Options{Prefetch: 50})
	ctx := testContext(t)
	require.Eventually(t, func() bool { return r.Stats().Outstanding == 30 }, 10*time.Second, 10*time.Millisecond)
	var held []*message.Delivery
	for range 10 {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		held = append(held, d)
	}
	require.NoError(t, r.ResetCredit(ctx, 0, true))
	require.Eventually(t, func() bool { return r.Stats().Recoveries == 1 && r.State() == receiver.Open },
		10*time.Second, 10*time.Millisecond)
	for _, d := range held {
		require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrLinkLost)
	}
	admin.Publish(q.Name, 20, total-20)
	require.NoError(t, r.ResetCredit(ctx, 50, false))
	var c tally
	for c.count() < total {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		c.accept(t, ctx, d)
	}
	assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0))
	assert.Equal(t, 0, admin.Unacked(q.Name))
}
