package amqp091

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// receiverLink is a consumer. AMQP 0-9-1 has no link credit, so the driver keeps
// the AMQP 1.0 meaning itself: Receive hands out no more deliveries than the
// credit issued, and the broker's prefetch count (basic.qos, per consumer) is the
// credit outstanding when the consumer starts, which bounds what RabbitMQ sends
// ahead while deliveries stay unacknowledged. With receive-and-delete (no-ack)
// RabbitMQ ignores the prefetch count: deliveries beyond the credit wait in
// amqp091-go's buffer, unbounded, and are lost if the channel closes first, as
// with any no-ack consumer. PeekLock is the mode with a memory bound.
//
// The consumer starts on the first IssueCredit. Drain cancels it (basic.cancel,
// answered by cancel-ok, after which the broker sends nothing more); the next
// IssueCredit starts a new consumer with the new credit as its prefetch.
type receiverLink struct {
	ch       *channel
	opts     link.ReceiverOptions
	queue    string // the queue consumed: the address's, or a server-named one bound to its exchange
	ownQueue bool   // queue is that server-named one, deleted by Close
	noAck    bool
	names    annotationCache // of the deliveries' x-exchange and x-routing-key

	credit atomic.Int64  // deliveries Receive may still hand out
	wake   chan struct{} // cap 1: credit was issued, or a consumer started

	// live is the consumer while Receive may take its deliveries straight from
	// it: it is started, nothing is stashed and the link has not ended. Written
	// under mu (setLive); Receive reads it without the lock.
	live atomic.Pointer[consumer]

	mu         sync.Mutex
	stash      []amqp.Delivery // what a drained consumer had sent within the credit
	consumer   *consumer       // nil before the first IssueCredit and after a drain
	starting   bool            // a consumer is being started
	startErr   error           // why the last start failed
	ended      error           // why the link ended; sticky
	closed     bool
	background sync.WaitGroup     // consumer starts
	stopStarts context.CancelFunc // ends a start that Close would otherwise wait for
	startCtx   context.Context
}

// consumer is one basic.consume and its delivery channel.
type consumer struct {
	tag        string
	deliveries <-chan amqp.Delivery
	cancelled  atomic.Bool // by this client: its remaining deliveries are due regardless of credit
}

var (
	_ link.ReceiverLink = (*receiverLink)(nil)
	_ link.Drainer      = (*receiverLink)(nil)
)

// deliveryRef is a delivery's handle for settling: its channel and tag.
type deliveryRef struct {
	ch          *channel
	tag         uint64
	consumerTag string
}

// DeliveryTag returns the channel's delivery tag of a delivery this driver
// received (also in Delivery.Tag, as 8 big-endian bytes).
func DeliveryTag(d *message.Delivery) (uint64, bool) {
	ref, ok := d.DriverHandle().(*deliveryRef)
	if !ok {
		return 0, false
	}
	return ref.tag, true
}

// ConsumerTag returns the tag of the consumer that received a delivery ("" for
// basic.get).
func ConsumerTag(d *message.Delivery) (string, bool) {
	ref, ok := d.DriverHandle().(*deliveryRef)
	if !ok {
		return "", false
	}
	return ref.consumerTag, true
}

func newReceiver(ctx context.Context, ch *channel, addr Address, o link.ReceiverOptions) (*receiverLink, error) {
	r := &receiverLink{
		ch:    ch,
		opts:  o,
		queue: addr.Queue,
		noAck: o.SenderSettle == link.SenderSettled,
		wake:  make(chan struct{}, 1),
	}
	// Its parent is Background, so an attach that fails leaks nothing by not calling it.
	r.startCtx, r.stopStarts = context.WithCancel(context.Background())
	if addr.IsExchange() {
		// A server-named, exclusive queue bound to the exchange, as RabbitMQ's
		// AMQP 1.0 plugin makes for an exchange source. Not auto-delete: a drain
		// cancels the consumer, which would delete such a queue under the link.
		// Close deletes it; the connection's end does too (it is exclusive).
		q, err := call(ctx, func() (amqp.Queue, error) { return ch.wire.QueueDeclare("", false, false, true, false, nil) })
		if err != nil {
			return nil, translate(err, errorpolicy.ScopeLink)
		}
		key := addr.RoutingKey
		if !addr.KeyGiven {
			key = "#"
		}
		if _, err := call(ctx, func() (struct{}, error) {
			return struct{}{}, ch.wire.QueueBind(q.Name, key, addr.Exchange, false, nil)
		}); err != nil {
			return nil, translate(err, errorpolicy.ScopeLink)
		}
		r.queue, r.ownQueue = q.Name, true
		return r, nil
	}
	// Make an unknown queue fail the attach, as it does on AMQP 1.0, instead of
	// the first IssueCredit. RabbitMQ answers with a channel exception (404),
	// which costs the channel; the session opens a new one for the next link.
	if _, err := call(ctx, func() (amqp.Queue, error) {
		return ch.wire.QueueDeclarePassive(r.queue, false, false, false, false, nil)
	}); err != nil {
		return nil, translate(err, errorpolicy.ScopeLink)
	}
	return r, nil
}

