package tests

import (
	"context"
	"strconv"
	"testing"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
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

// BenchmarkSendInProcess sends to the in-process amqptest broker with 256
// messages awaiting their outcome at once, through amqplink's sender and
// through raw go-amqp: how fast the broker takes messages, and what amqplink
// adds per message.
func BenchmarkSendInProcess(b *testing.B) {
	payload := []byte("payload")
	b.Run("amqplink", func(b *testing.B) {
		srv := amqptest.NewServer(nil)
		defer srv.Close()
		ctx := context.Background()
		c, err := amqplink.Dial(ctx, srv.URL(), nil)
		require.NoError(b, err)
		defer c.Close(ctx)
		sess, err := c.NewSession(ctx, nil)
		require.NoError(b, err)
		s, err := sender.New(ctx, sess, "bench", &sender.Options{MaxInFlight: 256})
		require.NoError(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := s.SendAsync(ctx, message.New(payload)); err != nil {
				b.Fatal(err)
			}
		}
		require.NoError(b, s.Close(ctx))
	})
	b.Run("go-amqp", func(b *testing.B) {
		srv := amqptest.NewServer(nil)
		defer srv.Close()
		ctx := context.Background()
		c, err := amqp.Dial(ctx, srv.URL(), nil)
		require.NoError(b, err)
		defer c.Close()
		sess, err := c.NewSession(ctx, nil)
		require.NoError(b, err)
		snd, err := sess.NewSender(ctx, "bench", nil)
		require.NoError(b, err)
		window := make([]amqp.SendReceipt, 0, 256)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if len(window) == cap(window) {
				if _, err := window[0].Wait(ctx); err != nil {
					b.Fatal(err)
				}
				window = append(window[:0], window[1:]...)
			}
			r, err := snd.SendWithReceipt(ctx, amqp.NewMessage(payload), nil)
			if err != nil {
				b.Fatal(err)
			}
			window = append(window, r)
		}
		for _, r := range window {
			if _, err := r.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSendBatchInProcess sends batches of 100 in the batch message format
// (one transfer, one outcome each) to the embedded broker, which splits them as
// Service Bus does; compare with BenchmarkSendInProcess's single messages. One
// op is one message.
func BenchmarkSendBatchInProcess(b *testing.B) {
	const size = 100
	payload := []byte("payload")
	srv := amqptest.NewServer(nil)
	defer srv.Close()
	ctx := context.Background()
	c, err := amqplink.Dial(ctx, srv.URL(), nil)
	require.NoError(b, err)
	defer c.Close(ctx)
	sess, err := c.NewSession(ctx, nil)
	require.NoError(b, err)
	s, err := sender.New(ctx, sess, "bench", &sender.Options{BatchFormat: true})
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		batch, err := s.NewBatch(0)
		require.NoError(b, err)
		for i := 0; i < size && sent < b.N; i++ {
			if ok, err := batch.TryAdd(message.New(payload)); err != nil || !ok {
				b.Fatal("a small message did not fit", err)
			}
			sent++
		}
		if err := s.SendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	require.NoError(b, s.Close(ctx))
	q, _ := srv.Queue("bench")
	require.Equal(b, b.N, q.Ready, "every message arrived")
}
