package amqplink_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Send a message and receive it back with PeekLock.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	client, err := amqplink.Dial(ctx, "amqp://guest:guest@127.0.0.1:5672", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)

	sess, err := client.NewSession(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close(ctx) // closes every link opened through sess

	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: "/queue/example"})
	if err != nil {
		log.Fatal(err)
	}
	receipt, err := snd.Send(ctx, message.NewText("hello"), false)
	if err != nil {
		log.Fatal(err)
	}
	outcome, err := receipt.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent:", outcome)

	rcv, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: "/queue/example"})
	if err != nil {
		log.Fatal(err)
	}
	if err := rcv.IssueCredit(1); err != nil {
		log.Fatal(err)
	}
	d, err := rcv.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	text, _ := d.Message.Text()
	fmt.Println("received:", text)
	if err := d.Accept(ctx); err != nil {
		log.Fatal(err)
	}
}

// Errors are typed: tell a bad URL from a refused connection from refused
// credentials, whichever protocol is in use.
func ExampleDial_errors() {
	ctx := context.Background()
	_, err := amqplink.Dial(ctx, "amqp://guest:guest@127.0.0.1:99999", nil)

	var urlErr *errorpolicy.URLError
	switch {
	case errors.As(err, &urlErr):
		fmt.Println("bad URL, part:", urlErr.Part)
	case errors.Is(err, errorpolicy.ErrDialFailed):
		fmt.Println("no broker there")
	case errors.Is(err, errorpolicy.ErrUnauthorized):
		fmt.Println("wrong credentials")
	}
	// Output: bad URL, part: port
}
