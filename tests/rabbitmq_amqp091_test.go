package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// The AMQP 0-9-1 driver's own behaviour at the broker: what the semantics table
// in the amqp091 package promises.
func TestAMQP091Driver(t *testing.T) {
	t.Run("amqp091", func(t *testing.T) {
		client, admin, _ := rabbit(t)

		t.Run("unknown-queue-costs-one-channel", func(t *testing.T) {
			ctx := testContext(t)
			sess := newSession(t, client)
			_, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress("no-such-queue-" + link.UniqueName("q"))})
			require.ErrorIs(t, err, errorpolicy.ErrNotFound)
			var e *errorpolicy.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, uint16(404), e.ReplyCode)
			q := admin.NewQueue(brokertest.QueueOptions{})
			sendAll(t, sess, queueAddress(q.Name), message.NewText("after the 404"))
			_, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
			text, _ := d.Message.Text()
			assert.Equal(t, "after the 404", text, "the session opened a new channel")
			require.NoError(t, d.Accept(ctx))
		})

		t.Run("unroutable-is-released-with-the-reason", func(t *testing.T) {
			ctx := testContext(t)
			sess := newSession(t, client)
			snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress("nobody-binds-" + link.UniqueName("q"))})
			require.NoError(t, err)
			r, err := snd.Send(ctx, message.NewText("lost?"), false)
			require.NoError(t, err)
			o, err := r.Wait(ctx)
			require.NoError(t, err)
			assert.Equal(t, message.Released{Reason: "NO_ROUTE (312)"}, o)
		})

		t.Run("missing-exchange-is-not-found", func(t *testing.T) {
			ctx := testContext(t)
			sess := newSession(t, client)
			snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: "/exchange/no-such-exchange/k"})
			require.NoError(t, err)
			r, err := snd.Send(ctx, message.NewText("x"), false)
			if err == nil {
				_, err = r.Wait(ctx)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown, "the channel closed before a confirm: %v", err)
			var e *errorpolicy.Error
			require.ErrorAs(t, err, &e)
			assert.ErrorIs(t, e.Err, errorpolicy.ErrNotFound, "the cause is the broker's 404")
		})

		t.Run("close-requeues-the-prefetched", func(t *testing.T) {
			ctx := testContext(t)
			q := admin.NewQueue(brokertest.QueueOptions{})
			admin.Publish(q.Name, 0, 50)
			sess := newSession(t, client)
			rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, err)
			require.NoError(t, rcv.IssueCredit(10))
			d, err := rcv.Receive(ctx)
			require.NoError(t, err)
			require.NoError(t, d.Accept(ctx))
			assert.Equal(t, 39, admin.WaitReady(ctx, q.Name, 39), "10 prefetched, one of them taken")
			require.NoError(t, rcv.Close(ctx))
			assert.Equal(t, 49, admin.WaitReady(ctx, q.Name, 49), "the 9 never handed out went back")
		})

		t.Run("drain-requeues-beyond-the-credit", func(t *testing.T) {
			ctx := testContext(t)
			q := admin.NewQueue(brokertest.QueueOptions{})
			admin.Publish(q.Name, 0, 50)
			sess := newSession(t, client)
			rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, err)
			closeAtCleanup(t, rcv.Close)
			require.NoError(t, rcv.IssueCredit(10))
			var taken []*message.Delivery
			for range 4 {
				d, err := rcv.Receive(ctx)
				require.NoError(t, err)
				taken = append(taken, d)
			}
			for _, d := range taken {
				require.NoError(t, d.Accept(ctx)) // frees four prefetch slots: the broker sends four more
			}
			assert.Equal(t, 36, admin.WaitReady(ctx, q.Name, 36))
			require.NoError(t, rcv.(link.Drainer).Drain(ctx))
			n := 0
			for {
				d, err := rcv.Receive(doneCtx)
				if err != nil {
					break
				}
				n++
				require.NoError(t, d.Accept(ctx))
			}
			assert.Equal(t, 6, n, "the credit left after four of ten")
			assert.Equal(t, 40, admin.WaitReady(ctx, q.Name, 40), "the four sent beyond the credit went back")
		})

		t.Run("deleted-queue-ends-the-receiver", func(t *testing.T) {
			ctx := testContext(t)
			q := admin.NewQueue(brokertest.QueueOptions{})
			sess := newSession(t, client)
			rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, err)
			closeAtCleanup(t, rcv.Close)
			require.NoError(t, rcv.IssueCredit(10))
			time.Sleep(100 * time.Millisecond) // the consumer starts in the background
			admin.Delete(q.Name)
			_, err = rcv.Receive(ctx)
			assert.ErrorIs(t, err, errorpolicy.ErrDetachForced)
		})
	})
}

// doneCtx is an ended context: Receive with it returns only what is buffered.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// A receiver on an exchange address consumes from a server-named queue of its
// own; a drain must not cost it that queue, and Close deletes it.
func TestAMQP091ExchangeReceiverSurvivesDrain(t *testing.T) {
	t.Run("amqp091", func(t *testing.T) {
		client, _, _ := rabbit(t)
		ctx := testContext(t)
		sess := newSession(t, client)
		key := link.UniqueName("k")
		rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: "/exchange/amq.direct/" + key})
		require.NoError(t, err)
		require.NoError(t, rcv.IssueCredit(5))
		require.NoError(t, rcv.(link.Drainer).Drain(ctx))
		require.NoError(t, rcv.IssueCredit(5))
		sendAll(t, sess, "/exchange/amq.direct/"+key, message.NewText("after the drain"))
		d, err := rcv.Receive(ctx)
		require.NoError(t, err)
		text, _ := d.Message.Text()
		assert.Equal(t, "after the drain", text)
		require.NoError(t, d.Accept(ctx))
		require.NoError(t, rcv.Close(ctx))
		snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: "/exchange/amq.direct/" + key})
		require.NoError(t, err)
		r, err := snd.Send(ctx, message.NewText("nobody listens"), false)
		require.NoError(t, err)
		o, err := r.Wait(ctx)
		require.NoError(t, err)
		assert.Equal(t, message.Released{Reason: "NO_ROUTE (312)"}, o, "Close deleted the link's queue")
	})
}
