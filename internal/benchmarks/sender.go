package benchmarks

import (
	"context"
	"strconv"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/amqplink/amqplink"

	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
)

// SenderScenarios are the send comparisons with raw go-amqp. Each side sends
// benchMessages small messages to its own fresh queue.
func SenderScenarios() []Scenario {
	return []Scenario{
		{"send-async-256", goAMQP, 0, oursSendAsync(256), rawSendAsync(256)},
		{"send-sync", goAMQP, 0, oursSend(nil), rawSend(false)},
		{"send-settled", goAMQP, 0, oursSend(&sender.Options{Mode: sender.Settled}), rawSend(true)},
		// RabbitMQ does not take the batch format, so batches go as pipelined
		// singles here: this measures SendBatch's own cost (report only).
		{"send-batch-100", goAMQP, 0, oursSendBatch(100), rawSendAsync(256)},
	}
}

// Sender runs each send scenario as a sub-benchmark.
func Sender(b *testing.B) {
	for _, sc := range SenderScenarios() {
		if selected(sc.Name) {
			b.Run(sc.Name, sc.Run)
		}
	}
}

// payloads are the bodies both sides send: numbers, made once.
var payloads = func() [][]byte {
	p := make([][]byte, benchMessages)
	for i := range p {
		p[i] = []byte(strconv.Itoa(i))
	}
	return p
}()

// benchSender dials RabbitMQ with dial (nil: AMQP 1.0), begins a session and
// opens a sender on q; the func it returns closes the connection.
func benchSender(b *testing.B, ctx context.Context, dial *amqplink.Options, q string, o *sender.Options) (*sender.Sender, func()) {
	c, err := amqplink.Dial(ctx, brokertest.RabbitMQ(b), dial)
	check(b, err)
	sess, err := c.NewSession(ctx, nil)
	check(b, err)
	s, err := sender.New(ctx, sess, queueAddress(q), o)
	check(b, err)
	return s, func() { _ = c.Close(ctx) }
}

// oursSendAsync pipelines with SendAsync (MaxInFlight window) over AMQP 1.0
// and waits for every receipt.
func oursSendAsync(window int) func(b *testing.B, q string) []time.Duration {
	return oursSendAsyncOn(nil, window)
}

// oursSendAsyncOn is oursSendAsync over the client Dial makes with dial (nil:
// AMQP 1.0).
func oursSendAsyncOn(dial *amqplink.Options, window int) func(b *testing.B, q string) []time.Duration {
	return func(b *testing.B, q string) []time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, closeAll := benchSender(b, ctx, dial, q, &sender.Options{MaxInFlight: window})
		defer closeAll()
		waits := make([]time.Duration, 0, benchMessages)
		receipts := make([]*sender.Receipt, 0, benchMessages)
		for _, p := range payloads {
			start := time.Now()
			r, err := s.SendAsync(ctx, message.New(p))
			check(b, err)
			waits = append(waits, time.Since(start))
			receipts = append(receipts, r)
		}
		for _, r := range receipts {
			_, err := r.Wait(ctx)
			check(b, err)
		}
		check(b, s.Close(ctx))
		return waits
	}
}

// oursSendBatch sends batches of size messages with SendBatch, one batch at a
// time. The latency recorded per message is its batch's time divided evenly.
func oursSendBatch(size int) func(b *testing.B, q string) []time.Duration {
	return func(b *testing.B, q string) []time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, closeAll := benchSender(b, ctx, nil, q, nil)
		defer closeAll()
		waits := make([]time.Duration, 0, benchMessages)
		for start := 0; start < len(payloads); start += size {
			batch, err := s.NewBatch(0)
			check(b, err)
			end := min(start+size, len(payloads))
			for _, p := range payloads[start:end] {
				ok, err := batch.TryAdd(message.New(p))
				check(b, err)
				if !ok {
					b.Fatalf("a batch of %d small messages fits", size)
				}
			}
			t0 := time.Now()
			check(b, s.SendBatch(ctx, batch))
			per := time.Since(t0) / time.Duration(end-start)
			for range end - start {
				waits = append(waits, per)
			}
		}
		check(b, s.Close(ctx))
		return waits
	}
}

// oursSend sends one message at a time, waiting for each outcome (or, in
// Settled mode, for each write).
func oursSend(o *sender.Options) func(b *testing.B, q string) []time.Duration {
	return func(b *testing.B, q string) []time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, closeAll := benchSender(b, ctx, nil, q, o)
		defer closeAll()
		waits := make([]time.Duration, 0, benchMessages)
		for _, p := range payloads {
			start := time.Now()
			_, err := s.Send(ctx, message.New(p))
			check(b, err)
			waits = append(waits, time.Since(start))
		}
		check(b, s.Close(ctx))
		return waits
	}
}

// rawSendAsync is go-amqp's SendWithReceipt with at most window receipts
// awaited at once, the oldest waited for first.
func rawSendAsync(window int) func(b *testing.B, q string) {
	return func(b *testing.B, q string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, sess := rawDial(b)
		defer conn.Close()
		snd, err := sess.NewSender(ctx, queueAddress(q), nil)
		check(b, err)
		ring := make([]amqp.SendReceipt, 0, benchMessages)
		for i, p := range payloads {
			if i >= window {
				_, err := ring[i-window].Wait(ctx)
				check(b, err)
			}
			r, err := snd.SendWithReceipt(ctx, amqp.NewMessage(p), nil)
			check(b, err)
			ring = append(ring, r)
		}
		for _, r := range ring[max(0, len(ring)-window):] {
			_, err := r.Wait(ctx)
			check(b, err)
		}
		_ = sess.Close(ctx)
	}
}

// rawSend is go-amqp's Send, one at a time: unsettled (it waits for the
// outcome) or on a pre-settled link.
func rawSend(settled bool) func(b *testing.B, q string) {
	return func(b *testing.B, q string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, sess := rawDial(b)
		defer conn.Close()
		var o *amqp.SenderOptions
		if settled {
			o = &amqp.SenderOptions{SettlementMode: amqp.SenderSettleModeSettled.Ptr()}
		}
		snd, err := sess.NewSender(ctx, queueAddress(q), o)
		check(b, err)
		for _, p := range payloads {
			check(b, snd.Send(ctx, amqp.NewMessage(p), nil))
		}
		_ = sess.Close(ctx)
	}
}
