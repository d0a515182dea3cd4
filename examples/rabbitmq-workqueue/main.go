// Rabbitmq-workqueue is RabbitMQ's work queue: a producer sends tasks to a
// durable queue with publisher confirms, and workers take them one at a time
// and acknowledge each when it is done. The workers are one receiver whose Run
// calls up to -workers handlers at once, in PeekLock mode with a prefetch window
// of -prefetch: the broker hands a task to the client only while the window has
// room, and takes it back if the client dies before the acknowledgement.
//
//	go run ./examples/rabbitmq-workqueue                     # AMQP 0-9-1
//	go run ./examples/rabbitmq-workqueue -protocol=amqp10    # AMQP 1.0, same address
//	AMQPLINK_URL=amqp://guest:guest@127.0.0.1:5672 go run ./examples/rabbitmq-workqueue -tasks=500 -workers=16
//
// AMQPLINK_URL defaults to the local RabbitMQ that scripts/brokers.sh starts.
// The program runs on AMQP 0-9-1 by default and on AMQP 1.0 with
// -protocol=amqp10: the address, /amq/queue/<queue>, and the rest of the code
// are the same on both; only amqplink.Options.Protocol changes.
//
// The queue (-queue, default amqplink-workqueue) has to exist: /amq/queue/<name>
// names an existing queue, and the 0-9-1 driver never declares queues.
// RabbitMQ's 1.0 address /queue/<name> would have RabbitMQ declare it, but on
// AMQP 1.0 only, so it cannot serve the default protocol. declareQueue declares
// it instead, durable, with the amqp091 driver's Topology over a short-lived
// 0-9-1 connection of its own, before either driver uses it. Declaring is idempotent, so the program can
// run again; the queue stays.
//
// Each task carries the id of the run that sent it, and the program stops once
// it has acknowledged all of its own. A task some other run left in the queue
// is handled and acknowledged too, and counted apart. Two runs at once on one
// queue share the tasks, so each waits in vain for those the other took (until
// the 30 s deadline): give each its own -queue.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
)

type config struct {
	protocol amqplink.Protocol
	queue    string
	tasks    int
	workers  int
	prefetch int
	work     time.Duration
}

func main() {
	var c config
	protocol := flag.String("protocol", "amqp091", "wire protocol: amqp091 or amqp10")
	flag.StringVar(&c.queue, "queue", "amqplink-workqueue", "the work queue (declared if missing)")
	flag.IntVar(&c.tasks, "tasks", 200, "tasks to send")
	flag.IntVar(&c.workers, "workers", 8, "handlers that work at once (receiver.Options.Concurrency)")
	flag.IntVar(&c.prefetch, "prefetch", 16, "unacknowledged tasks the client may hold (receiver.Options.Prefetch); below -workers, some workers idle")
	flag.DurationVar(&c.work, "work", 5*time.Millisecond, "time one task takes")
	flag.Parse()
	switch *protocol {
	case "amqp091":
		c.protocol = amqplink.AMQP091
	case "amqp10":
		c.protocol = amqplink.AMQP10
	default:
		log.Fatalf("rabbitmq-workqueue: -protocol must be amqp091 or amqp10, not %q", *protocol)
	}
	if c.queue == "" || c.tasks < 1 || c.workers < 1 || c.prefetch < 1 || c.work < 0 {
		log.Fatal("rabbitmq-workqueue: -tasks, -workers and -prefetch must be positive, -work not negative")
	}
	brokerURL := os.Getenv("AMQPLINK_URL")
	if brokerURL == "" {
		brokerURL = "amqp://guest:guest@127.0.0.1:5672"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := declareQueue(ctx, brokerURL, c.queue); err != nil {
		log.Fatalf("rabbitmq-workqueue: declaring the queue: %v\nno RabbitMQ answers? start one with `scripts/brokers.sh start` or set AMQPLINK_URL", err)
	}
	if err := run(ctx, brokerURL, c); err != nil {
		if errors.Is(err, errorpolicy.ErrDialFailed) {
			log.Fatalf("rabbitmq-workqueue: %v\nno broker answers; start one with `scripts/brokers.sh start` or set AMQPLINK_URL", err)
		}
		log.Fatalf("rabbitmq-workqueue: %v", err)
	}
}

// declareQueue declares a durable queue with the amqp091 driver's topology, on a
// 0-9-1 connection of its own that it closes again: declaring is 0-9-1 only, and
// the queue serves either protocol.
func declareQueue(ctx context.Context, url, name string) error {
	conn, err := amqp091.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var topo *amqp091.Topology // nothing to replay: declare without recording
	_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Durable: true})
	return err
}

