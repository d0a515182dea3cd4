package tests

import (
	"context"
	"strconv"
	"testing"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/receiver"
)

// BenchmarkReceiveInProcess receives and accepts messages from the in-process
// amqptest broker, through amqplink's receiver and through raw go-amqp (manual
// credit 300, topped up at half). Run with -benchmem: allocs/op is per message,
// and the broker's own allocations count on both sides alike, so the
// difference is what amqplink's layers add.
func BenchmarkReceiveInProcess(b *testing.B) {
	b.Run("amqplink", func(b *testing.B) {
		srv := fill(b)
		ctx := context.Background()
		c, err := amqplink.Dial(ctx, srv.URL(), nil)
		require.NoError(b, err)
		defer c.Close(ctx)
		sess, err := c.NewSession(ctx, nil)
		require.NoError(b, err)
		r, err := receiver.New(ctx, sess, "bench", &receiver.Options{Prefetch: 300})
		require.NoError(b, err)
		defer r.Close(ctx)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			d, err := r.Receive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Accept(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-amqp", func(b *testing.B) {
		srv := fill(b)
		ctx := context.Background()
		c, err := amqp.Dial(ctx, srv.URL(), nil)
		require.NoError(b, err)
		defer c.Close()
		sess, err := c.NewSession(ctx, nil)
		require.NoError(b, err)
		rcv, err := sess.NewReceiver(ctx, "bench", &amqp.ReceiverOptions{Credit: -1})
		require.NoError(b, err)
		require.NoError(b, rcv.IssueCredit(300))
		used := 0
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			m, err := rcv.Receive(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := rcv.AcceptMessage(ctx, m); err != nil {
				b.Fatal(err)
			}
			if used++; used >= 150 {
				_ = rcv.IssueCredit(uint32(used))
				used = 0
			}
		}
	})
}

// fill starts a broker whose queue "bench" holds b.N messages.
func fill(b *testing.B) *amqptest.Server {
	srv := amqptest.NewServer(nil)
	b.Cleanup(srv.Close)
	for i := range b.N {
		srv.Put("bench", []byte(strconv.Itoa(i)))
	}
	return srv
}
