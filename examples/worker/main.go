// Worker sends 1,000 messages to a queue, then handles them with Run and eight
// concurrent handlers; a handler's nil return accepts its message.
//
//	AMQPLINK_URL=amqp://guest:guest@127.0.0.1:5672 go run ./examples/worker
//
// AMQPLINK_URL defaults to the local RabbitMQ that scripts/brokers.sh starts.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
)

const address, total = "/queue/amqplink-worker", 1000

func main() {
	url := os.Getenv("AMQPLINK_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, url); err != nil {
		log.Fatalf("worker: %v", err)
	}
}

func run(ctx context.Context, url string) error {
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

	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: address, SettleMode: link.SenderSettled})
	if err != nil {
		return err
	}
	for i := range total {
		if _, err := snd.Send(ctx, message.NewText(fmt.Sprint(i)), true); err != nil {
			return err
		}
	}

	rcv, err := receiver.New(ctx, sess, address, &receiver.Options{Prefetch: 100, Concurrency: 8})
	if err != nil {
		return err
	}
	defer rcv.Close(ctx)

	var handled atomic.Int64
	runCtx, stop := context.WithCancel(ctx)
	start := time.Now()
	err = rcv.Run(runCtx, func(ctx context.Context, d *message.Delivery) error {
		if handled.Add(1) == total {
			stop()
		}
		return nil // accept
	})
	if err != nil && runCtx.Err() == nil {
		return err
	}
	s := rcv.Stats()
	fmt.Printf("handled %d messages in %v with 8 handlers (received %d, settled %d)\n",
		handled.Load(), time.Since(start).Round(time.Millisecond), s.Received, s.Settled)
	return nil
}