func run(ctx context.Context, brokerURL string, c config) error {
	// RabbitMQ's AMQP 1.0 address of an existing queue, which the 0-9-1 driver
	// reads the same way.
	address := "/amq/queue/" + url.PathEscape(c.queue)

	client, err := amqplink.Dial(ctx, brokerURL, &amqplink.Options{Protocol: c.protocol})
	if err != nil {
		return err
	}
	defer client.Close(ctx)

	// The workers, on a session of their own (an AMQP 1.0 session, a 0-9-1
	// channel), start first and wait for tasks.
	wsess, err := client.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	defer wsess.Close(ctx)
	rcv, err := receiver.New(ctx, wsess, address, &receiver.Options{
		Mode:        receiver.PeekLock, // the default: nothing is gone until acknowledged
		Prefetch:    c.prefetch,
		Concurrency: c.workers,
		// A handler that fails gives its task back to the queue. Released rather
		// than the default Modified, which RabbitMQ 3.10 answers on AMQP 1.0 by
		// ending the session.
		OnHandlerError: message.Released{},
	})
	if err != nil {
		return fmt.Errorf("attaching the workers: %w", err)
	}
	defer rcv.Close(ctx)

	runID := link.UniqueName("run")
	var done, stale, busy, peak atomic.Int64
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	start := time.Now()
	go func() {
		runErr <- rcv.Run(runCtx, func(ctx context.Context, d *message.Delivery) error {
			raise(&peak, busy.Add(1))
			defer busy.Add(-1)
			select { // the work
			case <-time.After(c.work):
			case <-ctx.Done():
				return ctx.Err() // stopped mid-task: the task goes back to the queue
			}
			// Acknowledge (Run would accept on a nil return too; here the count
			// only moves once the broker has been told).
			if err := d.Accept(ctx); err != nil {
				return err
			}
			if d.Message.ApplicationProperties["run"] != runID { // another run's task
				stale.Add(1)
				return nil
			}
			if done.Add(1) == int64(c.tasks) {
				stop()
			}
			return nil
		})
	}()

	// The producer, on its own session: durable tasks, each confirmed by the
	// broker (the sender's default Unsettled mode: publisher confirms on 0-9-1).
	psess, err := client.NewSession(ctx, nil)
	if err != nil {
		return err
	}
	defer psess.Close(ctx)
	snd, err := sender.New(ctx, psess, address, nil)
	if err != nil {
		return fmt.Errorf("attaching the producer: %w", err)
	}
	receipts := make([]*sender.Receipt, 0, c.tasks)
	for i := range c.tasks {
		m := message.NewText(fmt.Sprintf("task %d", i+1))
		m.Header = &message.Header{Durable: true}
		m.ApplicationProperties = map[string]any{"run": runID}
		r, err := snd.SendAsync(ctx, m)
		if err != nil {
			return fmt.Errorf("sending task %d: %w", i+1, err)
		}
		receipts = append(receipts, r)
	}
	for i, r := range receipts {
		if _, err := r.Wait(ctx); err != nil {
			return fmt.Errorf("task %d was not confirmed: %w", i+1, err)
		}
	}
	if err := snd.Close(ctx); err != nil {
		return err
	}
	fmt.Printf("producer: %d tasks sent to %s and confirmed\n", c.tasks, address)

	select {
	case err = <-runErr:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if runCtx.Err() == nil || ctx.Err() != nil { // ended before the last task was acknowledged
		return fmt.Errorf("workers stopped after %d of %d tasks: %w", done.Load(), c.tasks, err)
	}
	elapsed := time.Since(start)
	if n := stale.Load(); n > 0 {
		fmt.Printf("workers: also handled %d tasks that other runs had sent\n", n)
	}
	s := rcv.Stats()
	fmt.Printf("workqueue: %d/%d tasks acknowledged by %d workers (at most %d busy at once, prefetch %d) over %s in %v (received %d, settled %d)\n",
		done.Load(), c.tasks, c.workers, peak.Load(), c.prefetch, c.protocol, elapsed.Round(time.Millisecond), s.Received, s.Settled)
	return nil
}

// raise sets peak to n if n is larger.
func raise(peak *atomic.Int64, n int64) {
	for {
		m := peak.Load()
		if n <= m || peak.CompareAndSwap(m, n) {
			return
		}
	}
}
