package tests

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

// These tests run the receiver and sender against the in-process broker, which
// shows what RabbitMQ 3.10 cannot: a rejected outcome for a full queue, and
// exact credit.

func embedded(t *testing.T, o *amqptest.Options) (*amqptest.Server, *session.Session) {
	t.Helper()
	srv := amqptest.NewTestServer(t, o)
	c := dial(t, srv.URL())
	return srv, newSession(t, c)
}

func TestSenderGetsRejectedFromAFullQueue(t *testing.T) {
	srv, sess := embedded(t, nil)
	srv.CreateQueue("small", &amqptest.QueueOptions{MaxLength: 3})
	s, err := sender.New(testContext(t), sess, "small", nil)
	require.NoError(t, err)
	ctx := testContext(t)
	var receipts []*sender.Receipt
	for i := range 5 {
		r, err := s.SendAsync(ctx, message.NewText(strconv.Itoa(i)))
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	for i, r := range receipts {
		o, err := r.Wait(ctx)
		if i < 3 {
			require.NoError(t, err)
			assert.Equal(t, message.Accepted{}, o)
			continue
		}
		require.ErrorIs(t, err, sender.ErrRejected, "message %d", i)
		rej, ok := o.(message.Rejected)
		require.True(t, ok)
		assert.Equal(t, "amqp:resource-limit-exceeded", rej.Condition)
	}
	q, _ := srv.Queue("small")
	assert.Equal(t, 3, q.Ready)
	require.NoError(t, s.Close(ctx))
}

func TestReceiverOnTheEmbeddedBroker(t *testing.T) {
	const total = 2000
	srv, sess := embedded(t, nil)
	for i := range total {
		srv.Put("work", []byte(strconv.Itoa(i)))
	}
	ctx := testContext(t)
	r, err := receiver.New(ctx, sess, "work", &receiver.Options{Prefetch: 50, Concurrency: 4})
	require.NoError(t, err)
	seen := make(chan int, total)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = r.Run(runCtx, func(_ context.Context, d *message.Delivery) error {
			n, err := strconv.Atoi(string(d.Message.Body.Data[0]))
			require.NoError(t, err)
			seen <- n
			return nil
		})
	}()
	got := map[int]bool{}
	for len(got) < total {
		select {
		case n := <-seen:
			require.False(t, got[n], "delivered once")
			got[n] = true
		case <-ctx.Done():
			t.Fatalf("received %d of %d", len(got), total)
		}
	}
	require.Eventually(t, func() bool {
		q, _ := srv.Queue("work")
		return q.Ready == 0 && q.Unacked == 0
	}, 5*time.Second, time.Millisecond, "every one accepted")
	stop()
	require.NoError(t, r.Close(ctx))
}

func TestReceiverHoldsNoMoreThanThePrefetchOnTheEmbeddedBroker(t *testing.T) {
	srv, sess := embedded(t, nil)
	for i := range 100 {
		srv.Put("q", []byte(strconv.Itoa(i)))
	}
	ctx := testContext(t)
	r, err := receiver.New(ctx, sess, "q", &receiver.Options{Prefetch: 10})
	require.NoError(t, err)
	require.Eventually(t, func() bool { q, _ := srv.Queue("q"); return q.Unacked == 10 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	q, _ := srv.Queue("q")
	assert.Equal(t, 10, q.Unacked, "exactly the prefetch: this broker sends no surplus")
	assert.Equal(t, 10, r.Stats().Held())
	require.NoError(t, r.Close(ctx))
	require.Eventually(t, func() bool { q, _ := srv.Queue("q"); return q.Ready == 100 && q.Unacked == 0 },
		5*time.Second, time.Millisecond, "Close released what was buffered")
}
