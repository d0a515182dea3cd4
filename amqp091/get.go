package amqp091

import (
	"context"
	"errors"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/message"
)

// ErrEmpty is Get's answer when the queue has no message ready (basic.get-empty).
// It is a result, not a failure: test for it with errors.Is.
var ErrEmpty = errors.New("amqp091: the queue is empty")

// Get takes one message from queue, if one is ready, with basic.get: a poll, for
// the occasional message; a receiver (basic.consume) is the way to take many.
// When the queue is empty it returns ErrEmpty.
//
// With autoAck the broker forgets the message as it sends it, and the delivery
// comes settled. Otherwise settle it like any delivery (Accept, Release,
// Reject, Modify): Get runs on a channel of its own, which stays open, holding
// the message, until the delivery is settled; the broker delivers the message
// again if the connection ends first.
//
// Errors are *errorpolicy.Error: errorpolicy.ErrNotFound for a missing queue
// (a channel exception, which costs Get's own channel only), or the
// connection's failure.
func Get(ctx context.Context, c *Conn, queue string, autoAck bool) (*message.Delivery, error) {
	if err := checkConn(c); err != nil {
		return nil, err
	}
	ch, err := openChannel(ctx, c)
	if err != nil {
		return nil, err
	}
	type result struct {
		d  amqp.Delivery
		ok bool
	}
	r, err := call(ctx, func() (result, error) {
		d, ok, err := ch.Get(queue, autoAck)
		return result{d, ok}, err
	})
	switch {
	case err != nil:
		err = ch.error(c, err)
		ch.close(ctx)
		return nil, err
	case !r.ok:
		ch.close(ctx)
		return nil, ErrEmpty
	case autoAck:
		ch.close(ctx)
		return newDelivery(&r.d, nil, true, getSettler{}, nil), nil
	}
	return newDelivery(&r.d, newChannel(ch.Channel), false, getSettler{}, nil), nil
}

// getSettler settles Get's deliveries, then closes the channel Get opened for
// the delivery.
type getSettler struct{}

func (getSettler) Settle(ctx context.Context, d *message.Delivery, o message.Outcome) error {
	if err := settle(d, o); err != nil {
		return err
	}
	if ref, ok := d.DriverHandle().(*deliveryRef); ok && ref.ch != nil {
		_ = ref.ch.close(ctx) // after the settlement, which the broker reads first
	}
	return nil
}
