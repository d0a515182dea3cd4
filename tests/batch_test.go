package tests

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

// fillBatch adds numbered messages to b until it is full or n are in, and returns
// how many went in.
func fillBatch(t *testing.T, b *sender.Batch, n int) int {
	t.Helper()
	for i := range n {
		m := message.NewText(strconv.Itoa(i))
		m.ApplicationProperties = map[string]any{"i": int64(i)}
		ok, err := b.TryAdd(m)
		require.NoError(t, err)
		if !ok {
			return i
		}
	}
	return n
}

// receiveN receives n messages and returns their bodies in order, accepting them.
func receiveN(t *testing.T, sess *session.Session, source string, n int) []string {
	t.Helper()
	ctx := testContext(t)
	r, err := receiver.New(ctx, sess, source, nil)
	require.NoError(t, err)
	closeAtCleanup(t, r.Close)
	var got []string
	for range n {
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		got = append(got, string(d.Message.Body.Data[0]))
		require.NoError(t, d.Accept(ctx))
	}
	return got
}

// newTestSender attaches a sender to target, closed when the test ends.
func newTestSender(t *testing.T, sess *session.Session, target string, o *sender.Options) *sender.Sender {
	t.Helper()
	s, err := sender.New(testContext(t), sess, target, o)
	require.NoError(t, err)
	closeAtCleanup(t, s.Close)
	return s
}

func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

func TestBatchFormatArrivesAsSeparateMessages(t *testing.T) {
	srv, sess := embedded(t, nil)
	ctx := testContext(t)
	s := newTestSender(t, sess, "orders", &sender.Options{BatchFormat: true})

	b, err := s.NewBatch(0)
	require.NoError(t, err)
	require.Equal(t, 100, fillBatch(t, b, 100))
	require.NoError(t, s.SendBatch(ctx, b))
	q, _ := srv.Queue("orders")
	assert.Equal(t, 100, q.Ready, "the broker split the batch into its messages")
	assert.Equal(t, numbers(100), receiveN(t, sess, "orders", 100), "each intact, in order")
}

func TestBatchIsAcceptedOrRejectedWhole(t *testing.T) {
	srv, sess := embedded(t, nil)
	srv.CreateQueue("small", &amqptest.QueueOptions{MaxLength: 50})
	ctx := testContext(t)
	s := newTestSender(t, sess, "small", &sender.Options{BatchFormat: true})

	b, err := s.NewBatch(0)
	require.NoError(t, err)
	fillBatch(t, b, 60)
	err = s.SendBatch(ctx, b)
	require.ErrorIs(t, err, sender.ErrRejected)
	require.ErrorIs(t, err, errorpolicy.ErrResourceLimitExceeded)
	q, _ := srv.Queue("small")
	assert.Zero(t, q.Ready, "none of the batch was stored")
}

func TestBatchStopsAtItsSize(t *testing.T) {
	_, sess := embedded(t, nil)
	s := newTestSender(t, sess, "orders", &sender.Options{BatchFormat: true})

	b, err := s.NewBatch(4096)
	require.NoError(t, err)
	n := fillBatch(t, b, 1000)
	assert.Greater(t, n, 10)
	assert.Less(t, n, 1000, "a 4 KiB batch holds some, not all")
	assert.LessOrEqual(t, b.Size(), uint64(4096))

	empty, err := s.NewBatch(1024)
	require.NoError(t, err)
	_, err = empty.TryAdd(message.New(bytes.Repeat([]byte("x"), 2048)))
	require.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded, "a message that fits no batch is an error, not a false")

	_, err = s.NewBatch(s.MaxMessageSize() + 1)
	require.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "a batch-format batch is one message")
}

// RabbitMQ does not know the batch format, so a batch goes as pipelined singles.
func TestBatchOnRabbitMQIsPipelinedSingles(t *testing.T) {
	c, admin, _ := rabbit(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sess := newSession(t, c)
	ctx := testContext(t)
	s := newTestSender(t, sess, queueAddress(q.Name), nil)

	b, err := s.NewBatch(0)
	require.NoError(t, err)
	require.Equal(t, 100, fillBatch(t, b, 100))
	require.NoError(t, s.SendBatch(ctx, b))
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	assert.Equal(t, 100, admin.WaitReady(wait, q.Name, 100), "counted at the broker")
	assert.Equal(t, numbers(100), receiveN(t, sess, queueAddress(q.Name), 100))
}

// A batch made while the sender has no link (its last one failed, the next is
// not attached yet) still carries its messages intact.
func TestBatchMadeWhileRecoveringIsIntact(t *testing.T) {
	srv, sess := embedded(t, nil)
	ctx := testContext(t)
	s := newTestSender(t, sess, "orders", &sender.Options{BatchFormat: true, Policy: &errorpolicy.Policy{MaxRetries: -1}})

	srv.RefuseAttach("orders", "amqp:resource-locked", "not now")
	srv.DetachLinks("orders", "amqp:link:detach-forced", "fault test")
	require.Eventually(t, func() bool {
		_, err := s.Send(ctx, message.NewText("lost link"))
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the send fails while no link can attach")
	srv.RefuseAttach("orders", "", "")

	b, err := s.NewBatch(0)
	require.NoError(t, err)
	require.Equal(t, 3, fillBatch(t, b, 3))
	require.NoError(t, s.SendBatch(ctx, b))
	assert.Equal(t, numbers(3), receiveN(t, sess, "orders", 3))
}