func (r *receiverLink) Name() string    { return r.opts.Name }
func (r *receiverLink) Address() string { return r.opts.Source }

// IssueCredit allows n more deliveries; the first call starts the consumer
// (in the background: IssueCredit does not block).
func (r *receiverLink) IssueCredit(n uint32) error {
	if n == 0 {
		return nil
	}
	r.mu.Lock()
	if r.ended != nil {
		err := r.ended
		r.mu.Unlock()
		return err
	}
	if r.closed {
		r.mu.Unlock()
		return errorpolicy.New(errorpolicy.CondClosed, "receiver is closed", nil)
	}
	credit := r.credit.Add(int64(n))
	if r.consumer == nil && !r.starting {
		r.starting = true
		r.background.Add(1)
		go r.start(credit)
	}
	r.mu.Unlock()
	r.poke()
	return nil
}

func (r *receiverLink) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// start runs basic.qos and basic.consume. The channel's consumeMu keeps another
// receiver's qos from landing between them: a per-consumer prefetch count applies
// to the consumers started after it.
func (r *receiverLink) start(prefetch int64) {
	defer r.background.Done()
	ctx, cancel := context.WithTimeout(r.startCtx, 60*time.Second)
	defer cancel()
	tag := consumerTag(r.ch, r.opts.Name)
	c, err := call(ctx, func() (<-chan amqp.Delivery, error) {
		r.ch.consumeMu.Lock()
		defer r.ch.consumeMu.Unlock()
		if !r.noAck {
			if err := r.ch.wire.Qos(int(min(prefetch, 65535)), 0, false); err != nil {
				return nil, err
			}
		}
		return r.ch.wire.Consume(r.queue, tag, r.noAck, false, false, false, nil)
	})
	r.mu.Lock()
	r.starting = false
	switch {
	case err != nil:
		r.ended = translate(err, errorpolicy.ScopeLink)
	default: // if Close is waiting for this start, it cancels the consumer next
		r.consumer = &consumer{tag: tag, deliveries: c}
	}
	r.setLive()
	r.mu.Unlock()
	r.poke()
}

// consumerTag names a new consumer on ch after its link: unique on the channel,
// and short, as the broker sends the tag with every delivery and amqp091-go
// allocates it for every delivery.
func consumerTag(ch *channel, name string) string {
	return name + "-" + strconv.FormatUint(ch.consumerSeq.Add(1), 36)
}

// setLive publishes the consumer Receive may take deliveries from without the
// lock. The caller holds mu.
func (r *receiverLink) setLive() {
	if r.consumer != nil && len(r.stash) == 0 && r.ended == nil {
		r.live.Store(r.consumer)
	} else {
		r.live.Store(nil)
	}
}

// Receive returns the next delivery within the credit; see link.ReceiverLink.
func (r *receiverLink) Receive(ctx context.Context) (*message.Delivery, error) {
	// The path of every delivery while the consumer runs within its credit:
	// no lock, and a wait on the deliveries and ctx alone (nothing else can
	// change what Receive returns next while the consumer lives: a cancel or
	// the channel's end closes its deliveries). Anything else goes the long way.
	if c := r.live.Load(); c != nil && r.credit.Load() > 0 {
		select {
		case d, ok := <-c.deliveries:
			if ok {
				return r.delivery(&d), nil
			}
		default:
			if ctx.Err() == nil {
				select {
				case d, ok := <-c.deliveries:
					if ok {
						return r.delivery(&d), nil
					}
				case <-ctx.Done():
				}
			}
		}
	}
	return r.receive(ctx)
}

