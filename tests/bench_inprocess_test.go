package tests

import (
	"context"
	"strconv"
	"testing"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
)

// BenchmarkReceiveInProcess receives and accepts messages from the in-process
// amqptest broker, through amqplink's receiver and through raw go-amqp (manual
// credit 300, topped up at half), over loopback TCP and (the -pipe variants)
// over amqptest's in-memory pipe. Run with -benchmem: allocs/op is per message,
// and the broker's own allocations count on both sides alike, so the
// difference is what amqplink's layers add.
func BenchmarkReceiveInProcess(b *testing.B) {
	for _, pipe := range []bool{false, true} {
		b.Run(transportName("amqplink", pipe), func(b *testing.B) { benchReceiveAmqplink(b, pipe) })
		b.Run(transportName("go-amqp", pipe), func(b *testing.B) { benchReceiveGoAMQP(b, pipe) })
	}
}

func benchReceiveAmqplink(b *testing.B, pipe bool) {
	srv := fill(b)
	ctx := context.Background()
	c, err := dialInProcess(ctx, srv, pipe)
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
}

func benchReceiveGoAMQP(b *testing.B, pipe bool) {
	srv := fill(b)
	ctx := context.Background()
	c, err := dialGoAMQP(ctx, srv, pipe)
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

// transportName names a sub-benchmark: name over TCP, name-pipe over a pipe.
func transportName(name string, pipe bool) string {
	if pipe {
		return name + "-pipe"
	}
	return name
}

// dialInProcess connects amqplink to srv over loopback TCP or over a pipe.
func dialInProcess(ctx context.Context, srv *amqptest.Server, pipe bool) (*amqplink.Client, error) {
	var o *amqplink.Options
	if pipe {
		o = &amqplink.Options{AMQP10: &amqp10.Options{Dial: srv.Dial}}
	}
	return amqplink.Dial(ctx, srv.URL(), o)
}

// dialGoAMQP connects raw go-amqp to srv over loopback TCP or over a pipe.
func dialGoAMQP(ctx context.Context, srv *amqptest.Server, pipe bool) (*amqp.Conn, error) {
	if pipe {
		return amqp.NewConn(ctx, srv.Pipe(), nil)
	}
	return amqp.Dial(ctx, srv.URL(), nil)
}

// BenchmarkSendInProcess sends to the in-process amqptest broker with 256
// messages awaiting their outcome at once, through amqplink's sender and
// through raw go-amqp, over loopback TCP and (the -pipe variants) over
// amqptest's in-memory pipe: how fast the broker takes messages, and what
// amqplink adds per message.
func BenchmarkSendInProcess(b *testing.B) {
	for _, pipe := range []bool{false, true} {
		b.Run(transportName("amqplink", pipe), func(b *testing.B) { benchSendAmqplink(b, pipe) })
		b.Run(transportName("go-amqp", pipe), func(b *testing.B) { benchSendGoAMQP(b, pipe) })
	}
}

func benchSendAmqplink(b *testing.B, pipe bool) {
	payload := []byte("payload")
	srv := amqptest.NewServer(nil)
	defer srv.Close()
	ctx := context.Background()
	c, err := dialInProcess(ctx, srv, pipe)
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
}

func benchSendGoAMQP(b *testing.B, pipe bool) {
	payload := []byte("payload")
	srv := amqptest.NewServer(nil)
	defer srv.Close()
	ctx := context.Background()
	c, err := dialGoAMQP(ctx, srv, pipe)
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
