package receiver_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open starts a receiver on queue "q" of b, closed at cleanup.
func open(t *testing.T, b *fakeBroker, o *receiver.Options) *receiver.Receiver {
	t.Helper()
	ctx := testCtx(t)
	sess, err := session.New(ctx, b, nil)
	require.NoError(t, err)
	r, err := receiver.New(ctx, sess, "q", o)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, r.Close(context.Background()))
		require.NoError(t, sess.Close(context.Background()))
	})
	return r
}

func num(d *message.Delivery) int { return d.Message.ApplicationProperties["n"].(int) }

// requireEachSettledOnce checks that messages 0..n-1 were each settled exactly
// once with want (releases by the receiver itself aside).
func requireEachSettledOnce(t *testing.T, b *fakeBroker, n int, want message.Outcome) {
	t.Helper()
	for i := range n {
		var final []message.Outcome
		for _, o := range b.settledAs(i) {
			if _, released := o.(message.Released); !released {
				final = append(final, o)
			}
		}
		require.Equal(t, []message.Outcome{want}, final, "message %d", i)
	}
}

func TestReceiveAcceptsEveryMessageOnceWithinPrefetch(t *testing.T) {
	const total, prefetch = 2000, 50
	b := newBroker(total)
	r := open(t, b, &receiver.Options{Prefetch: prefetch})
	ctx := testCtx(t)
	for i := range total {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.Equal(t, i, num(d), "in order")
		require.NoError(t, d.Accept(ctx))
	}
	requireEachSettledOnce(t, b, total, message.Accepted{})
	_, _, maxUnacked := b.snapshot()
	assert.LessOrEqual(t, maxUnacked, prefetch)
	s := r.Stats()
	assert.Equal(t, uint64(total), s.Received)
	assert.Equal(t, uint64(total), s.Settled)
}

func TestBlockedHandlersStallTheBrokerNotMemory(t *testing.T) {
	const prefetch, workers = 40, 4
	b := newBroker(1000)
	r := open(t, b, &receiver.Options{Prefetch: prefetch, Concurrency: workers})
	ctx, cancel := context.WithCancel(testCtx(t))
	unblock := make(chan struct{})
	var started atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
			started.Add(1)
			<-unblock
			return nil
		})
	}()
	require.Eventually(t, func() bool { return started.Load() == workers && r.Stats().Buffered == prefetch-workers },
		5*time.Second, time.Millisecond)
	ready, unacked, _ := b.snapshot()
	s := r.Stats()
	assert.Equal(t, prefetch, unacked, "the broker holds back the rest")
	assert.Equal(t, 1000-prefetch, ready)
	assert.Equal(t, unacked, s.Held(), "Stats agree with the broker")
	assert.Equal(t, workers, s.Handling)
	assert.Equal(t, int64(0), s.Outstanding)

	close(unblock)
	require.Eventually(t, func() bool { r, u, _ := b.snapshot(); return r == 0 && u == 0 }, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	_, _, maxUnacked := b.snapshot()
	assert.LessOrEqual(t, maxUnacked, prefetch)
	requireEachSettledOnce(t, b, 1000, message.Accepted{})
}

func TestSurplusFromThePeerNeverWrapsCredit(t *testing.T) {
	const total, prefetch, surplus = 3000, 20, 7
	b := newBroker(total)
	b.Surplus = surplus // like RabbitMQ 3.10: a few transfers beyond credit on every grant
	r := open(t, b, &receiver.Options{Prefetch: prefetch})
	ctx := testCtx(t)
	for range total {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
	}
	requireEachSettledOnce(t, b, total, message.Accepted{})
	s := r.Stats()
	assert.Positive(t, s.Surplus, "the fake peer did send a surplus")
	b.mu.Lock()
	maxGrant := b.links[0].maxGrant
	b.mu.Unlock()
	assert.LessOrEqual(t, maxGrant, uint32(prefetch), "a wrapped counter would grant billions")
	_, _, maxUnacked := b.snapshot()
	assert.LessOrEqual(t, maxUnacked, prefetch+surplus)
}

