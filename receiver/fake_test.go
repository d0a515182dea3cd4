package receiver_test

import (
	"context"
	"errors"
	"sync"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// fakeBroker is one queue behind a fake driver. Its links count credit the way
// go-amqp does (an unsigned counter the grant is added to) and its peer can
// misbehave the way RabbitMQ 3.10 does (Surplus extra transfers per grant), so
// a ledger that lets the counter wrap makes the broker flood the client.
type fakeBroker struct {
	mu      sync.Mutex
	queue   []int // message numbers, in order
	next    int
	links   []*fakeLink
	unacked int // delivered, not settled (RabbitMQ's messages_unacknowledged)
	// maxUnacked is the most unacked seen.
	maxUnacked int
	outcomes   map[int][]message.Outcome

	// Surplus is how many transfers beyond its credit the peer sends per grant.
	Surplus int
	// Drain: "answer" (default), "never", or "crash" (answer, then end the link
	// with amqp:internal-error as RabbitMQ 3.10 does).
	Drain string
	// Presettled sends every transfer settled (ReceiveAndDelete).
	Presettled bool
	attaches   int
}

func newBroker(n int) *fakeBroker {
	b := &fakeBroker{outcomes: map[int][]message.Outcome{}}
	b.put(n)
	return b
}

func (b *fakeBroker) put(n int) {
	b.mu.Lock()
	for range n {
		b.queue = append(b.queue, b.next)
		b.next++
	}
	b.mu.Unlock()
	b.kick()
}

func (b *fakeBroker) kick() {
	b.mu.Lock()
	ls := append([]*fakeLink(nil), b.links...)
	b.mu.Unlock()
	for _, l := range ls {
		l.mu.Lock()
		l.deliverLocked(0)
		l.mu.Unlock()
	}
}

func (b *fakeBroker) snapshot() (ready, unacked, maxUnacked int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue), b.unacked, b.maxUnacked
}

func (b *fakeBroker) settledAs(n int) []message.Outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.outcomes[n]
}

// Conn, Session.
func (b *fakeBroker) NewSession(context.Context, link.SessionOptions) (link.Session, error) {
	return b, nil
}
func (b *fakeBroker) Done() <-chan struct{}       { return nil }
func (b *fakeBroker) Err() error                  { return nil }
func (b *fakeBroker) Close(context.Context) error { return nil }
func (b *fakeBroker) NewSender(context.Context, link.SenderOptions) (link.SenderLink, error) {
	return nil, errors.New("no senders here")
}

func (b *fakeBroker) NewReceiver(_ context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	if o.Source != "q" {
		return nil, errorpolicy.New(errorpolicy.CondNotFound, "no such queue", nil)
	}
	l := &fakeLink{b: b, name: o.Name, ready: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	b.links = append(b.links, l)
	b.attaches++
	b.mu.Unlock()
	return &drainingLink{l}, nil
}

// fakeLink is a receiver link on the fake broker.
type fakeLink struct {
	b    *fakeBroker
	name string

	mu         sync.Mutex
	wireCredit uint32 // the driver's counter, wrapping like go-amqp's
	peerCredit int64  // the peer's view
	inbox      []*message.Delivery
	ready      chan struct{}
	done       chan struct{}
	err        error
	maxGrant   uint32
}

type drainingLink struct{ *fakeLink }

func (l *fakeLink) Name() string    { return l.name }
func (l *fakeLink) Address() string { return "q" }

func (l *fakeLink) IssueCredit(n uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.wireCredit += n
	l.peerCredit = int64(l.wireCredit) // what the flow frame says
	l.maxGrant = max(l.maxGrant, l.wireCredit)
	l.deliverLocked(l.b.Surplus)
	return nil
}

// deliverLocked sends as many messages as the peer's credit allows, plus surplus.
func (l *fakeLink) deliverLocked(surplus int) {
	if l.err != nil {
		return
	}
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for (l.peerCredit > 0 || surplus > 0) && len(b.queue) > 0 {
		if l.peerCredit <= 0 {
			surplus--
		}
		n := b.queue[0]
		b.queue = b.queue[1:]
		l.peerCredit--
		l.wireCredit--
		m := message.NewText(itoa(n))
		m.ApplicationProperties = map[string]any{"n": n}
		d := message.NewDelivery(m, message.DeliveryInfo{Tag: []byte(itoa(n)), Presettled: b.Presettled, Driver: n}, l)
		if !b.Presettled {
			b.unacked++
			b.maxUnacked = max(b.maxUnacked, b.unacked)
		}
		l.inbox = append(l.inbox, d)
	}
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

func (l *fakeLink) Receive(ctx context.Context) (*message.Delivery, error) {
	for {
		l.mu.Lock()
		if len(l.inbox) > 0 {
			d := l.inbox[0]
			l.inbox = l.inbox[1:]
			l.mu.Unlock()
			return d, nil
		}
		err := l.err
		l.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-l.ready:
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Settle implements message.Settler.
func (l *fakeLink) Settle(_ context.Context, d *message.Delivery, o message.Outcome) error {
	l.mu.Lock()
	err := l.err
	l.mu.Unlock()
	if err != nil {
		return err
	}
	n := d.DriverHandle().(int)
	b := l.b
	b.mu.Lock()
	b.unacked--
	b.outcomes[n] = append(b.outcomes[n], o)
	if _, ok := o.(message.Released); ok {
		b.queue = append([]int{n}, b.queue...)
	}
	b.mu.Unlock()
	return nil
}

func (l *drainingLink) Drain(ctx context.Context) error {
	switch l.b.Drain {
	case "never":
		<-ctx.Done()
		return ctx.Err()
	case "crash":
		l.mu.Lock()
		l.peerCredit, l.wireCredit = 0, 0
		l.mu.Unlock()
		go l.fail(errorpolicy.New(errorpolicy.CondInternalError, "session process crashed", nil))
		return nil
	}
	l.mu.Lock()
	l.peerCredit, l.wireCredit = 0, 0
	l.mu.Unlock()
	return nil
}

// fail ends the link as the peer would: its unsettled deliveries return to the
// queue.
func (l *fakeLink) fail(err error) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	l.err = err
	close(l.done)
	l.mu.Unlock()
	l.b.returnUnsettled(l)
}

func (l *fakeLink) Close(context.Context) error {
	l.fail(errorpolicy.New(errorpolicy.CondClosed, "link closed", nil))
	return nil
}

// returnUnsettled puts back every message delivered on l and never settled.
func (b *fakeBroker) returnUnsettled(l *fakeLink) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.links {
		if x == l {
			b.links = append(b.links[:i], b.links[i+1:]...)
			break
		}
	}
	if b.Presettled {
		return
	}
	settled := map[int]bool{}
	for n, os := range b.outcomes {
		for _, o := range os {
			if _, ok := o.(message.Released); !ok {
				settled[n] = true
			}
		}
	}
	// Messages neither in the queue nor settled are unacked on some link; the
	// receiver has one live link at a time, so they were on l.
	inQueue := map[int]bool{}
	for _, n := range b.queue {
		inQueue[n] = true
	}
	var back []int
	for n := range b.next {
		if !settled[n] && !inQueue[n] {
			back = append(back, n)
		}
	}
	b.unacked -= len(back)
	b.queue = append(back, b.queue...)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
