package servicebus

import (
	"context"
	"fmt"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// LockedUntilAnnotation is the message annotation in which Service Bus tells
// until when a PeekLock delivery stays locked.
const LockedUntilAnnotation = "x-opt-locked-until"

// SequenceNumberAnnotation is the message annotation carrying the number Service
// Bus gives each message as it enters the entity; Peek starts from one.
const SequenceNumberAnnotation = "x-opt-sequence-number"

// LockedUntil is when d's lock expires, as the service stamped it on delivery.
// It does not see renewals; RenewLock returns the new expiry.
func LockedUntil(d *message.Delivery) (time.Time, bool) {
	if d == nil || d.Message == nil {
		return time.Time{}, false
	}
	t, ok := d.Message.Annotations[LockedUntilAnnotation].(time.Time)
	return t, ok
}

// SequenceNumber is the service's sequence number of m.
func SequenceNumber(m *message.Message) (int64, bool) {
	if m == nil {
		return 0, false
	}
	return int64Of(m.Annotations[SequenceNumberAnnotation])
}

// RenewLocks extends the locks of the messages with the given lock tokens by the
// entity's lock duration, and returns their new expiries in the same order. A
// token whose lock is already gone fails the call with
// errorpolicy.ErrMessageLockLost.
func (m *Management) RenewLocks(ctx context.Context, tokens ...message.UUID) ([]time.Time, error) {
	if len(tokens) == 0 {
		return nil, nil
	}
	body, err := m.request(ctx, "com.microsoft:renew-lock", map[string]any{"lock-tokens": tokens})
	if err != nil {
		return nil, err
	}
	v, _ := field(body, "expirations")
	exp := times(v)
	if len(exp) != len(tokens) {
		return nil, errorpolicy.New(errorpolicy.CondProtocol,
			fmt.Sprintf("servicebus: renew-lock answered %d expirations for %d lock tokens", len(exp), len(tokens)), nil)
	}
	return exp, nil
}

// RenewLock extends the lock of one delivery; see RenewLocks.
func (m *Management) RenewLock(ctx context.Context, d *message.Delivery) (time.Time, error) {
	if d == nil || d.LockToken == nil {
		return time.Time{}, errorpolicy.InvalidOption("servicebus: the delivery has no lock token (ReceiveAndDelete, or not from Service Bus)")
	}
	exp, err := m.RenewLocks(ctx, *d.LockToken)
	if err != nil {
		return time.Time{}, err
	}
	return exp[0], nil
}
