// Eventhubs sends events to an Event Hubs style hub, spread over its partitions
// by partition key, then reads every partition from the start with a partition
// receiver, claiming it with an owner level.
//
//	go run ./examples/eventhubs                                               # embedded broker
//	AMQPLINK_CONNECTION_STRING='Endpoint=sb://NS.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…;EntityPath=telemetry' \
//	    go run ./examples/eventhubs                                           # Azure Event Hubs
//
// Without AMQPLINK_CONNECTION_STRING it starts amqptest's in-process broker with
// an event hub of two partitions and a shared access key.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/eventhubs"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

func main() {
	raw := os.Getenv("AMQPLINK_CONNECTION_STRING")
	if raw == "" {
		const keyName, key = "RootManageSharedAccessKey", "ZW1iZWRkZWQtYnJva2VyLWtleQ=="
		srv := amqptest.NewServer(&amqptest.Options{SASKeys: map[string]string{keyName: key}})
		defer srv.Close()
		srv.CreateEventHub("telemetry", &amqptest.EventHubOptions{Partitions: 2})
		raw = "Endpoint=sb://" + srv.Addr().String() + "/;SharedAccessKeyName=" + keyName +
			";SharedAccessKey=" + key + ";EntityPath=telemetry;UseDevelopmentEmulator=true"
		fmt.Println("no AMQPLINK_CONNECTION_STRING: using the embedded broker")
	}
	cs, err := cbs.ParseConnectionString(raw)
	if err != nil {
		log.Fatalf("eventhubs: %v", err)
	}
	if cs.EntityPath == "" {
		log.Fatal("eventhubs: the connection string needs EntityPath=<event hub>")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, cs); err != nil {
		log.Fatalf("eventhubs: %v", err)
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

	hub := cs.EntityPath
	props, err := eventhubs.GetHubProperties(ctx, sess, hub)
	if err != nil {
		return err
	}
	fmt.Printf("event hub %s has partitions %s\n", hub, strings.Join(props.PartitionIDs, ", "))

	// Events with one partition key land in one partition, in order.
	snd, err := sender.New(ctx, sess, hub, nil)
	if err != nil {
		return err
	}
	for i, device := range []string{"boiler", "pump", "boiler", "valve", "pump", "boiler"} {
		m := message.NewText(fmt.Sprintf("reading %d from %s", i+1, device))
		m.Annotations = message.Annotations{eventhubs.PartitionKeyAnnotation: device}
		if _, err := snd.Send(ctx, m); err != nil {
			return err
		}
	}
	fmt.Println("sent     6 readings from 3 devices")
	if err := snd.Close(ctx); err != nil {
		return err
	}

	total := 0
	for _, id := range props.PartitionIDs {
		n, err := readPartition(ctx, sess, hub, id)
		if err != nil {
			return err
		}
		total += n
	}
	fmt.Printf("read     %d events in all\n", total)
	return nil
}

// readPartition reads partition id from the start up to its last event.
func readPartition(ctx context.Context, sess *session.Session, hub, id string) (int, error) {
	pp, err := eventhubs.GetPartitionProperties(ctx, sess, hub, id)
	if err != nil || pp.IsEmpty {
		return 0, err
	}
	level := int64(1) // claim the partition: a reader with a higher level would take it over
	pr, err := eventhubs.NewPartitionReceiver(ctx, sess, hub, "$Default", id, &eventhubs.PartitionOptions{OwnerLevel: &level})
	if err != nil {
		return 0, err
	}
	defer pr.Close(ctx)
	n := 0
	for {
		events, err := pr.ReceiveEvents(ctx, 100)
		if err != nil {
			return n, err
		}
		for _, e := range events {
			body, _ := e.Message.Text()
			fmt.Printf("partition %s #%d (key %s): %s\n", id, e.SequenceNumber, e.PartitionKey, body)
			n++
		}
		if last, _ := pr.LastSequenceNumber(); last >= pp.LastEnqueuedSequenceNumber {
			return n, nil
		}
	}
}
