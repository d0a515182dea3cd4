package benchmarks

import (
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/receiver"
)

// amqp091Go is the baseline of the AMQP 0-9-1 comparisons.
const amqp091Go = "amqp091-go"

// overAMQP091 makes amqplink.Dial choose the AMQP 0-9-1 driver.
var overAMQP091 = &amqplink.Options{Protocol: amqplink.AMQP091}

// AMQP091Scenarios are the comparisons of amqplink over its AMQP 0-9-1 driver
// with raw amqp091-go: ours goes through the same receiver and sender as the
// AMQP 1.0 scenarios, only Dial's Protocol differs. Each side moves
// benchMessages small messages through its own fresh queue.
func AMQP091Scenarios() []Scenario {
	return []Scenario{
		// Publisher confirms, 256 in flight. Both sides publish mandatory (ours
		// does, to report unroutable messages as Released) and transient.
		{"pub-confirm-256", amqp091Go, 0, oursSendAsyncOn(overAMQP091, 256), rawPublishConfirm(256)},
		// Manual acknowledgement, prefetch 300, one ack per message.
		{"consume-ack-300", amqp091Go, benchMessages,
			oursRunOn(overAMQP091, &receiver.Options{Prefetch: 300}), rawConsume(300, false)},
		// No-ack consumers; RabbitMQ ignores the prefetch count for them.
		{"consume-autoack", amqp091Go, benchMessages,
			oursRunOn(overAMQP091, &receiver.Options{Prefetch: 300, Mode: receiver.ReceiveAndDelete}), rawConsume(0, true)},
	}
}

// AMQP091 runs each AMQP 0-9-1 scenario as a sub-benchmark.
func AMQP091(b *testing.B) {
	for _, sc := range AMQP091Scenarios() {
		if selected(sc.Name) {
			b.Run(sc.Name, sc.Run)
		}
	}
}

// rawDial091 connects with amqp091-go and opens a channel.
func rawDial091(b *testing.B) (*amqp091.Connection, *amqp091.Channel) {
	conn, err := amqp091.Dial(brokertest.RabbitMQ(b))
	check(b, err)
	ch, err := conn.Channel()
	check(b, err)
	return conn, ch
}

// rawPublishConfirm is amqp091-go in confirm mode: PublishWithDeferredConfirm
// with at most window confirms outstanding, the oldest waited for first.
func rawPublishConfirm(window int) func(b *testing.B, q string) {
	return func(b *testing.B, q string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, ch := rawDial091(b)
		defer conn.Close()
		check(b, ch.Confirm(false))
		wait := func(dc *amqp091.DeferredConfirmation) {
			acked, err := dc.WaitContext(ctx)
			check(b, err)
			if !acked {
				b.Fatal("the broker nacked a publish")
			}
		}
		ring := make([]*amqp091.DeferredConfirmation, 0, benchMessages)
		for i, p := range payloads {
			if i >= window {
				wait(ring[i-window])
			}
			dc, err := ch.PublishWithDeferredConfirm("", q, true, false,
				amqp091.Publishing{DeliveryMode: amqp091.Transient, Body: p})
			check(b, err)
			ring = append(ring, dc)
		}
		for _, dc := range ring[max(0, len(ring)-window):] {
			wait(dc)
		}
		_ = ch.Close()
	}
}

// rawConsume is an amqp091-go consumer: with autoAck a no-ack consumer,
// otherwise basic.qos(prefetch) and one basic.ack per delivery.
func rawConsume(prefetch int, autoAck bool) func(b *testing.B, q string) {
	return func(b *testing.B, q string) {
		conn, ch := rawDial091(b)
		defer conn.Close()
		if !autoAck {
			check(b, ch.Qos(prefetch, 0, false))
		}
		deliveries, err := ch.Consume(q, "", autoAck, false, false, false, nil)
		check(b, err)
		timeout := time.NewTimer(time.Minute)
		defer timeout.Stop()
		for range benchMessages {
			select {
			case d, ok := <-deliveries:
				if !ok {
					b.Fatal("the consumer's deliveries ended")
				}
				if !autoAck {
					check(b, d.Ack(false))
				}
			case <-timeout.C:
				b.Fatal("amqp091-go consumer: timed out")
			}
		}
		_ = ch.Close()
	}
}
