// Send pipelines messages to a queue with SendAsync and reports each one's
// fate: how many were accepted, and any that were not.
//
//	AMQPLINK_URL=amqp://guest:guest@127.0.0.1:5672 go run ./examples/send
//
// AMQPLINK_URL defaults to the local RabbitMQ that scripts/brokers.sh starts;
// AMQPLINK_ADDRESS defaults to /queue/amqplink-send (RabbitMQ declares it);
// AMQPLINK_COUNT defaults to 10000. The messages stay in the queue.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
)

func main() {
	url := envOr("AMQPLINK_URL", "amqp://guest:guest@127.0.0.1:5672")
	address := envOr("AMQPLINK_ADDRESS", "/queue/amqplink-send")
	count, err := strconv.Atoi(envOr("AMQPLINK_COUNT", "10000"))
	if err != nil || count < 1 {
		log.Fatalf("send: AMQPLINK_COUNT must be a positive number")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, url, address, count); err != nil {
		if errors.Is(err, errorpolicy.ErrDialFailed) {
			log.Fatalf("send: %v\nno broker answers; start one with `scripts/brokers.sh start` or set AMQPLINK_URL", err)
		}
		log.Fatalf("send: %v", err)
	}
}

func run(ctx context.Context, url, address string, count int) error {
	client, err := amqplink.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer client.Close(ctx)
	sess, err := client.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)

	snd, err := sender.New(ctx, sess, address, &sender.Options{MaxInFlight: 256})
	if err != nil {
		return err
	}
	start := time.Now()
	receipts := make([]*sender.Receipt, 0, count)
	for i := range count {
		m := message.NewText(fmt.Sprintf("order %d", i))
		m.ApplicationProperties = map[string]any{"n": int64(i)}
		r, err := snd.SendAsync(ctx, m) // waits only while 256 await their outcome
		if err != nil {
			return fmt.Errorf("handing message %d to the link: %w", i, err)
		}
		receipts = append(receipts, r)
	}
	accepted := 0
	for i, r := range receipts {
		switch _, err := r.Wait(ctx); {
		case err == nil:
			accepted++
		case errors.Is(err, sender.ErrRejected), errors.Is(err, sender.ErrReleased), errors.Is(err, sender.ErrModified):
			fmt.Printf("message %d: the broker said %v\n", i, err)
		default:
			fmt.Printf("message %d: outcome unknown: %v\n", i, err)
		}
	}
	if err := snd.Close(ctx); err != nil {
		return fmt.Errorf("closing: %w (%d messages pending)", err, len(snd.Pending()))
	}
	elapsed := time.Since(start)
	fmt.Printf("sent %d messages to %s in %v (%.0f msg/s): %d accepted\n",
		count, address, elapsed.Round(time.Millisecond), float64(count)/elapsed.Seconds(), accepted)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