// receive is Receive's long way: a stashed delivery first, then the consumer's
// within the credit, waiting for credit or a consumer to start.
func (r *receiverLink) receive(ctx context.Context) (*message.Delivery, error) {
	for {
		r.mu.Lock()
		if len(r.stash) > 0 {
			d := r.stash[0]
			r.stash = r.stash[1:]
			r.setLive()
			r.mu.Unlock()
			return r.delivery(&d), nil
		}
		c, ended := r.consumer, r.ended
		r.mu.Unlock()
		if c != nil && (r.credit.Load() > 0 || c.cancelled.Load()) {
			select {
			case d, ok := <-c.deliveries:
				if !ok {
					if err := r.consumerEnded(ctx, c); err != nil {
						return nil, err
					}
					continue
				}
				return r.delivery(&d), nil
			default:
			}
			if ended == nil && ctx.Err() == nil {
				select {
				case d, ok := <-c.deliveries:
					if !ok {
						if err := r.consumerEnded(ctx, c); err != nil {
							return nil, err
						}
						continue
					}
					return r.delivery(&d), nil
				case <-r.wake:
					continue
				case <-ctx.Done():
				}
			}
		}
		if ended != nil {
			return nil, ended
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
		}
	}
}

func (r *receiverLink) delivery(d *amqp.Delivery) *message.Delivery {
	r.credit.Add(-1)
	return newDelivery(d, r.ch, r.noAck, r, &r.names)
}

// newDelivery wraps a delivery received on ch (by a consumer or basic.get),
// settled through s; names (may be nil) caches the delivery's annotations.
func newDelivery(d *amqp.Delivery, ch *channel, presettled bool, s message.Settler, names *annotationCache) *message.Delivery {
	a := convertDelivery(d, names)
	a.ref = deliveryRef{ch: ch, tag: d.DeliveryTag, consumerTag: d.ConsumerTag}
	binary.BigEndian.PutUint64(a.tag[:], d.DeliveryTag)
	message.InitDelivery(&a.d, a.m(), message.DeliveryInfo{
		Tag:         a.tag[:],
		Redelivered: d.Redelivered,
		Presettled:  presettled,
		Driver:      &a.ref,
	}, s)
	return &a.d
}

// consumerEnded learns why c's deliveries ended: this client cancelled it (a
// drain; nil: a new consumer follows), the broker cancelled it, or the channel
// closed. amqp091-go reports the last two before it closes the deliveries, and
// the channel's watcher takes them in, so a short wait covers its scheduling.
func (r *receiverLink) consumerEnded(ctx context.Context, c *consumer) error {
	var err error
	switch {
	case c.cancelled.Load():
		r.mu.Lock()
		if r.consumer == c {
			r.consumer = nil
		}
		r.setLive()
		r.mu.Unlock()
		return nil
	default:
		timer := time.NewTimer(time.Second)
		defer timer.Stop()
		for err == nil {
			cancelled, signal := r.ch.cancelledByBroker(c.tag)
			if cancelled {
				err = errConsumerCancelled(r.queue)
				break
			}
			select {
			case <-signal: // the broker cancelled some consumer on the channel
			case <-r.ch.dead:
				err = r.ch.err
			case <-timer.C:
				err = errorpolicy.New(errorpolicy.CondLinkLost, "the consumer's deliveries ended", nil)
			case <-ctx.Done():
				return ctx.Err() // the next Receive asks again
			}
		}
	}
	r.mu.Lock()
	if r.ended == nil {
		r.ended = err
	}
	err = r.ended
	r.setLive()
	r.mu.Unlock()
	return err
}

