package amqp091

import (
	"context"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// session implements link.Session over one channel at a time. A channel
// exception (a consume on a missing queue, a mismatched declare) closes the
// channel and fails its links; the next link opens a new channel, so the
// logical session stays usable, as RabbitMQ's AMQP 1.0 sessions do.
type session struct {
	conn *Conn

	mu     sync.Mutex
	ch     *channel // nil until opened; replaced after it dies
	closed bool
}

var _ link.Session = (*session)(nil)

// acquire returns the live channel, opening one if needed.
func (s *session) acquire(ctx context.Context) (*channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errorpolicy.New(errorpolicy.CondClosed, "session is closed", nil)
	}
	// The watcher learns of a channel exception a moment after the call that
	// caused it returned; amqp091-go knows at once.
	if s.ch != nil && !s.ch.isDead() && !s.ch.wire.IsClosed() {
		return s.ch, nil
	}
	if err := s.conn.Err(); err != nil {
		return nil, err
	}
	wire, err := callUndo(ctx, s.conn.wire.Channel, func(c *amqp.Channel) { _ = c.Close() })
	if err != nil {
		return nil, translate(err, errorpolicy.ScopeConn)
	}
	s.ch = newChannel(wire)
	return s.ch, nil
}

// NewReceiver starts a consumer on the session's channel.
func (s *session) NewReceiver(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	addr, err := ParseAddress(o.Source)
	if err != nil {
		return nil, err
	}
	ch, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	return newReceiver(ctx, ch, addr, o)
}

// NewSender makes a publisher on the session's channel; an unsettled one puts
// the channel in confirm mode.
func (s *session) NewSender(ctx context.Context, o link.SenderOptions) (link.SenderLink, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	addr, err := ParseAddress(o.Target)
	if err != nil {
		return nil, err
	}
	ch, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if o.SettleMode != link.SenderSettled {
		if err := ch.enableConfirms(ctx); err != nil {
			return nil, err
		}
	}
	return &senderLink{ch: ch, addr: addr, opts: o}, nil
}

// Close closes the channel, and with it every consumer and publisher on it.
// Unacknowledged deliveries go back to their queues.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ch := s.ch
	s.ch = nil
	s.mu.Unlock()
	if ch == nil {
		return nil
	}
	return ch.close(ctx)
}

// channel is one amqp091-go channel and what the driver tracks on it.
type channel struct {
	wire *amqp.Channel

	dead chan struct{} // closed when the channel has closed
	err  error         // why; set before dead closes

	cancelMu     sync.Mutex
	cancelled    map[string]bool // consumer tags the broker cancelled
	cancelSignal chan struct{}   // closed, and replaced, at each such cancel

	confirmMu  sync.Mutex   // serializes enableConfirms
	pubMu      sync.RWMutex // publishes hold it shared; confirm.select alone
	confirming atomic.Bool

	consumeMu   sync.Mutex    // keeps a receiver's basic.qos and basic.consume together
	consumerSeq atomic.Uint64 // numbers the consumer tags on the channel

	confirmer
}

func newChannel(wire *amqp.Channel) *channel {
	ch := &channel{
		wire:         wire,
		dead:         make(chan struct{}),
		cancelled:    make(map[string]bool),
		cancelSignal: make(chan struct{}),
	}
	closes := wire.NotifyClose(make(chan *amqp.Error, 1))
	cancels := wire.NotifyCancel(make(chan string, 16))
	go ch.watch(closes, cancels)
	return ch
}

// watch owns the channel's close and cancel notifications until it closes.
// amqp091-go sends each notification before it closes the consumer's delivery
// channel, so a receiver that finds its deliveries ended learns why from here.
func (ch *channel) watch(closes <-chan *amqp.Error, cancels <-chan string) {
	for {
		select {
		case tag, ok := <-cancels:
			if !ok {
				cancels = nil
				continue
			}
			ch.cancelMu.Lock()
			ch.cancelled[tag] = true
			close(ch.cancelSignal)
			ch.cancelSignal = make(chan struct{})
			ch.cancelMu.Unlock()
		case e, ok := <-closes:
			if ok && e != nil {
				ch.err = translate(e, errorpolicy.ScopeSession)
			} else {
				ch.err = errorpolicy.New(errorpolicy.CondLinkLost, "the channel was closed", nil)
			}
			close(ch.dead)
			return
		}
	}
}

func (ch *channel) isDead() bool {
	select {
	case <-ch.dead:
		return true
	default:
		return false
	}
}

// cancelledByBroker reports whether the broker cancelled the consumer tag, and
// otherwise gives a channel closed at the next cancel.
func (ch *channel) cancelledByBroker(tag string) (bool, <-chan struct{}) {
	ch.cancelMu.Lock()
	defer ch.cancelMu.Unlock()
	return ch.cancelled[tag], ch.cancelSignal
}

func (ch *channel) close(ctx context.Context) error {
	_, err := call(ctx, func() (struct{}, error) { return struct{}{}, ch.wire.Close() })
	if err != nil && !ch.isDead() {
		return translate(err, errorpolicy.ScopeSession)
	}
	return nil
}