func TestResetCreditPausesAndResumes(t *testing.T) {
	b := newBroker(500)
	r := open(t, b, &receiver.Options{Prefetch: 30})
	ctx := testCtx(t)
	require.Eventually(t, func() bool { return r.Stats().Buffered == 30 }, 5*time.Second, time.Millisecond)

	require.NoError(t, r.ResetCredit(ctx, 0, false))
	for range 30 { // what was buffered before the pause
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := r.Receive(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "paused: nothing more comes")
	assert.True(t, r.Stats().Paused)
	ready, _, _ := b.snapshot()
	assert.Equal(t, 470, ready)

	require.NoError(t, r.ResetCredit(ctx, 10, false))
	for range 470 {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
	}
	requireEachSettledOnce(t, b, 500, message.Accepted{})
}

func TestResetCreditWithDrainCancelsOutstandingCredit(t *testing.T) {
	b := newBroker(0)
	r := open(t, b, &receiver.Options{Prefetch: 30})
	ctx := testCtx(t)
	require.Eventually(t, func() bool { return r.Stats().Outstanding == 30 }, 5*time.Second, time.Millisecond)
	require.NoError(t, r.ResetCredit(ctx, 0, true))
	assert.Equal(t, int64(0), r.Stats().Outstanding)
	b.put(5)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := r.Receive(short)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "the peer has no credit left")

	require.NoError(t, r.ResetCredit(ctx, 5, true)) // 0 outstanding: nothing to drain
	for range 5 {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
	}
}

func TestDrainThatCrashesTheSessionRecoversWithoutLossOrDoubleSettle(t *testing.T) {
	const total = 200
	b := newBroker(10) // fewer than the prefetch: credit is outstanding when the drain starts
	b.Drain = "crash"
	var states []receiver.State
	var mu sync.Mutex
	r := open(t, b, &receiver.Options{Prefetch: 20, OnStateChange: func(_, to receiver.State) {
		mu.Lock()
		states = append(states, to)
		mu.Unlock()
	}})
	ctx := testCtx(t)
	var held []*message.Delivery
	for range 5 {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		held = append(held, d)
	}
	require.NoError(t, r.ResetCredit(ctx, 0, true))
	require.Eventually(t, func() bool { return r.Stats().Recoveries == 1 && r.State() == receiver.Open },
		5*time.Second, time.Millisecond)
	for _, d := range held {
		require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrLinkLost, "the old link's lock is gone")
	}
	b.put(total - 10)
	require.NoError(t, r.ResetCredit(ctx, 20, false))
	seen := map[int]bool{}
	for len(seen) < total {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.False(t, seen[num(d)], "message %d handed out twice after recovery", num(d))
		seen[num(d)] = true
		require.NoError(t, d.Accept(ctx))
	}
	requireEachSettledOnce(t, b, total, message.Accepted{})
	mu.Lock()
	assert.Contains(t, states, receiver.Recovering)
	mu.Unlock()
}

func TestUnansweredDrainReattachesWithTheResetCredit(t *testing.T) {
	b := newBroker(5)
	b.Drain = "never"
	r := open(t, b, &receiver.Options{Prefetch: 10})
	ctx := testCtx(t)
	require.Eventually(t, func() bool { return r.Stats().Buffered == 5 }, 5*time.Second, time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := r.ResetCredit(short, 3, true)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return r.Stats().Recoveries == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, uint64(5), r.Stats().Released, "what was buffered went back")
	b.mu.Lock()
	assert.Equal(t, 2, b.attaches, "a new link replaced the one that never answered")
	b.mu.Unlock()
	b.put(95)
	for range 100 {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
	}
	requireEachSettledOnce(t, b, 100, message.Accepted{})
}

func TestSettleTwiceIsATypedError(t *testing.T) {
	b := newBroker(1)
	r := open(t, b, nil)
	ctx := testCtx(t)
	d, err := r.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Reject(ctx, d, "amqp:precondition-failed", "bad", nil))
	require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrAlreadySettled)
	require.ErrorIs(t, r.Release(ctx, d), errorpolicy.ErrAlreadySettled)
	assert.Equal(t, []message.Outcome{message.Rejected{Condition: "amqp:precondition-failed", Description: "bad"}}, b.settledAs(0))
}

