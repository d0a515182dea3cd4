package amqp091

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/link"
)

// bg is a context for one step of a test against the fake broker.
func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// While a Drain cancels the consumer, deliveries beyond the credit are not handed out.
func TestReceiveHandsOutNoMoreThanTheCreditWhileTheConsumerIsCancelled(t *testing.T) {
	r, deliveries := consumingLink(t, false)
	require.NoError(t, r.IssueCredit(1))
	for i := 1; i <= 3; i++ {
		deliveries <- amqp.Delivery{DeliveryTag: uint64(i)}
	}
	// Drain's first step, before its basic.cancel is answered.
	r.live.Load().cancelled.Store(true)
	got := 0
	for {
		if _, err := r.Receive(doneCtx()); err != nil {
			break
		}
		got++
	}
	assert.LessOrEqual(t, got, 1, "credit was 1; credit now %d", r.credit.Load())
}

// The same with a real Drain racing a Receive that waits on the fast path.
func TestADrainRacingAReceiveHandsOutNoMoreThanTheCredit(t *testing.T) {
	b := newFakeBroker(t)
	b.on(60, 30, deliverTwiceThenCancelOK) // two deliveries in flight at the cancel
	c := dialFake(t, b)
	over := 0
	const runs = 20
	for range runs {
		s, r := consumingOnFake(t, c, 1)
		got := make(chan int)
		go func() { // the pump: blocked on the fast path with credit 1
			n := 0
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			for {
				if _, err := r.Receive(ctx); err != nil {
					break
				}
				n++
			}
			got <- n
		}()
		time.Sleep(5 * time.Millisecond)
		require.NoError(t, r.Drain(bg(t)))
		if n := <-got; n > 1 {
			over++
		}
		_ = s.Close(bg(t))
	}
	assert.Zero(t, over, "runs (of %d) where more deliveries than the credit (1) were handed out", runs)
}

// Close while basic.consume is in flight: when the broker answers after it, the
// consumer is cancelled and what it sent goes back to the queue.
func TestCloseCancelsAConsumerTheBrokerStartsAfterIt(t *testing.T) {
	b := newFakeBroker(t)
	release := make(chan struct{})
	b.on(60, 20, func(fc *fbConn, ch uint16, args []byte) {
		_, off := shortstrAt(args, 2)
		tag, _ := shortstrAt(args, off)
		go func() {
			<-release
			fc.method(ch, 60, 21, func(e *enc) { e.short(tag) })
			fc.deliver(ch, tag, 1) // held unacked by an orphan
		}()
	})
	c := dialFake(t, b)
	s, err := c.NewSession(bg(t), link.SessionOptions{})
	require.NoError(t, err)
	l, err := s.NewReceiver(bg(t), link.ReceiverOptions{Source: "q"})
	require.NoError(t, err)
	require.NoError(t, l.IssueCredit(5))
	_, ok := b.wait(60, 20, 2*time.Second)
	require.True(t, ok, "basic.consume sent")
	require.NoError(t, l.Close(bg(t)))
	close(release)
	_, cancelled := b.wait(60, 30, 500*time.Millisecond)
	assert.True(t, cancelled, "the consumer the broker started after Close was never cancelled")
	_, settled := b.wait(60, 120, 200*time.Millisecond) // nack of delivery 1
	assert.True(t, settled, "delivery 1 stays unacknowledged on the session's channel")
}

// Close requeues what a Drain kept for Receive, and Receive then reports the end.
func TestCloseRequeuesWhatADrainKeptAndEndsReceive(t *testing.T) {
	b := newFakeBroker(t)
	b.on(60, 30, deliverTwiceThenCancelOK)
	c := dialFake(t, b)
	_, r := consumingOnFake(t, c, 5)
	require.NoError(t, r.Drain(bg(t)))
	r.mu.Lock()
	require.Len(t, r.stash, 2)
	r.mu.Unlock()
	require.NoError(t, r.Close(bg(t)))
	_, nacked := b.wait(60, 120, 300*time.Millisecond)
	assert.True(t, nacked, "stashed deliveries 1 and 2 were neither handed out nor requeued")

	// Receive on the closed link reports its end without waiting for ctx.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var err error
	for err == nil {
		_, err = r.Receive(ctx)
	}
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "Receive on a closed link should not wait for ctx")
}

// consumingOnFake opens a session on c and a receiver link on queue q with
// credit, and waits for its consumer to run.
func consumingOnFake(t *testing.T, c *Conn, credit uint32) (link.Session, *receiverLink) {
	t.Helper()
	s, err := c.NewSession(bg(t), link.SessionOptions{})
	require.NoError(t, err)
	l, err := s.NewReceiver(bg(t), link.ReceiverOptions{Source: "q"})
	require.NoError(t, err)
	r := l.(*receiverLink)
	require.NoError(t, r.IssueCredit(credit))
	require.Eventually(t, func() bool { return r.live.Load() != nil }, time.Second, time.Millisecond)
	return s, r
}

// deliverTwiceThenCancelOK answers basic.cancel the way a broker does with two
// deliveries already on their way: them first, then cancel-ok.
func deliverTwiceThenCancelOK(fc *fbConn, ch uint16, args []byte) {
	tag, _ := shortstrAt(args, 0)
	fc.deliver(ch, tag, 1)
	fc.deliver(ch, tag, 2)
	fc.method(ch, 60, 31, func(e *enc) { e.short(tag) })
}
