// Servicebus sends a batch of messages to a Service Bus style queue, peeks at
// them, and receives them with PeekLock, renewing one lock on the way. Every
// link is authorized with claims-based security (a SAS token put on $cbs,
// refreshed before it expires).
//
//	go run ./examples/servicebus                                              # embedded broker
//	AMQPLINK_CONNECTION_STRING='Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…;EntityPath=orders' \
//	    go run ./examples/servicebus                                          # Azure Service Bus
//
// Without AMQPLINK_CONNECTION_STRING it starts amqptest's in-process broker with
// a shared access key and builds a connection string for it, as the Service Bus
// emulator's look.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/servicebus"
)

func main() {
	raw := os.Getenv("AMQPLINK_CONNECTION_STRING")
	if raw == "" {
		const keyName, key = "RootManageSharedAccessKey", "ZW1iZWRkZWQtYnJva2VyLWtleQ=="
		srv := amqptest.NewServer(&amqptest.Options{SASKeys: map[string]string{keyName: key}})
		defer srv.Close()
		raw = "Endpoint=sb://" + srv.Addr().String() + "/;SharedAccessKeyName=" + keyName +
			";SharedAccessKey=" + key + ";EntityPath=orders;UseDevelopmentEmulator=true"
		fmt.Println("no AMQPLINK_CONNECTION_STRING: using the embedded broker")
	}
	cs, err := cbs.ParseConnectionString(raw)
	if err != nil {
		log.Fatalf("servicebus: %v", err)
	}
	if cs.EntityPath == "" {
		log.Fatal("servicebus: the connection string needs EntityPath=<queue>")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, cs); err != nil {
		log.Fatalf("servicebus: %v", err)
	}
}

func run(ctx context.Context, cs *cbs.ConnectionString) error {
	client, err := amqplink.Dial(ctx, cs.URL(), &amqplink.Options{TokenProvider: cs.TokenProvider()})
	if err != nil {
		return err
	}
	defer client.Close(ctx)
	sess, err := client.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	defer sess.Close(ctx)

	// Service Bus takes a batch as one transfer in the batch format.
	snd, err := sender.New(ctx, sess, cs.EntityPath, &sender.Options{BatchFormat: true})
	if err != nil {
		return err
	}
	batch, err := snd.NewBatch(0)
	if err != nil {
		return err
	}
	const n = 5
	for i := range n {
		if ok, err := batch.TryAdd(message.NewText(fmt.Sprintf("order %d", i+1))); err != nil || !ok {
			return fmt.Errorf("adding order %d: fits=%v, %v", i+1, ok, err)
		}
	}
	if err := snd.SendBatch(ctx, batch); err != nil {
		return err
	}
	fmt.Printf("sent     a batch of %d orders\n", n)
	if err := snd.Close(ctx); err != nil {
		return err
	}

	// A Service Bus receiver: PeekLock with lock tokens, and the entity's
	// $management node for peeking and renewing locks.
	rcv, err := servicebus.NewReceiver(ctx, sess, cs.EntityPath, &servicebus.ReceiverOptions{
		Receiver: receiver.Options{Prefetch: n},
	})
	if err != nil {
		return err
	}
	defer rcv.Close(ctx)
	peeked, err := rcv.Management().Peek(ctx, 0, n)
	if err != nil {
		return err
	}
	fmt.Printf("peeked   %d orders without locking them\n", len(peeked))
	for i := range n {
		d, err := rcv.Receive(ctx)
		if err != nil {
			return err
		}
		body, _ := d.Message.Text()
		if i == 0 {
			// A handler that needs longer than the lock duration renews the lock
			// (or sets ReceiverOptions.AutoRenewLock and lets Run do it).
			until, err := rcv.RenewLock(ctx, d)
			if err != nil {
				return err
			}
			fmt.Printf("renewed  the lock of %s until %s\n", body, until.Format(time.TimeOnly))
		}
		if err := d.Accept(ctx); err != nil {
			return err
		}
		fmt.Printf("received %s (accepted)\n", body)
	}
	return nil
}
