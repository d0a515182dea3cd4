package tests

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
)

// TestWriteCoalescingOnAndOff moves the same pipelined messages through each
// driver with its writes coalesced (the default) and frame by frame: every
// message is accepted, arrives once and in order, and the acks of the PeekLock
// receiver leave the queue empty at the broker.
func TestWriteCoalescingOnAndOff(t *testing.T) {
	const n = 2000
	forEachProtocol(t, func(t *testing.T) {
		for _, off := range []bool{false, true} {
			t.Run(fmt.Sprintf("NoWriteCoalescing=%v", off), func(t *testing.T) {
				ctx := testContext(t)
				url := brokertest.RabbitMQ(t)
				admin := brokertest.NewAdmin(t, url)
				q := admin.NewQueue(brokertest.QueueOptions{})
				c := dialWith(t, url, &amqplink.Options{
					AMQP10:  &amqp10.Options{NoWriteCoalescing: off},
					AMQP091: &amqp091.Options{NoWriteCoalescing: off},
				})
				sess := newSession(t, c)

				snd, err := sender.New(ctx, sess, queueAddress(q.Name), nil)
				require.NoError(t, err)
				receipts := make([]*sender.Receipt, 0, n)
				for i := range n {
					r, err := snd.SendAsync(ctx, message.New([]byte(strconv.Itoa(i))))
					require.NoError(t, err)
					receipts = append(receipts, r)
				}
				for i, r := range receipts {
					out, err := r.Wait(ctx)
					require.NoError(t, err, "message %d", i)
					require.Equal(t, message.Accepted{}, out, "message %d", i)
				}
				require.NoError(t, snd.Close(ctx))
				require.Equal(t, n, admin.WaitReady(ctx, q.Name, n))

				rcv, err := receiver.New(ctx, sess, queueAddress(q.Name), &receiver.Options{Prefetch: 100})
				require.NoError(t, err)
				for i := range n {
					d, err := rcv.Receive(ctx)
					require.NoError(t, err)
					body, err := d.Message.Bytes()
					require.NoError(t, err)
					require.Equal(t, strconv.Itoa(i), string(body))
					require.NoError(t, d.Accept(ctx))
				}
				require.NoError(t, rcv.Close(ctx))
				// Close ends the consumer after the broker has taken its acks: a
				// lost ack would show as unacknowledged, or back in the queue.
				require.Equal(t, 0, admin.Unacked(q.Name))
				require.Equal(t, 0, admin.Ready(q.Name))
			})
		}
	})
}
