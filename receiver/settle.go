package receiver

import (
	"context"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// linkSettler settles the deliveries of one link generation. The receiver hands
// out its own Delivery for each driver delivery, so that every settlement passes
// here: the ledger learns of it, and a delivery whose link is gone fails with
// errorpolicy.ErrLinkLost instead of reaching a dead link.
type linkSettler struct {
	r   *Receiver
	gen uint64
}

func wrap(d *message.Delivery, s *linkSettler) *message.Delivery {
	return message.NewDelivery(d.Message, message.DeliveryInfo{
		Tag:         d.Tag,
		Redelivered: d.Redelivered,
		Presettled:  d.Presettled,
		Driver:      d,
	}, s)
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
	if err := d.DriverHandle().(*message.Delivery).Settle(ctx, o); err != nil {
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
