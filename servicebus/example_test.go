package servicebus_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/servicebus"
)

// Receive with PeekLock from a Service Bus style queue (here amqptest's),
// renewing the lock, then peek at what is left.
func ExampleReceiver() {
	srv := amqptest.NewServer(nil)
	defer srv.Close()
	srv.CreateQueue("orders", &amqptest.QueueOptions{LockDuration: 2 * time.Second})
	srv.Put("orders", []byte("order 1"))
	srv.Put("orders", []byte("order 2"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := amqplink.Dial(ctx, srv.URL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(ctx)
	sess, err := client.NewSession(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	rcv, err := servicebus.NewReceiver(ctx, sess, "orders", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer rcv.Close(ctx)

	d, err := rcv.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Work that takes longer than the lock duration renews the lock (or lets Run
	// do it: ReceiverOptions.AutoRenewLock).
	if _, err := rcv.RenewLock(ctx, d); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("handled %s\n", d.Message.Body.Data[0])
	if err := d.Accept(ctx); err != nil { // completes the message
		log.Fatal(err)
	}

	left, err := rcv.Management().Peek(ctx, 0, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range left {
		seq, _ := servicebus.SequenceNumber(m)
		fmt.Printf("still queued: #%d %s\n", seq, m.Body.Data[0])
	}
	// Output:
	// handled order 1
	// still queued: #2 order 2
}
