// Rpc is request/reply over AMQP 0-9-1: a server consumes requests from a queue
// and answers each at the request's ReplyTo address with its CorrelationID; a
// client sends requests with ReplyTo and CorrelationID set, and matches the
// replies that come back, in whatever order, to the calls waiting for them.
//
//	go run ./examples/rpc                                     # AMQP 0-9-1
//	go run ./examples/rpc -protocol=amqp10                    # the same over AMQP 1.0
//	AMQPLINK_URL=amqp://guest:guest@127.0.0.1:5672 go run ./examples/rpc -requests=50
//
// AMQPLINK_URL defaults to the local RabbitMQ that scripts/brokers.sh starts.
// Server and client run in one process here, each on a connection of its own,
// as they would in two. Each call computes a Fibonacci number on the server.
//
// The client's reply queue is a server-named, exclusive queue that the driver
// declares itself: a receiver on /exchange/amq.direct/<unique key> consumes
// from such a queue, bound to amq.direct with that key, and the request's
// ReplyTo is the same address, to which the server's sender publishes. The
// queue goes with the client's connection, and the same code runs on AMQP 1.0.
// (A classic 0-9-1 client's reply_to is a bare queue name such as amq.gen-…;
// over 0-9-1 this server answers it too, a bare name being an address. But a
// server written against amqp091-go alone would take this client's ReplyTo for
// a queue name and find no such queue.)
//
// The request queue, amqplink-rpc-requests, has to exist, and the 0-9-1 driver
// never declares queues: declareQueue declares it with the amqp091 driver's
// Topology, over a short-lived 0-9-1 connection of its own.
//
// Every wait has a deadline: each call waits at most -timeout for its reply,
// and the whole program at most 30 s.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

const (
	requestQueue   = "amqplink-rpc-requests"
	requestAddress = "/amq/queue/" + requestQueue
)

