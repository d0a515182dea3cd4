package receiver

import (
	"context"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// linkSettler settles the deliveries of one link generation. The receiver
// intercepts the settlement of every delivery before handing it out, so that
// every settlement passes here: the ledger learns of it, and a delivery whose
// link is gone fails with errorpolicy.ErrLinkLost instead of reaching a dead
// link.
type linkSettler struct {
	r    *Receiver
	gen  uint64
	link message.Settler // the link that received the deliveries
}

// intercept routes d's settlement through s.
func intercept(d *message.Delivery, s *linkSettler) *message.Delivery {
	d.Intercept(s)
	return d
}

// release releases a delivery the application never saw, on its link, without
// counting it as settled by the application.
func (s *linkSettler) release(ctx context.Context, d *message.Delivery) error {
	return s.link.Settle(ctx, d, message.Released{})
}

func (s *linkSettler) current() bool { return s.r.gen.Load() == s.gen }

func linkLost(cause error) error {
	return errorpolicy.New(errorpolicy.CondLinkLost,
		"the link that received the delivery has ended; the broker will offer the message again", cause)
}

// Settle implements message.Settler.
func (s *linkSettler) Settle(ctx context.Context, d *message.Delivery, o message.Outcome) error {
	if !s.current() {
		return linkLost(nil)
	}
	if err := s.link.Settle(ctx, d, o); err != nil {
		if !s.current() {
			return linkLost(err)
		}
		return err
	}
	r := s.r
	r.settleMu.Lock()
	if r.gen.Load() == s.gen {
		r.appSettled.Add(1)
	}
	r.settleMu.Unlock()
	r.pokeIfDue()
	return nil
}

// Accept settles d as processed. It is d.Accept(ctx).
func (r *Receiver) Accept(ctx context.Context, d *message.Delivery) error { return d.Accept(ctx) }

// Reject settles d as invalid with an error condition, description and info: the
// broker drops or dead-letters it.
func (r *Receiver) Reject(ctx context.Context, d *message.Delivery, condition, description string, info map[string]any) error {
	return d.Settle(ctx, message.Rejected{Condition: condition, Description: description, Info: info})
}

// Release returns d to the broker without blame. It is d.Release(ctx).
func (r *Receiver) Release(ctx context.Context, d *message.Delivery) error { return d.Release(ctx) }

// Modify returns d to the broker with the given changes.
func (r *Receiver) Modify(ctx context.Context, d *message.Delivery, deliveryFailed, undeliverableHere bool, annotations message.Annotations) error {
	return d.Settle(ctx, message.Modified{
		DeliveryFailed:    deliveryFailed,
		UndeliverableHere: undeliverableHere,
		Annotations:       annotations,
	})
}