func TestCloseReleasesBufferedAndLocksOutHandedOut(t *testing.T) {
	b := newBroker(100)
	sess, err := session.New(testCtx(t), b, nil)
	require.NoError(t, err)
	defer sess.Close(context.Background())
	ctx := testCtx(t)
	r, err := receiver.New(ctx, sess, "q", &receiver.Options{Prefetch: 25})
	require.NoError(t, err)
	d, err := r.Receive(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return r.Stats().Buffered == 24 }, 5*time.Second, time.Millisecond)

	require.NoError(t, r.Close(ctx))
	assert.Equal(t, receiver.Closed, r.State())
	ready, unacked, _ := b.snapshot()
	assert.Equal(t, 100, ready, "buffered released, the handed-out one returned with the link")
	assert.Equal(t, 0, unacked)
	for i := 1; i < 25; i++ {
		assert.Equal(t, []message.Outcome{message.Released{}}, b.settledAs(i))
	}
	require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrLinkLost)
	_, err = r.Receive(ctx)
	require.ErrorIs(t, err, errorpolicy.ErrClosed)
	require.NoError(t, r.Close(ctx), "a second Close is a no-op")
}

func TestReceiveBatchGrantsWhatItAsksBeyondPrefetch(t *testing.T) {
	b := newBroker(100)
	r := open(t, b, &receiver.Options{Prefetch: 10})
	ctx := testCtx(t)
	batch, err := r.ReceiveBatch(ctx, 25, &receiver.BatchOptions{MaxWait: 2 * time.Second})
	require.NoError(t, err)
	require.Len(t, batch, 25)
	for i, d := range batch {
		assert.Equal(t, i, num(d))
		require.NoError(t, d.Accept(ctx))
	}
	// A short batch returns after MaxWait with what came.
	b2 := newBroker(3)
	r2 := open(t, b2, nil)
	start := time.Now()
	batch, err = r2.ReceiveBatch(ctx, 10, &receiver.BatchOptions{MaxWait: 50 * time.Millisecond})
	require.NoError(t, err)
	assert.Len(t, batch, 3)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestIteratorYieldsInOrderAndStopsOnBreak(t *testing.T) {
	b := newBroker(50)
	r := open(t, b, &receiver.Options{Prefetch: 5})
	ctx := testCtx(t)
	i := 0
	for d, err := range r.All(ctx) {
		require.NoError(t, err)
		require.Equal(t, i, num(d))
		require.NoError(t, d.Accept(ctx))
		if i++; i == 50 {
			break
		}
	}
	requireEachSettledOnce(t, b, 50, message.Accepted{})
}

func TestRunSettlesByTheHandlersResult(t *testing.T) {
	b := newBroker(30)
	r := open(t, b, &receiver.Options{Concurrency: 3, OnHandlerError: message.Rejected{Condition: "app:failed"}})
	ctx, cancel := context.WithCancel(testCtx(t))
	var count atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
			defer count.Add(1)
			switch num(d) % 3 {
			case 0:
				return nil
			case 1:
				return fmt.Errorf("handler failed")
			}
			return d.Release(ctx) // settled by the handler: Run leaves it
		})
	}()
	require.Eventually(t, func() bool { return count.Load() >= 30 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	for i := range 30 {
		outcomes := b.settledAs(i)
		require.NotEmpty(t, outcomes, "message %d", i)
		switch i % 3 {
		case 0:
			assert.Equal(t, message.Accepted{}, outcomes[0])
		case 1:
			assert.Equal(t, message.Rejected{Condition: "app:failed"}, outcomes[0])
		case 2:
			assert.Equal(t, message.Released{}, outcomes[0])
		}
	}
}

func TestReceiveAndDeleteNeedsNoSettling(t *testing.T) {
	b := newBroker(40)
	b.Presettled = true
	r := open(t, b, &receiver.Options{Mode: receiver.ReceiveAndDelete, Prefetch: 8})
	ctx := testCtx(t)
	for i := range 40 {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.Equal(t, i, num(d))
		require.True(t, d.Presettled)
		require.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrAlreadySettled)
	}
	assert.Equal(t, uint64(40), r.Stats().Settled)
}

func TestBadInput(t *testing.T) {
	b := newBroker(0)
	ctx := testCtx(t)
	sess, err := session.New(ctx, b, nil)
	require.NoError(t, err)
	defer sess.Close(ctx)
	_, err = receiver.New(ctx, sess, "missing", nil)
	require.ErrorIs(t, err, errorpolicy.ErrNotFound)
	_, err = receiver.New(ctx, sess, "", nil)
	require.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	_, err = receiver.New(ctx, sess, "q", &receiver.Options{Prefetch: -1})
	require.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	r := open(t, b, nil)
	require.ErrorIs(t, r.SetPrefetch(0), errorpolicy.ErrInvalidOption)
	require.ErrorIs(t, r.ResetCredit(ctx, -1, false), errorpolicy.ErrInvalidOption)
}
