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

	mu       sync.Mutex
	stash    []amqp.Delivery // received, not yet handed out: a drain's, or beyond the credit
	consumer *consumer       // nil before the first IssueCredit and after a drain
	started  chan struct{}   // while a consumer is being started; closed when it has
	draining bool
	ended    error // why the link ended; sticky
	closed   bool
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
	if r.ended != nil { // Close sets it too
		err := r.ended
		r.mu.Unlock()
		return err
	}
	r.credit.Add(int64(n))
	r.startLocked()
	r.mu.Unlock()
	r.poke()
	return nil
}

// startLocked starts a consumer if there is credit and none runs or is being
// started. The caller holds mu.
func (r *receiverLink) startLocked() {
	credit := r.credit.Load()
	if r.consumer != nil || r.started != nil || r.draining || r.ended != nil || credit <= 0 {
		return
	}
	r.started = make(chan struct{})
	go r.start(credit, r.started)
}

func (r *receiverLink) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// start runs basic.qos and basic.consume, and closes started when the broker has
// answered. The channel's consumeMu keeps another receiver's qos from landing
// between them: a per-consumer prefetch count applies to the consumers started
// after it. It waits for the answer however long it takes (until the channel
// closes): a consume given up on would still start at the broker, with nobody to
// cancel it. A consumer that starts after Close is cancelled here.
func (r *receiverLink) start(prefetch int64, started chan struct{}) {
	defer close(started)
	tag := consumerTag(r.ch, r.opts.Name)
	deliveries, err := func() (<-chan amqp.Delivery, error) {
		r.ch.consumeMu.Lock()
		defer r.ch.consumeMu.Unlock()
		if !r.noAck {
			if err := r.ch.wire.Qos(int(min(prefetch, 65535)), 0, false); err != nil {
				return nil, err
			}
		}
		return r.ch.wire.Consume(r.queue, tag, r.noAck, false, false, false, nil)
	}()
	r.mu.Lock()
	r.started = nil
	closed := r.closed
	switch {
	case err != nil:
		if r.ended == nil {
			r.ended = translate(err, errorpolicy.ScopeLink)
		}
	case !closed:
		r.consumer = &consumer{tag: tag, deliveries: deliveries}
	}
	r.setLive()
	r.mu.Unlock()
	r.poke()
	if closed { // Close left the consumer, and the link's own queue, to this
		var c *consumer
		if err == nil {
			c = &consumer{tag: tag, deliveries: deliveries}
		}
		ctx, cancel := context.WithTimeout(context.Background(), retireTimeout)
		defer cancel()
		_ = r.retire(ctx, c) // nobody is left to tell; failing, the channel's end does the same
	}
}

// retireTimeout bounds the clean-up start does for a Close that did not wait.
const retireTimeout = 30 * time.Second

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
				if dv := r.take(c, &d); dv != nil {
					return dv, nil
				}
			}
		default:
			if ctx.Err() == nil {
				select {
				case d, ok := <-c.deliveries:
					if ok {
						if dv := r.take(c, &d); dv != nil {
							return dv, nil
						}
					}
				case <-ctx.Done():
				}
			}
		}
	}
	return r.receive(ctx)
}

// take hands out d, just received from c, if a credit is left for it. The
// credit was there when Receive began to wait, but a Drain may have used it
// meanwhile: then d is beyond the credit, and is kept for a later credit or,
// when c is being cancelled with acknowledgements on, given back to the queue.
func (r *receiverLink) take(c *consumer, d *amqp.Delivery) *message.Delivery {
	if r.takeCredit() {
		return newDelivery(d, r.ch, r.noAck, r, &r.names)
	}
	if !r.noAck && c.cancelled.Load() {
		_ = r.ch.wire.Nack(d.DeliveryTag, false, true)
		return nil
	}
	r.mu.Lock()
	r.stash = append(r.stash, *d)
	r.setLive()
	r.mu.Unlock()
	return nil
}

// takeCredit uses one credit, if there is one: the credit never goes below zero.
func (r *receiverLink) takeCredit() bool {
	for {
		n := r.credit.Load()
		if n <= 0 {
			return false
		}
		if r.credit.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// receive is Receive's long way: a stashed delivery first, then the consumer's
// within the credit, waiting for credit or a consumer to start.
func (r *receiverLink) receive(ctx context.Context) (*message.Delivery, error) {
	for {
		r.mu.Lock()
		if len(r.stash) > 0 && r.takeCredit() {
			d := r.stash[0]
			r.stash = r.stash[1:]
			r.setLive()
			r.mu.Unlock()
			return newDelivery(&d, r.ch, r.noAck, r, &r.names), nil
		}
		c, ended := r.consumer, r.ended
		if len(r.stash) > 0 {
			c = nil // the stash goes first: wait for credit
		}
		r.mu.Unlock()
		if c != nil && r.credit.Load() > 0 {
			select {
			case d, ok := <-c.deliveries:
				if !ok {
					if err := r.consumerEnded(ctx, c); err != nil {
						return nil, err
					}
					continue
				}
				if dv := r.take(c, &d); dv != nil {
					return dv, nil
				}
				continue
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
					if dv := r.take(c, &d); dv != nil {
						return dv, nil
					}
					continue
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
		if r.consumer == c { // else a drain or Close has dealt with c's end
			r.consumer = nil
			r.startLocked() // a drain that gave up left credit: a new consumer serves it
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
	if r.draining {
		r.mu.Unlock()
		return errorpolicy.InvalidOption("amqp091: a drain is already in progress")
	}
	for r.started != nil { // a consumer being started is drained once it runs
		started := r.started
		r.mu.Unlock()
		select {
		case <-started:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	c := r.consumer
	if c == nil {
		r.credit.Store(int64(len(r.stash)))
		r.mu.Unlock()
		return nil
	}
	r.draining = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.draining = false
		r.mu.Unlock()
	}()
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
	if r.closed { // Close has run meanwhile: nobody will take these
		r.mu.Unlock()
		r.requeue(stash)
		return nil
	}
	r.stash = append(r.stash, stash...)
	r.credit.Store(int64(len(r.stash))) // Receive takes one per stashed delivery
	if r.consumer == c {
		r.consumer = nil
	}
	r.setLive()
	r.mu.Unlock()
	r.poke()
	return nil
}

// requeue gives deliveries that were never handed out back to the queue (with
// no-ack they cannot go back: they are gone, as with any no-ack consumer).
func (r *receiverLink) requeue(ds []amqp.Delivery) {
	if r.noAck {
		return
	}
	for _, d := range ds {
		_ = r.ch.wire.Nack(d.DeliveryTag, false, true)
	}
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
	if r.ended == nil {
		r.ended = errorpolicy.New(errorpolicy.CondClosed, "receiver is closed", nil)
	}
	c, started, stash := r.consumer, r.started, r.stash
	r.consumer, r.stash = nil, nil
	r.setLive()
	r.mu.Unlock()
	r.poke() // a Receive waiting for credit returns the end
	if r.ch.isDead() {
		return nil
	}
	r.requeue(stash)
	if started != nil {
		return nil // start retires the consumer when the broker has answered
	}
	return r.retire(ctx, c)
}

// retire cancels c (nil: there is none), requeues what it sent that was never
// handed out, and deletes the link's own queue. An error after the channel has
// closed is none: the broker has done all of it.
func (r *receiverLink) retire(ctx context.Context, c *consumer) error {
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
