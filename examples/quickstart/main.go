// Quickstart sends three messages to a queue and receives them with PeekLock,
// accepting each one.
//
//	go run ./examples/quickstart                                                  # embedded broker
//	AMQPLINK_URL=amqp://guest:guest@127.0.0.1:5672 go run ./examples/quickstart   # a real one
//
// Without AMQPLINK_URL it starts amqptest's in-process broker and talks to it
// over loopback. AMQPLINK_ADDRESS defaults to /queue/amqplink-quickstart (which
// RabbitMQ declares, and amqptest creates).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

func main() {
	url := os.Getenv("AMQPLINK_URL")
	if url == "" {
		srv := amqptest.NewServer(nil)
		defer srv.Close()
		url = srv.URL()
		fmt.Printf("no AMQPLINK_URL: using the embedded broker at %s\n", url)
	}
	address := envOr("AMQPLINK_ADDRESS", "/queue/amqplink-quickstart")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, url, address); err != nil {
		if errors.Is(err, errorpolicy.ErrDialFailed) {
			log.Fatalf("quickstart: %v\nno broker answers at AMQPLINK_URL; unset it to use the embedded broker", err)
		}
		log.Fatalf("quickstart: %v", err)
	}
}

func run(ctx context.Context, url, address string) error {
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

	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: address})
	if err != nil {
		return err
	}
	const n = 3
	for i := range n {
		receipt, err := snd.Send(ctx, message.NewText(fmt.Sprintf("hello %d", i+1)), false)
		if err != nil {
			return err
		}
		outcome, err := receipt.Wait(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("sent     hello %d: %s\n", i+1, outcome)
	}

	// PeekLock: the default receiver mode. Each delivery stays locked until it is
	// settled; here, accepted.
	rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: address})
	if err != nil {
		return err
	}
	if err := rcv.IssueCredit(n); err != nil {
		return err
	}
	for range n {
		d, err := rcv.Receive(ctx)
		if err != nil {
			return err
		}
		text, err := d.Message.Text()
		if err != nil {
			return err
		}
		if err := d.Accept(ctx); err != nil {
			return err
		}
		fmt.Printf("received %s: accepted\n", text)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
