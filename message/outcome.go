package message

import "fmt"

// Outcome is the terminal state a receiver settles a delivery with, or a sender
// learns from the peer: Accepted, Rejected, Released or Modified.
type Outcome interface {
	fmt.Stringer
	outcome()
}

// Accepted: the message was processed; the broker forgets it.
// AMQP 0-9-1: basic.ack (receiver) or a publisher confirm ack (sender).
type Accepted struct{}

// Rejected: the message is invalid and must not be redelivered; brokers drop it or
// move it to a dead-letter queue. AMQP 0-9-1: basic.reject with requeue=false.
type Rejected struct {
	// Condition is the AMQP error condition, e.g. "amqp:precondition-failed".
	Condition string
	// Description is a human-readable reason.
	Description string
	// Info carries extra details; keys are symbols.
	Info map[string]any
}

// Released: the message was not processed and nobody is to blame; the broker may
// deliver it again without counting an attempt. AMQP 0-9-1: basic.nack requeue=true.
type Released struct {
	// Reason is the peer's explanation, when it gives one: a sender learns why
	// the broker released its message (AMQP 0-9-1: a mandatory message came
	// back with basic.return, e.g. "NO_ROUTE (312)"). It is not sent when
	// settling.
	Reason string
}

// Modified: like Released, with changes. DeliveryFailed counts the attempt,
// UndeliverableHere asks the broker not to deliver the message to this link again,
// and Annotations are merged into the message annotations.
// AMQP 0-9-1: basic.nack with requeue = !UndeliverableHere.
type Modified struct {
	DeliveryFailed    bool
	UndeliverableHere bool
	Annotations       Annotations
}

func (Accepted) outcome() {}
func (Rejected) outcome() {}
func (Released) outcome() {}
func (Modified) outcome() {}

func (Accepted) String() string { return "accepted" }
func (r Released) String() string {
	if r.Reason == "" {
		return "released"
	}
	return "released(" + r.Reason + ")"
}

func (r Rejected) String() string {
	if r.Condition == "" && r.Description == "" {
		return "rejected"
	}
	return fmt.Sprintf("rejected(%s: %s)", r.Condition, r.Description)
}

func (m Modified) String() string {
	return fmt.Sprintf("modified(delivery-failed=%t, undeliverable-here=%t)", m.DeliveryFailed, m.UndeliverableHere)
}
