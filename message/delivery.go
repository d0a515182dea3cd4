package message

import (
	"context"
	"sync/atomic"

	"github.com/amqplink/amqplink/errorpolicy"
)

// LockTokenAnnotation is the message annotation that carries a Service Bus lock token.
const LockTokenAnnotation = "x-opt-lock-token"

// Settler settles deliveries on the link that received them. Drivers implement it;
// applications call the Delivery's methods instead.
type Settler interface {
	Settle(ctx context.Context, d *Delivery, o Outcome) error
}

// Delivery is a message received on a link, with what is needed to settle it.
// Its settle methods are safe for concurrent use: the first settlement wins, and a
// later one returns an error matching errorpolicy.ErrAlreadySettled.
type Delivery struct {
	// Message is the received message.
	Message *Message

	// Tag is the delivery tag (AMQP 1.0) or the delivery tag as 8 big-endian
	// bytes (AMQP 0-9-1).
	Tag []byte

	// LockToken is the Service Bus lock token: the x-opt-lock-token annotation, or
	// the delivery tag when it is a 16-byte GUID. Nil when there is none.
	LockToken *UUID

	// DeliveryCount is the number of earlier delivery attempts the peer reports
	// (AMQP 1.0 header delivery-count; AMQP 0-9-1 knows only Redelivered).
	DeliveryCount uint32

	// Redelivered is true when the message may have been delivered before.
	Redelivered bool

	// Presettled is true when the sender settled the delivery before sending it
	// (ReceiveAndDelete): the broker has already forgotten it.
	Presettled bool

	settler Settler
	state   atomic.Uint32 // deliveryUnsettled, deliverySettling or deliverySettled
	driver  any
}

const (
	deliveryUnsettled uint32 = iota
	deliverySettling
	deliverySettled
)

// DeliveryInfo is what a driver knows about a received delivery besides the message.
type DeliveryInfo struct {
	Tag         []byte
	Redelivered bool
	Presettled  bool
	// Driver is the driver's own handle for the delivery (its wire message, say),
	// returned by DriverHandle. It lets a Settler settle the original, never a copy.
	Driver any
}

// NewDelivery is for drivers: it wraps a received message, with the Settler of the
// link that received it. The lock token and delivery count are derived from the
// message and tag.
func NewDelivery(m *Message, info DeliveryInfo, s Settler) *Delivery {
	d := new(Delivery)
	InitDelivery(d, m, info, s)
	return d
}

// InitDelivery is NewDelivery for a driver that allocates the Delivery together
// with the message it wraps, to spend one allocation per received message
// instead of several: it sets up d, which must be zero and not yet shared with
// anyone, as NewDelivery sets up the one it returns.
func InitDelivery(d *Delivery, m *Message, info DeliveryInfo, s Settler) {
	*d = Delivery{
		Message:     m,
		Tag:         info.Tag,
		Redelivered: info.Redelivered,
		Presettled:  info.Presettled,
		settler:     s,
		driver:      info.Driver,
	}
	if m != nil && m.Header != nil {
		d.DeliveryCount = m.Header.DeliveryCount
		if d.DeliveryCount > 0 {
			d.Redelivered = true
		}
	}
	d.LockToken = lockToken(m, info.Tag)
	if info.Presettled {
		d.state.Store(deliverySettled)
	}
}

// Intercept makes s the delivery's Settler and returns the one it replaces, so
// that a layer between the driver and the application (package receiver, say)
// sees every settlement and passes it on. Call it before the delivery is handed
// to anyone else: it is not safe for concurrent use with settlement.
func (d *Delivery) Intercept(s Settler) (next Settler) {
	next, d.settler = d.settler, s
	return next
}

// DriverHandle returns the driver's handle given in DeliveryInfo. Only the driver
// that made the delivery knows what it is.
func (d *Delivery) DriverHandle() any { return d.driver }

// Settled reports whether the delivery has been settled, by the sender or by a call
// on this Delivery.
func (d *Delivery) Settled() bool { return d.state.Load() == deliverySettled }

// Settle settles the delivery with o on the link that received it.
// It fails with errorpolicy.ErrAlreadySettled when the delivery is already settled
// or is being settled by another call, and with errorpolicy.ErrNotSettleable when it
// was not received from a link. If settling fails for another reason the delivery
// stays unsettled, so the call may be repeated.
func (d *Delivery) Settle(ctx context.Context, o Outcome) error {
	if d.settler == nil {
		return errorpolicy.New(errorpolicy.CondNotSettleable, "the delivery was not received from a link", nil)
	}
	if !d.state.CompareAndSwap(deliveryUnsettled, deliverySettling) {
		desc := "the delivery is already settled"
		if d.Presettled {
			desc = "the delivery was settled by its sender (receive-and-delete)"
		}
		return errorpolicy.New(errorpolicy.CondAlreadySettled, desc, nil)
	}
	if err := d.settler.Settle(ctx, d, o); err != nil {
		d.state.Store(deliveryUnsettled)
		return err
	}
	d.state.Store(deliverySettled)
	return nil
}

// Accept settles the delivery as processed.
func (d *Delivery) Accept(ctx context.Context) error { return d.Settle(ctx, Accepted{}) }

// Release returns the delivery to the broker without blame.
func (d *Delivery) Release(ctx context.Context) error { return d.Settle(ctx, Released{}) }

// Reject settles the delivery as invalid: the broker drops or dead-letters it.
// condition may be empty; it defaults to nothing on the wire.
func (d *Delivery) Reject(ctx context.Context, condition, description string) error {
	return d.Settle(ctx, Rejected{Condition: condition, Description: description})
}

// Modify returns the delivery to the broker with changes (see Modified).
func (d *Delivery) Modify(ctx context.Context, m Modified) error { return d.Settle(ctx, m) }

// lockToken finds the Service Bus lock token: the annotation first, then a 16-byte
// delivery tag, which Service Bus writes in .NET GUID byte order.
func lockToken(m *Message, tag []byte) *UUID {
	if m != nil {
		if v, ok := m.Annotations[LockTokenAnnotation]; ok {
			if u, ok := v.(UUID); ok {
				return &u
			}
		}
	}
	if len(tag) != 16 {
		return nil
	}
	u := UUIDFromGUIDBytes(tag)
	return &u
}

// UUIDFromGUIDBytes converts 16 bytes in .NET System.Guid byte order (the first
// three groups little-endian) into a UUID in standard byte order.
func UUIDFromGUIDBytes(b []byte) UUID {
	var u UUID
	u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
	u[4], u[5] = b[5], b[4]
	u[6], u[7] = b[7], b[6]
	copy(u[8:], b[8:16])
	return u
}

// GUIDBytes returns u in .NET System.Guid byte order, the inverse of
// UUIDFromGUIDBytes.
func (u UUID) GUIDBytes() [16]byte {
	var b [16]byte
	b[0], b[1], b[2], b[3] = u[3], u[2], u[1], u[0]
	b[4], b[5] = u[5], u[4]
	b[6], b[7] = u[7], u[6]
	copy(b[8:], u[8:])
	return b
}
