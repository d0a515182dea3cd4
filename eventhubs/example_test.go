package eventhubs_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/eventhubs"
)

// Read one partition of an event hub (here amqptest's) from a sequence number on.
func ExamplePartitionReceiver_ReceiveEvents() {
	srv := amqptest.NewServer(nil)
	defer srv.Close()
	srv.CreateEventHub("telemetry", &amqptest.EventHubOptions{Partitions: 2})
	for _, body := range []string{"t=20.5", "t=20.7", "t=21.0"} {
		if _, err := srv.PublishEvent("telemetry", "0", []byte(body)); err != nil {
			log.Fatal(err)
		}
	}

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
	after := int64(0) // the checkpoint: the last event already processed
	pr, err := eventhubs.NewPartitionReceiver(ctx, sess, "telemetry", "$Default", "0",
		&eventhubs.PartitionOptions{StartPosition: eventhubs.StartPosition{SequenceNumber: &after}})
	if err != nil {
		log.Fatal(err)
	}
	defer pr.Close(ctx)

	for read := 0; read < 2; {
		events, err := pr.ReceiveEvents(ctx, 10)
		if err != nil {
			log.Fatal(err)
		}
		for _, e := range events {
			fmt.Printf("#%d %s\n", e.SequenceNumber, e.Message.Body.Data[0])
			read++
		}
	}
	// Output:
	// #1 t=20.7
	// #2 t=21.0
}
