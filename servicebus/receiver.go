package servicebus

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/session"
)

// ReceiverOptions configures a Receiver. The zero value (or nil) gives the
// defaults.
type ReceiverOptions struct {
	// Receiver configures the underlying receiver (prefetch, mode, concurrency,
	// policy, logger…); see receiver.Options for its defaults. Its
	// ConfirmSettlement is always on in PeekLock, as Service Bus clients do, so
	// that a settlement after the lock expired fails with
	// errorpolicy.ErrMessageLockLost instead of being dropped by the service.
	Receiver receiver.Options
	// AutoRenewLock keeps the lock of each PeekLock delivery alive while a Run
	// handler works on it, for at most this long after the delivery was
	// received: the lock is renewed through $management before it expires,
	// on a timer that does not depend on the handler. Default: 0, no renewal.
	AutoRenewLock time.Duration
}

// Receiver is a receiver.Receiver for a Service Bus style entity: deliveries
// carry lock tokens, locks can be renewed, and a delivery whose link is gone
// (the receiver recovered) is settled through the entity's $management node
// while its lock holds, instead of failing with errorpolicy.ErrLinkLost.
type Receiver struct {
	*receiver.Receiver
	mgmt *Management
	opts ReceiverOptions
	log  *slog.Logger
}

// NewReceiver attaches a receiver to entity on sess, and a management client to
// its $management node.
func NewReceiver(ctx context.Context, sess *session.Session, entity string, o *ReceiverOptions) (*Receiver, error) {
	var opts ReceiverOptions
	if o != nil {
		opts = *o
	}
	if opts.AutoRenewLock < 0 {
		return nil, errorpolicy.InvalidOption("servicebus: AutoRenewLock is negative")
	}
	opts.Receiver.ConfirmSettlement = true
	mgmt, err := NewManagement(ctx, sess, entity)
	if err != nil {
		return nil, err
	}
	rcv, err := receiver.New(ctx, sess, entity, &opts.Receiver)
	if err != nil {
		_ = mgmt.Close(ctx)
		return nil, err
	}
	log := opts.Receiver.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Receiver{Receiver: rcv, mgmt: mgmt, opts: opts, log: log}, nil
}

// Management is the receiver's client for its entity's $management node.
func (r *Receiver) Management() *Management { return r.mgmt }

// RenewLock extends d's lock and returns its new expiry.
func (r *Receiver) RenewLock(ctx context.Context, d *message.Delivery) (time.Time, error) {
	return r.mgmt.RenewLock(ctx, d)
}

// Receive returns the next delivery; see receiver.Receiver.Receive.
func (r *Receiver) Receive(ctx context.Context) (*message.Delivery, error) {
	d, err := r.Receiver.Receive(ctx)
	if err != nil {
		return nil, err
	}
	return r.adopt(d), nil
}

// ReceiveBatch returns a batch of deliveries; see receiver.Receiver.ReceiveBatch.
func (r *Receiver) ReceiveBatch(ctx context.Context, limit int, o *receiver.BatchOptions) ([]*message.Delivery, error) {
	ds, err := r.Receiver.ReceiveBatch(ctx, limit, o)
	for _, d := range ds {
		r.adopt(d)
	}
	return ds, err
}

// All iterates over deliveries; see receiver.Receiver.All.
func (r *Receiver) All(ctx context.Context) iter.Seq2[*message.Delivery, error] {
	return func(yield func(*message.Delivery, error) bool) {
		for {
			d, err := r.Receive(ctx)
			if !yield(d, err) || err != nil {
				return
			}
		}
	}
}

// Run calls h for each delivery as receiver.Receiver.Run does; with
// AutoRenewLock set, each delivery's lock is renewed while h works on it.
func (r *Receiver) Run(ctx context.Context, h receiver.Handler) error {
	return r.Receiver.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
		r.adopt(d)
		if r.opts.AutoRenewLock > 0 && d.LockToken != nil && !d.Settled() {
			stop := r.keepLocked(d)
			defer stop()
		}
		return h(ctx, d)
	})
}

// Close closes the receiver and its management client.
func (r *Receiver) Close(ctx context.Context) error {
	return errors.Join(r.Receiver.Close(ctx), r.mgmt.Close(ctx))
}

// adopt routes d's settlement through the management fallback. Presettled
// deliveries and those without a lock token have nothing to fall back to.
func (r *Receiver) adopt(d *message.Delivery) *message.Delivery {
	if d.LockToken == nil || d.Presettled {
		return d
	}
	f := &fallbackSettler{mgmt: r.mgmt, log: r.log}
	f.next = d.Intercept(f)
	return d
}

// fallbackSettler settles on the receiving link and, when that link is gone,
// by lock token through $management.
type fallbackSettler struct {
	next message.Settler
	mgmt *Management
	log  *slog.Logger
}

func (f *fallbackSettler) Settle(ctx context.Context, d *message.Delivery, o message.Outcome) error {
	err := f.next.Settle(ctx, d, o)
	if err == nil || !errors.Is(err, errorpolicy.ErrLinkLost) {
		return err
	}
	if merr := f.mgmt.Settle(ctx, *d.LockToken, o); merr != nil {
		return merr
	}
	f.log.Debug("settled through $management after the link was lost", "lock_token", d.LockToken.String())
	return nil
}
