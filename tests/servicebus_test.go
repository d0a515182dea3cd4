package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/servicebus"
)

// The Service Bus dialect against amqptest's $management node: lock tokens,
// renewal, lock loss, peek, and settlement through management.

func sbReceiver(t *testing.T, o *servicebus.ReceiverOptions) (*amqptest.Server, *servicebus.Receiver) {
	t.Helper()
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("orders", &amqptest.QueueOptions{LockDuration: time.Second})
	c := dial(t, srv.URL())
	sess := newSession(t, c)
	r, err := servicebus.NewReceiver(testContext(t), sess, "orders", o)
	require.NoError(t, err)
	closeAtCleanup(t, r.Close)
	return srv, r
}

func TestServiceBusRenewLockKeepsAMessageLockedPastItsDuration(t *testing.T) {
	srv, r := sbReceiver(t, nil)
	ctx := testContext(t)
	srv.Put("orders", []byte("order 1"))
	d, err := r.Receive(ctx)
	require.NoError(t, err)
	require.NotNil(t, d.LockToken, "the delivery tag is the lock token")
	until, ok := servicebus.LockedUntil(d)
	require.True(t, ok, "x-opt-locked-until is stamped")

	srv.FastForward(700 * time.Millisecond)
	renewed, err := r.RenewLock(ctx, d)
	require.NoError(t, err)
	assert.True(t, renewed.After(until), "renewed %v, was %v", renewed, until)
	srv.FastForward(700 * time.Millisecond) // past the first lock's expiry

	require.NoError(t, d.Accept(ctx), "the renewed lock still holds")
	q, _ := srv.Queue("orders")
	assert.Zero(t, q.Ready+q.Unacked, "the message is gone")
}

func TestServiceBusSettlingAfterTheLockExpiredFailsWithLockLost(t *testing.T) {
	srv, r := sbReceiver(t, nil)
	ctx := testContext(t)
	srv.Put("orders", []byte("order 1"))
	d, err := r.Receive(ctx)
	require.NoError(t, err)

	srv.FastForward(1500 * time.Millisecond)
	err = d.Accept(ctx)
	require.ErrorIs(t, err, errorpolicy.ErrMessageLockLost)
	_, err = r.RenewLock(ctx, d)
	require.ErrorIs(t, err, errorpolicy.ErrMessageLockLost, "renewing a lost lock: 410")

	again, err := r.Receive(ctx)
	require.NoError(t, err, "the expired lock put the message back")
	assert.Equal(t, uint32(1), again.DeliveryCount)
	require.NoError(t, again.Accept(ctx))
}

func TestServiceBusAutoRenewLockWhileAHandlerWorks(t *testing.T) {
	srv, r := sbReceiver(t, &servicebus.ReceiverOptions{AutoRenewLock: time.Minute})
	srv.Put("orders", []byte("slow order"))
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	handled := make(chan error, 1)
	go func() {
		_ = r.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
			time.Sleep(2500 * time.Millisecond) // 2.5 lock durations of real time
			handled <- nil
			return nil // accepts: fails with lock-lost unless the lock was renewed
		})
	}()
	require.NoError(t, <-handled)
	require.Eventually(t, func() bool {
		q, _ := srv.Queue("orders")
		return q.Ready+q.Unacked == 0
	}, 5*time.Second, 10*time.Millisecond, "the accept after the handler succeeded")
	assert.EqualValues(t, 1, r.Stats().Received, "never redelivered")
}

func TestServiceBusPeekDoesNotLock(t *testing.T) {
	srv, r := sbReceiver(t, nil)
	ctx := testContext(t)
	for _, b := range []string{"a", "b", "c"} {
		srv.Put("orders", []byte(b))
	}
	msgs, err := r.Management().Peek(ctx, 0, 2)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	assert.Equal(t, []byte("a"), msgs[0].Body.Data[0])
	last, ok := servicebus.SequenceNumber(msgs[1])
	require.True(t, ok)
	rest, err := r.Management().Peek(ctx, last+1, 10)
	require.NoError(t, err)
	require.Len(t, rest, 1)
	assert.Equal(t, []byte("c"), rest[0].Body.Data[0])
	none, err := r.Management().Peek(ctx, last+2, 10)
	require.NoError(t, err)
	assert.Empty(t, none)

	d, err := r.Receive(ctx)
	require.NoError(t, err, "peeked messages are still there to receive")
	assert.Equal(t, []byte("a"), d.Message.Body.Data[0])
	require.NoError(t, d.Accept(ctx))
}

func TestServiceBusSettlesThroughManagementWhenTheLinkIsGone(t *testing.T) {
	srv, r := sbReceiver(t, &servicebus.ReceiverOptions{Receiver: receiver.Options{Prefetch: 1}})
	ctx := testContext(t)
	srv.Put("orders", []byte("order 1"))
	d, err := r.Receive(ctx)
	require.NoError(t, err)

	require.Equal(t, 1, srv.DetachLinks("orders", "amqp:link:detach-forced", "test"))
	require.Eventually(t, func() bool { return r.Stats().Recoveries == 1 }, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, d.Accept(ctx), "completed through $management while the lock holds")
	q, _ := srv.Queue("orders")
	assert.Zero(t, q.Ready+q.Unacked)
}