// Drain cancels the consumer and waits for the broker's cancel-ok, after which
// the broker sends nothing more on it. Of what it had sent, the deliveries within
// the credit stay for Receive and the rest go back to the queue (with no-ack they
// cannot: they stay for Receive too). The next IssueCredit starts a new consumer.
func (r *receiverLink) Drain(ctx context.Context) error {
	r.mu.Lock()
	c := r.consumer
	r.mu.Unlock()
	if c == nil {
		r.credit.Store(0)
		return nil
	}
	c.cancelled.Store(true)
	if _, err := call(ctx, func() (struct{}, error) { return struct{}{}, r.ch.wire.Cancel(c.tag, false) }); err != nil {
		return translate(err, errorpolicy.ScopeLink)
	}
	// After cancel-ok amqp091-go closes the deliveries once it has handed over
	// what it buffered; the pump may be taking some of them meanwhile.
	var stash []amqp.Delivery
	for done := false; !done; {
		select {
		case d, ok := <-c.deliveries:
			if !ok {
				done = true
				break
			}
			if r.noAck || r.credit.Add(-1) >= 0 {
				stash = append(stash, d)
			} else {
				r.credit.Add(1)
				_ = r.ch.wire.Nack(d.DeliveryTag, false, true)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	r.credit.Store(int64(len(stash))) // delivery() takes one per stashed delivery
	r.stash = append(r.stash, stash...)
	if r.consumer == c {
		r.consumer = nil
	}
	r.setLive()
	r.mu.Unlock()
	r.poke()
	return nil
}

// Settle acknowledges, rejects or requeues a delivery per the semantics table:
// Accepted → basic.ack; Released → basic.nack requeue; Rejected → basic.reject
// (dead-lettered where the queue says so); Modified → basic.nack, requeued unless
// UndeliverableHere.
func (r *receiverLink) Settle(ctx context.Context, d *message.Delivery, o message.Outcome) error {
	return settle(d, o)
}

// settle settles a delivery on the channel that received it (see
// receiverLink.Settle); basic.get's deliveries settle the same way.
func settle(d *message.Delivery, o message.Outcome) error {
	ref, ok := d.DriverHandle().(*deliveryRef)
	if !ok {
		return errorpolicy.New(errorpolicy.CondNotSettleable, "the delivery did not come from an AMQP 0-9-1 link", nil)
	}
	if ref.ch.isDead() {
		e := errorpolicy.New(errorpolicy.CondLinkLost, "the channel that received the delivery has closed; the broker will deliver it again", ref.ch.err)
		e.Scope = errorpolicy.ScopeSession
		return e
	}
	var err error
	switch o := o.(type) {
	case message.Accepted:
		err = ref.ch.wire.Ack(ref.tag, false)
	case message.Released:
		err = ref.ch.wire.Nack(ref.tag, false, true)
	case message.Rejected:
		err = ref.ch.wire.Reject(ref.tag, false)
	case message.Modified:
		err = ref.ch.wire.Nack(ref.tag, false, !o.UndeliverableHere)
	default:
		return errorpolicy.InvalidOption("amqp091: unknown outcome " + o.String())
	}
	if err != nil {
		e := translate(err, errorpolicy.ScopeSession)
		var pe *errorpolicy.Error
		if errors.As(e, &pe) && pe.Condition == errorpolicy.CondLinkLost {
			pe.Description = "the channel that received the delivery has closed; the broker will deliver it again"
		}
		return e
	}
	return nil
}

// Close cancels the consumer and requeues what the broker sent beyond the
// credit, which nobody has seen. Deliveries handed out stay settleable while the
// channel lives.
func (r *receiverLink) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	c := r.consumer
	r.mu.Unlock()
	r.stopStarts() // a start blocked on an unresponsive broker ends now
	r.background.Wait()
	if r.ch.isDead() {
		return nil
	}
	err := r.cancelAndRequeue(ctx, c)
	if r.ownQueue && err == nil {
		_, err = call(ctx, func() (int, error) { return r.ch.wire.QueueDelete(r.queue, false, false, false) })
		err = translate(err, errorpolicy.ScopeLink)
	}
	if err != nil && r.ch.isDead() {
		return nil
	}
	return err
}

// cancelAndRequeue cancels c and requeues what it sent that was never handed out.
func (r *receiverLink) cancelAndRequeue(ctx context.Context, c *consumer) error {
	r.mu.Lock()
	if c == nil {
		c = r.consumer // started while Close waited
	}
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	c.cancelled.Store(true)
	if _, err := call(ctx, func() (struct{}, error) { return struct{}{}, r.ch.wire.Cancel(c.tag, false) }); err != nil {
		return translate(err, errorpolicy.ScopeLink)
	}
	if r.noAck {
		return nil
	}
	for {
		select {
		case d, ok := <-c.deliveries:
			if !ok {
				return nil
			}
			_ = r.ch.wire.Nack(d.DeliveryTag, false, true)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