func main() {
	protocolName := flag.String("protocol", "amqp091", "wire protocol: amqp091 or amqp10")
	requests := flag.Int("requests", 10, "calls the client makes, all at once")
	timeout := flag.Duration("timeout", 5*time.Second, "how long a call waits for its reply")
	flag.Parse()
	var protocol amqplink.Protocol
	switch *protocolName {
	case "amqp091":
		protocol = amqplink.AMQP091
	case "amqp10":
		protocol = amqplink.AMQP10
	default:
		log.Fatalf("rpc: -protocol must be amqp091 or amqp10, not %q", *protocolName)
	}
	if *requests < 1 || *timeout <= 0 {
		log.Fatal("rpc: -requests and -timeout must be positive")
	}
	url := os.Getenv("AMQPLINK_URL")
	if url == "" {
		url = "amqp://guest:guest@127.0.0.1:5672"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := declareQueue(ctx, url, requestQueue); err != nil {
		log.Fatalf("rpc: declaring the request queue: %v\nno RabbitMQ answers? start one with `scripts/brokers.sh start` or set AMQPLINK_URL", err)
	}
	if err := run(ctx, url, protocol, *requests, *timeout); err != nil {
		if errors.Is(err, errorpolicy.ErrDialFailed) {
			log.Fatalf("rpc: %v\nno broker answers; start one with `scripts/brokers.sh start` or set AMQPLINK_URL", err)
		}
		log.Fatalf("rpc: %v", err)
	}
}

// declareQueue declares a queue with the amqp091 driver's topology, on a
// 0-9-1 connection of its own that it closes again: declaring is 0-9-1 only, and
// the queue serves either protocol.
func declareQueue(ctx context.Context, url, name string) error {
	conn, err := amqp091.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var topo *amqp091.Topology // nothing to replay: declare without recording
	_, err = topo.DeclareQueue(ctx, conn, amqp091.QueueOptions{Name: name, Durable: false})
	return err
}

func run(ctx context.Context, url string, protocol amqplink.Protocol, requests int, timeout time.Duration) error {
	srv, err := startServer(ctx, url, protocol)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	defer srv.stop()

	c, err := newClient(ctx, url, protocol)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer c.close()

	start := time.Now()
	results := make([]string, requests)
	errs := make([]error, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			callCtx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			reply, err := c.call(callCtx, strconv.Itoa(i+1))
			if err == nil {
				results[i], err = reply.Text()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var failed []error
	for i := range requests {
		if errs[i] != nil {
			failed = append(failed, fmt.Errorf("call %d: %w", i+1, errs[i]))
			continue
		}
		if want := fmt.Sprintf("fib(%d) = %d", i+1, fib(i+1)); results[i] != want {
			failed = append(failed, fmt.Errorf("call %d: got the reply %q, want %q", i+1, results[i], want))
			continue
		}
		fmt.Printf("call %2d: %s\n", i+1, results[i])
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	fmt.Printf("rpc: %d/%d replies matched by correlation id over %s in %v (server handled %d requests with %d handlers; %d of the replies came out of call order)\n",
		requests, requests, protocol, elapsed.Round(time.Millisecond), srv.handled.Load(), serverHandlers, c.outOfOrder.Load())
	return nil
}

// ---- server ----

const serverHandlers = 4

// server answers requests from requestAddress.
type server struct {
	client  *amqplink.Client
	sess    *session.Session
	rcv     *receiver.Receiver
	stopRun context.CancelFunc
	ran     chan struct{}
	handled atomic.Int64

	mu      sync.Mutex
	senders map[string]*sender.Sender // one per ReplyTo address seen
}

func startServer(ctx context.Context, url string, protocol amqplink.Protocol) (*server, error) {
	client, err := amqplink.Dial(ctx, url, &amqplink.Options{Protocol: protocol})
	if err != nil {
		return nil, err
	}
	s := &server{client: client, senders: map[string]*sender.Sender{}, ran: make(chan struct{})}
	if s.sess, err = client.NewSession(ctx, nil); err != nil {
		_ = client.Close(ctx)
		return nil, err
	}
	s.rcv, err = receiver.New(ctx, s.sess, requestAddress, &receiver.Options{
		Prefetch:       2 * serverHandlers,
		Concurrency:    serverHandlers,
		OnHandlerError: message.Released{}, // a request whose reply failed goes back to the queue
	})
	if err != nil {
		_ = client.Close(ctx)
		return nil, err
	}
	runCtx, stopRun := context.WithCancel(ctx)
	s.stopRun = stopRun
	go func() {
		defer close(s.ran)
		if err := s.rcv.Run(runCtx, s.handle); err != nil && runCtx.Err() == nil {
			log.Printf("rpc server: %v", err)
		}
	}()
	return s, nil
}

// handle answers one request; Run acknowledges it when handle returns nil.
func (s *server) handle(ctx context.Context, d *message.Delivery) error {
	req := d.Message
	if req.Properties == nil || req.Properties.ReplyTo == nil || *req.Properties.ReplyTo == "" {
		return d.Reject(ctx, "amqp:invalid-field", "a request needs a reply-to address")
	}
	replyTo := *req.Properties.ReplyTo
	s.handled.Add(1)

	var reply *message.Message
	text, err := req.Text()
	n, convErr := strconv.Atoi(text)
	switch {
	case err != nil:
		reply = errorReply(err.Error())
	case convErr != nil || n < 0 || n > 90:
		reply = errorReply(fmt.Sprintf("want a number from 0 to 90, not %q", text))
	default:
		reply = message.NewText(fmt.Sprintf("fib(%d) = %d", n, fib(n)))
	}
	reply.Properties.CorrelationID = req.Properties.CorrelationID

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snd, err := s.replySender(ctx, replyTo)
	if err != nil {
		return fmt.Errorf("reply sender for %s: %w", replyTo, err)
	}
	if _, err := snd.Send(ctx, reply); err != nil {
		if errors.Is(err, sender.ErrReleased) {
			// Nothing is bound to the reply address any more: the client is gone.
			log.Printf("rpc server: dropping the reply to %s: %v", replyTo, err)
			return nil
		}
		return fmt.Errorf("replying to %s: %w", replyTo, err)
	}
	return nil
}

func errorReply(why string) *message.Message {
	m := message.NewText("error: " + why)
	m.ApplicationProperties = map[string]any{"error": why}
	return m
}

// replySender returns the sender for a reply address, attaching it the first
// time. (A long-running server would close the senders of clients long gone.)
func (s *server) replySender(ctx context.Context, address string) (*sender.Sender, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snd, ok := s.senders[address]; ok {
		return snd, nil
	}
	snd, err := sender.New(ctx, s.sess, address, nil)
	if err != nil {
		return nil, err
	}
	s.senders[address] = snd
	return snd, nil
}

func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.stopRun()
	<-s.ran
	_ = s.rcv.Close(ctx)
	for _, snd := range s.senders {
		_ = snd.Close(ctx)
	}
	_ = s.client.Close(ctx)
}

// ---- client ----

// client makes calls: it sends requests to requestAddress and matches replies
// from its own reply queue to the calls waiting for them.
type client struct {
	client  *amqplink.Client
	snd     *sender.Sender
	rcv     *receiver.Receiver
	replyTo string
	stopRcv context.CancelFunc
	ran     chan struct{}

	mu      sync.Mutex
	pending map[string]pendingCall // by correlation id
	calls   int64                  // calls made so far
	latest  int64                  // the highest call number a reply came for

	outOfOrder atomic.Int64
}

// pendingCall is a call waiting for its reply.
type pendingCall struct {
	n     int64 // the call's number, in the order the calls were made
	reply chan *message.Message
}

func newClient(ctx context.Context, url string, protocol amqplink.Protocol) (*client, error) {
	conn, err := amqplink.Dial(ctx, url, &amqplink.Options{Protocol: protocol})
	if err != nil {
		return nil, err
	}
	c := &client{
		client:  conn,
		replyTo: "/exchange/amq.direct/" + link.UniqueName("amqplink-rpc-reply"),
		pending: map[string]pendingCall{},
		ran:     make(chan struct{}),
	}
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		_ = conn.Close(ctx)
		return nil, err
	}
	// The reply queue: declared (server-named, exclusive) and bound when the
	// receiver attaches, so it is in place before the first request goes out.
	if c.rcv, err = receiver.New(ctx, sess, c.replyTo, &receiver.Options{Prefetch: 64}); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("reply queue: %w", err)
	}
	if c.snd, err = sender.New(ctx, sess, requestAddress, nil); err != nil {
		_ = conn.Close(ctx)
		return nil, err
	}
	rctx, stop := context.WithCancel(ctx)
	c.stopRcv = stop
	go c.dispatch(rctx)
	return c, nil
}

// dispatch hands each reply to the call waiting for its correlation id.
func (c *client) dispatch(ctx context.Context) {
	defer close(c.ran)
	for {
		d, err := c.rcv.Receive(ctx) // ctx: the program's deadline, cancelled at close
		if err != nil {
			if ctx.Err() == nil {
				log.Printf("rpc client: receiving replies: %v", err)
			}
			return
		}
		if err := d.Accept(ctx); err != nil {
			log.Printf("rpc client: accepting a reply: %v", err)
		}
		var id string
		if d.Message.Properties != nil {
			id = correlationKey(d.Message.Properties.CorrelationID)
		}
		c.mu.Lock()
		p, ok := c.pending[id]
		delete(c.pending, id)
		if ok {
			if p.n < c.latest {
				c.outOfOrder.Add(1)
			}
			c.latest = max(c.latest, p.n)
		}
		c.mu.Unlock()
		if !ok {
			log.Printf("rpc client: a reply with correlation id %q that no call waits for (late, or not ours): dropped", id)
			continue
		}
		p.reply <- d.Message // buffered: never blocks
	}
}

// call sends one request and waits, within ctx, for the reply that carries
// its correlation id.
func (c *client) call(ctx context.Context, body string) (*message.Message, error) {
	id := link.UniqueName("req")
	waiting := make(chan *message.Message, 1)
	c.mu.Lock()
	c.calls++
	c.pending[id] = pendingCall{n: c.calls, reply: waiting}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id) // the call gave up: a late reply is dropped
		c.mu.Unlock()
	}()

	req := message.NewText(body)
	req.Properties.ReplyTo = &c.replyTo
	req.Properties.CorrelationID = id
	// Send waits for the broker's confirm; Released means the request could not
	// be routed (no request queue).
	if _, err := c.snd.Send(ctx, req); err != nil {
		return nil, fmt.Errorf("sending request %s: %w", id, err)
	}
	select {
	case reply := <-waiting:
		if why, ok := reply.ApplicationProperties["error"]; ok {
			return nil, fmt.Errorf("the server failed request %s: %v", id, why)
		}
		return reply, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("no reply to request %s: %w", id, ctx.Err())
	}
}

func (c *client) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.stopRcv()
	<-c.ran
	_ = c.snd.Close(ctx)
	_ = c.rcv.Close(ctx)
	_ = c.client.Close(ctx) // the exclusive reply queue goes with the connection
}

// correlationKey renders a correlation id (a string, UUID, uint64 or bytes) as
// a map key.
func correlationKey(id any) string {
	switch v := id.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(id)
}

func fib(n int) int64 {
	a, b := int64(0), int64(1)
	for range n {
		a, b = b, a+b
	}
	return a
}
