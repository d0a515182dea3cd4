package receiver_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/session"
)

// timeoutBroker fails the n-th attach with what session.NewReceiverLink returns
// when attachTimeout (30 s) expires: the bare context error (translate passes it
// through unchanged).
type timeoutBroker struct {
	*fakeBroker
	calls  atomic.Int32
	failOn int32
}

func (b *timeoutBroker) NewSession(context.Context, link.SessionOptions) (link.Session, error) {
	return b, nil
}

func (b *timeoutBroker) NewReceiver(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	if b.calls.Add(1) == b.failOn {
		return nil, context.DeadlineExceeded
	}
	return b.fakeBroker.NewReceiver(ctx, o)
}

// An attach that times out during recovery costs one attempt (see
// attachTimeout); it does not end the receiver with an untyped error.
func TestAnAttachTimeoutDuringRecoveryCostsAnAttempt(t *testing.T) {
	b := &timeoutBroker{fakeBroker: newBroker(5), failOn: 2}
	ctx := testCtx(t)
	sess, err := session.New(ctx, b, nil)
	require.NoError(t, err)
	defer sess.Close(context.Background())
	r, err := receiver.New(ctx, sess, "q", &receiver.Options{Prefetch: 10})
	require.NoError(t, err)
	defer r.Close(context.Background())
	require.Eventually(t, func() bool { return r.Stats().Buffered == 5 }, 5*time.Second, time.Millisecond)

	b.mu.Lock()
	l := b.links[0]
	b.mu.Unlock()
	l.fail(errorpolicy.New(errorpolicy.CondDetachForced, "detach forced", nil)) // RecoverLink

	select {
	case <-r.Done():
		var e *errorpolicy.Error
		t.Fatalf("receiver gave up after one attach timeout: err=%v (typed *errorpolicy.Error: %v)",
			r.Err(), errors.As(r.Err(), &e))
	case <-time.After(3 * time.Second):
	}
	assert.Equal(t, uint64(1), r.Stats().Recoveries)
}

// A Run handler may close its receiver (on a poison message, say): given the
// handler's ctx, Close does not wait for the handler it is called from.
func TestCloseFromAHandlerDoesNotWaitForThatHandler(t *testing.T) {
	b := newBroker(5)
	ctx := testCtx(t)
	sess, err := session.New(ctx, b, nil)
	require.NoError(t, err)
	defer sess.Close(context.Background())
	r, err := receiver.New(ctx, sess, "q", nil)
	require.NoError(t, err)
	closeErr := make(chan error, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- r.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
			require.NoError(t, d.Accept(ctx))
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			closeErr <- r.Close(cctx)
			return nil
		})
	}()
	start := time.Now()
	err = <-closeErr
	require.NoError(t, <-runErr)
	require.NoError(t, err, "Close from a handler returned after %v", time.Since(start))
}

// The answer to a drain on a link since dropped does not end the drain running
// on the new link: a ResetCredit meanwhile is still refused.
func TestAStaleDrainResultLeavesTheCurrentDrainInProgress(t *testing.T) {
	b := newBroker(0)
	b.Drain = "never"
	r := open(t, b, &receiver.Options{Prefetch: 10})
	ctx := testCtx(t)
	require.Eventually(t, func() bool { return r.Stats().Outstanding == 10 }, 5*time.Second, time.Millisecond)

	ctx1, cancel1 := context.WithCancel(ctx)
	first := make(chan error, 1)
	go func() { first <- r.ResetCredit(ctx1, 0, true) }() // drain on link 1, never answered
	time.Sleep(50 * time.Millisecond)

	b.mu.Lock()
	l := b.links[0]
	b.mu.Unlock()
	l.fail(errorpolicy.New(errorpolicy.CondDetachForced, "detach forced", nil))
	require.Eventually(t, func() bool { return r.Stats().Recoveries == 1 && r.State() == receiver.Open },
		5*time.Second, time.Millisecond)
	require.NoError(t, r.ResetCredit(ctx, 5, false))
	require.Eventually(t, func() bool { return r.Stats().Outstanding == 10 }, 5*time.Second, time.Millisecond)

	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	second := make(chan error, 1)
	go func() { second <- r.ResetCredit(ctx2, 0, true) }() // drain on link 2, in progress
	time.Sleep(50 * time.Millisecond)
	require.ErrorIs(t, r.ResetCredit(ctx, 3, false), errorpolicy.ErrInvalidOption, "drain 2 is in progress")

	cancel1() // the drain of link 1 now ends
	<-first
	time.Sleep(50 * time.Millisecond)
	require.ErrorIs(t, r.ResetCredit(ctx, 3, false), errorpolicy.ErrInvalidOption,
		"drain 2 is still in progress, but the stale result of drain 1 cleared the flag")
	cancel2()
	<-second
}
