package sender

import (
	"errors"
	"fmt"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// Sentinels for the outcomes other than Accepted, for errors.Is.
var (
	ErrRejected = errors.New("sender: the peer rejected the message")
	ErrReleased = errors.New("sender: the peer released the message")
	ErrModified = errors.New("sender: the peer modified the message")
)

// ErrInFlight is what Receipt.Outcome returns before the outcome is known.
var ErrInFlight = errors.New("sender: the outcome is not known yet")

// OutcomeError is the error Send and Receipt.Wait return when the peer settled
// a message with anything but Accepted. errors.Is matches ErrRejected,
// ErrReleased or ErrModified; for a rejection with an error condition it also
// matches that condition's errorpolicy sentinel (say ErrResourceLimitExceeded),
// which Unwrap returns.
type OutcomeError struct {
	Outcome message.Outcome
}

func (e *OutcomeError) Error() string {
	if r, ok := e.Outcome.(message.Rejected); ok && r.Condition != "" {
		if r.Description != "" {
			return fmt.Sprintf("sender: the peer rejected the message: %s: %s", r.Condition, r.Description)
		}
		return "sender: the peer rejected the message: " + r.Condition
	}
	return "sender: the peer settled the message as " + e.Outcome.String()
}

// Is matches the sentinel of the outcome.
func (e *OutcomeError) Is(target error) bool {
	switch e.Outcome.(type) {
	case message.Rejected:
		return target == ErrRejected
	case message.Released:
		return target == ErrReleased
	case message.Modified:
		return target == ErrModified
	}
	return false
}

// Unwrap returns the peer's condition of a rejection, as an *errorpolicy.Error.
func (e *OutcomeError) Unwrap() error {
	r, ok := e.Outcome.(message.Rejected)
	if !ok || r.Condition == "" {
		return nil
	}
	cond := errorpolicy.Condition(r.Condition)
	return &errorpolicy.Error{
		Condition:   cond,
		Description: r.Description,
		Info:        r.Info,
		Scope:       errorpolicy.ScopeNone,
		Class:       errorpolicy.DefaultClass(cond),
		Remote:      true,
	}
}

// outcomeErr is nil for Accepted and an *OutcomeError otherwise.
func outcomeErr(o message.Outcome) error {
	if _, ok := o.(message.Accepted); ok || o == nil {
		return nil
	}
	return &OutcomeError{Outcome: o}
}
