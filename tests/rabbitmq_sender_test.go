package tests

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
)

func newSender(t *testing.T, target string, o *sender.Options) *sender.Sender {
	t.Helper()
	c, _, _ := rabbit(t)
	sess := newSession(t, c)
	s, err := sender.New(testContext(t), sess, target, o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// TestSenderAsync20kReachTheQueueExactlyOnce counts at the broker: RabbitMQ
// 3.10 accepts messages it then drops (a missing /amq/queue/X), so an Accepted
// outcome alone proves nothing.
func TestSenderAsync20kReachTheQueueExactlyOnce(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		const total = 20000
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		s := newSender(t, queueAddress(q.Name), nil)
		ctx := testContext(t)
		receipts := make([]*sender.Receipt, 0, total)
		for i := range total {
			r, err := s.SendAsync(ctx, message.NewText(strconv.Itoa(i)))
			require.NoError(t, err)
			receipts = append(receipts, r)
			require.LessOrEqual(t, s.InFlight(), sender.DefaultMaxInFlight)
		}
		for i, r := range receipts {
			o, err := r.Wait(ctx)
			require.NoError(t, err, "message %d", i)
			require.Equal(t, message.Accepted{}, o)
		}
		require.NoError(t, s.Close(ctx))
		assert.Equal(t, total, admin.WaitReady(ctx, q.Name, total), "each one arrived, once")
		assert.Empty(t, s.Pending())
	})
}

func TestSenderRefusesAnOversizedMessageBeforeSending(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		s := newSender(t, queueAddress(q.Name), &sender.Options{MaxMessageSize: 64 << 10})
		ctx := testContext(t)
		_, err := s.Send(ctx, message.New(bytes.Repeat([]byte("x"), 100<<10)))
		require.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded)
		assert.Equal(t, 0, s.InFlight())

		o, err := s.Send(ctx, message.NewText("small"))
		require.NoError(t, err, "the link is unharmed: nothing was sent")
		assert.Equal(t, message.Accepted{}, o)
		assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1))
	})
}

func TestSenderCloseAccountsForEveryMessageInFlight(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		const total = 2000
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		s := newSender(t, queueAddress(q.Name), nil)
		ctx := testContext(t)
		var receipts []*sender.Receipt
		for i := range total {
			r, err := s.SendAsync(ctx, message.NewText(strconv.Itoa(i)))
			require.NoError(t, err)
			receipts = append(receipts, r)
		}
		short, cancel := context.WithTimeout(ctx, 2*time.Millisecond)
		defer cancel()
		closeErr := s.Close(short)

		accepted, unknown := 0, 0
		for _, r := range receipts {
			select {
			case <-r.Done():
			default:
				t.Fatal("after Close every receipt is complete")
			}
			o, err := r.Outcome()
			switch {
			case err == nil && o == (message.Accepted{}):
				accepted++
			case assert.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown):
				unknown++
			}
		}
		assert.Equal(t, total, accepted+unknown)
		assert.Len(t, s.Pending(), unknown, "Pending holds exactly the unknown ones")
		if unknown > 0 {
			assert.ErrorIs(t, closeErr, errorpolicy.ErrOutcomeUnknown)
		} else {
			assert.NoError(t, closeErr)
		}
		ready := admin.WaitReady(ctx, q.Name, total)
		assert.GreaterOrEqual(t, ready, accepted, "every accepted message is in the queue")
		assert.LessOrEqual(t, ready, total)
		t.Logf("accepted %d, unknown %d, in the queue %d", accepted, unknown, ready)
	})
}

// TestSenderReportsEveryOutcomeUnknownWhenRabbitMQDropsTheConnection: RabbitMQ
// 3.10's AMQP 1.0 plugin answers a publish its queue refuses (x-overflow
// reject-publish) by closing the whole connection with amqp:internal-error.
func TestSenderReportsEveryOutcomeUnknownWhenRabbitMQDropsTheConnection(t *testing.T) {
	_, admin, _ := rabbit(t)
	q := admin.NewQueue(brokertest.QueueOptions{Args: map[string]any{
		"x-max-length": int32(10), "x-overflow": "reject-publish",
	}})
	s := newSender(t, queueAddress(q.Name), nil)
	ctx := testContext(t)
	var receipts []*sender.Receipt
	for i := range 200 {
		r, err := s.SendAsync(ctx, message.NewText(strconv.Itoa(i)))
		if err != nil {
			require.ErrorIs(t, err, errorpolicy.ErrConnectionLost, "a send after the drop fails, typed")
			break
		}
		receipts = append(receipts, r)
	}
	accepted, unknown := 0, 0
	for _, r := range receipts {
		o, err := r.Wait(ctx) // never hangs: the test context would end it
		require.NotErrorIs(t, err, context.DeadlineExceeded)
		if err == nil {
			assert.Equal(t, message.Accepted{}, o)
			accepted++
			continue
		}
		require.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown)
		var e *errorpolicy.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, errorpolicy.ScopeConn, scopeOfCause(err), "the cause is the connection's end: %v", err)
		unknown++
	}
	assert.LessOrEqual(t, accepted, 10, "no more than the queue holds")
	assert.Positive(t, unknown)
	t.Logf("accepted %d, unknown %d", accepted, unknown)
}

// Over AMQP 0-9-1 the same refusal is a publisher-confirm nack per message: the
// driver reports each one Rejected, and the connection stays up.
func TestSenderReportsRejectedWhenTheQueueRefusesOverAMQP091(t *testing.T) {
	t.Run("amqp091", func(t *testing.T) {
		_, admin, _ := rabbit(t)
		q := admin.NewQueue(brokertest.QueueOptions{Args: map[string]any{
			"x-max-length": int32(10), "x-overflow": "reject-publish",
		}})
		s := newSender(t, queueAddress(q.Name), nil)
		ctx := testContext(t)
		var receipts []*sender.Receipt
		for i := range 200 {
			r, err := s.SendAsync(ctx, message.NewText(strconv.Itoa(i)))
			require.NoError(t, err)
			receipts = append(receipts, r)
		}
		accepted, rejected := 0, 0
		for _, r := range receipts {
			_, err := r.Wait(ctx)
			if err == nil {
				accepted++
				continue
			}
			require.ErrorIs(t, err, sender.ErrRejected)
			rejected++
		}
		assert.Equal(t, 10, accepted, "exactly what the queue holds")
		assert.Equal(t, 190, rejected)
		assert.Equal(t, 10, admin.WaitReady(ctx, q.Name, 10))
	})
}

// scopeOfCause is the widest scope in err's chain.
func scopeOfCause(err error) errorpolicy.Scope {
	widest := errorpolicy.ScopeNone
	for err != nil {
		if e, ok := err.(*errorpolicy.Error); ok && e.Scope > widest {
			widest = e.Scope
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	return widest
}
