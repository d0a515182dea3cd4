// Backpressure shows credit reset: the receiver pauses with ResetCredit(0), the
// broker keeps the rest of the queue, and ResetCredit(n) resumes delivery.
//
//	AMQPLINK_URL=amqp://guest:guest@127.0.0.1:5672 go run ./examples/backpressure
//
// AMQPLINK_URL defaults to the local RabbitMQ that scripts/brokers.sh starts.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
)

const address, total = "/queue/amqplink-backpressure", 200

func main() {
	url := os.Getenv("AMQPLINK_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, url); err != nil {
		log.Fatalf("backpressure: %v", err)
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

	rcv, err := receiver.New(ctx, sess, address, &receiver.Options{Prefetch: 20})
	if err != nil {
		return err
	}
	defer rcv.Close(ctx)

	// Pause: what was already granted still arrives, then nothing.
	if err := rcv.ResetCredit(ctx, 0, false); err != nil {
		return err
	}
	before := receiveFor(ctx, rcv, 300*time.Millisecond)
	fmt.Printf("paused: received %d, then nothing for 300ms (stats: %+v)\n", before, rcv.Stats())

	// Resume with a window of 20.
	if err := rcv.ResetCredit(ctx, 20, false); err != nil {
		return err
	}
	after := receiveFor(ctx, rcv, 300*time.Millisecond)
	fmt.Printf("resumed: received %d more; %d in all\n", after, before+after)
	return nil
}

// receiveFor accepts messages until none arrives for quiet.
func receiveFor(ctx context.Context, rcv *receiver.Receiver, quiet time.Duration) int {
	n := 0
	for {
		wait, cancel := context.WithTimeout(ctx, quiet)
		d, err := rcv.Receive(wait)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return n
		}
		if err != nil {
			log.Printf("receive: %v", err)
			return n
		}
		if err := d.Accept(ctx); err != nil {
			log.Printf("accept: %v", err)
		}
		n++
	}
}
