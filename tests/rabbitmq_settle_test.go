package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Every settle-mode combination RabbitMQ 3.10 supports moves a message end to end.
func TestRabbitMQSettleModes(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		client, admin, _ := rabbit(t)
		for _, sndMode := range []link.SenderSettleMode{link.SenderUnsettled, link.SenderSettled, link.SenderMixed} {
			for _, rcvMode := range []link.SenderSettleMode{link.SenderUnsettled, link.SenderSettled, link.SenderMixed} {
				t.Run(fmt.Sprintf("sender-%s/receiver-requests-%s", sndMode, rcvMode), func(t *testing.T) {
					ctx := testContext(t)
					q := admin.NewQueue(brokertest.QueueOptions{})
					sess := newSession(t, client)

					snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress(q.Name), SettleMode: sndMode})
					require.NoError(t, err)
					settled := sndMode == link.SenderSettled || sndMode == link.SenderMixed
					r, err := snd.Send(ctx, message.NewText("mode test"), settled)
					require.NoError(t, err)
					out, err := r.Wait(ctx)
					require.NoError(t, err)
					require.Equal(t, message.Accepted{}, out)
					require.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "the message reached the queue")

					rcv, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name), SenderSettle: rcvMode})
					text, err := d.Message.Text()
					require.NoError(t, err)
					assert.Equal(t, "mode test", text)
					if rcvMode == link.SenderSettled {
						assert.True(t, d.Presettled)
						assert.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrAlreadySettled, "a receive-and-delete delivery cannot be settled again")
					} else {
						require.NoError(t, d.Accept(ctx))
						assert.ErrorIs(t, d.Accept(ctx), errorpolicy.ErrAlreadySettled)
					}
					require.NoError(t, rcv.Close(ctx))
					assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0), "the message is gone from the queue")
					assert.Equal(t, 0, admin.Ready(q.Name))
				})
			}
		}
	})
}

// Each outcome has its effect at the broker: accepted → gone, released → back,
// rejected → dropped, or dead-lettered when the queue has a dead-letter exchange.
func TestRabbitMQOutcomesAtBroker(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		client, admin, _ := rabbit(t)

		settle := func(t *testing.T, q brokertest.Queue, o message.Outcome) *message.Delivery {
			ctx := testContext(t)
			sess := newSession(t, client)
			sendAll(t, sess, queueAddress(q.Name), message.NewText("outcome "+o.String()))
			require.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1))
			rcv, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
			assert.Equal(t, 0, admin.Ready(q.Name), "the delivery is held by the receiver, not ready")
			require.NoError(t, d.Settle(ctx, o))
			require.NoError(t, rcv.Close(ctx))
			return d
		}

		t.Run("accepted", func(t *testing.T) {
			q := admin.NewQueue(brokertest.QueueOptions{})
			settle(t, q, message.Accepted{})
			ctx := testContext(t)
			assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0))
			time.Sleep(200 * time.Millisecond) // nothing may come back late
			assert.Equal(t, 0, admin.Ready(q.Name))
		})
		t.Run("released", func(t *testing.T) {
			q := admin.NewQueue(brokertest.QueueOptions{})
			settle(t, q, message.Released{})
			ctx := testContext(t)
			require.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "a released message returns to the queue")
			sess := newSession(t, client)
			_, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
			text, _ := d.Message.Text()
			assert.Equal(t, "outcome released", text)
			require.NoError(t, d.Accept(ctx))
		})
		t.Run("rejected", func(t *testing.T) {
			q := admin.NewQueue(brokertest.QueueOptions{})
			settle(t, q, message.Rejected{Condition: "amqp:precondition-failed", Description: "bad order"})
			ctx := testContext(t)
			assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0))
			time.Sleep(200 * time.Millisecond)
			assert.Equal(t, 0, admin.Ready(q.Name), "a rejected message is dropped")
		})
		t.Run("rejected-dead-lettered", func(t *testing.T) {
			q := admin.NewQueue(brokertest.QueueOptions{DeadLetter: true})
			settle(t, q, message.Rejected{})
			ctx := testContext(t)
			assert.Equal(t, 0, admin.WaitReady(ctx, q.Name, 0))
			require.Equal(t, 1, admin.WaitReady(ctx, q.DeadLetter, 1), "a rejected message moves to the dead-letter queue")
			sess := newSession(t, client)
			_, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.DeadLetter)})
			text, _ := d.Message.Text()
			assert.Equal(t, "outcome rejected", text)
			require.NoError(t, d.Accept(ctx))
		})
	})
}

// Closing a session releases what its receivers held unsettled: the broker puts
// the messages back.
func TestRabbitMQSessionCloseReturnsUnsettled(t *testing.T) {
	forEachProtocol(t, func(t *testing.T) {
		client, admin, _ := rabbit(t)
		ctx := testContext(t)
		q := admin.NewQueue(brokertest.QueueOptions{})
		sess := newSession(t, client)
		sendAll(t, sess, queueAddress(q.Name), message.NewText("a"), message.NewText("b"))

		rsess, err := client.NewSession(ctx, nil)
		require.NoError(t, err)
		rcv, err := rsess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
		require.NoError(t, err)
		require.NoError(t, rcv.IssueCredit(2))
		for range 2 {
			_, err := rcv.Receive(ctx)
			require.NoError(t, err)
		}
		require.Equal(t, 0, admin.Ready(q.Name))

		start := time.Now()
		require.NoError(t, rsess.Close(ctx))
		assert.Less(t, time.Since(start), 5*time.Second, "closing a session must not wait out the deadline")
		assert.Equal(t, 2, admin.WaitReady(ctx, q.Name, 2), "unsettled deliveries return to the queue")

		_, err = rsess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
		assert.ErrorIs(t, err, errorpolicy.ErrClosed)
	})
}
