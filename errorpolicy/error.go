package errorpolicy

import (
	"strings"
)

// Error is the error every amqplink layer and driver returns for a failure the peer
// reported or the client detected. errors.Is matches it against the sentinels in this
// package by Condition alone; errors.As reads its fields; Unwrap reaches the driver's
// or the network's own error.
//
// Descriptions come from the peer or from amqplink and never contain credentials.
type Error struct {
	// Condition names the failure (see the Cond constants).
	Condition Condition
	// Description is the peer's or amqplink's explanation.
	Description string
	// Info holds the peer's extra error fields, if any.
	Info map[string]any
	// Scope is what the failure ended.
	Scope Scope
	// Class is what to do next.
	Class Class
	// Remote is true when the peer reported the failure, false when it was detected
	// locally.
	Remote bool
	// ReplyCode is the AMQP 0-9-1 reply code (404, 320, …); 0 for AMQP 1.0.
	ReplyCode uint16
	// Err is the underlying cause, if any.
	Err error
}

// Error formats the scope, condition, description and cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("amqplink: ")
	if e.Scope != ScopeNone {
		b.WriteString(e.Scope.String())
		b.WriteString(" ")
	}
	b.WriteString(string(e.Condition))
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	// A peer's condition and description say it all; the wire library's rendering
	// of the same error would only repeat them.
	if e.Err != nil && !e.Remote {
		if msg := e.Err.Error(); msg != e.Description {
			b.WriteString(": ")
			b.WriteString(msg)
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same, non-empty condition, so that
// errors.Is(err, ErrNotFound) holds for any not-found, whatever its description,
// scope or driver.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Condition != "" && t.Condition == e.Condition
}

// New returns an *Error for cond, classed by the default table, with the given
// description and cause. Drivers use it for locally detected failures.
func New(cond Condition, description string, cause error) *Error {
	return &Error{Condition: cond, Description: description, Class: DefaultClass(cond), Err: cause}
}

// Sentinels for errors.Is. Each matches every *Error with its condition.
var (
	ErrNotFound              = &Error{Condition: CondNotFound}
	ErrUnauthorized          = &Error{Condition: CondUnauthorizedAccess}
	ErrNotAllowed            = &Error{Condition: CondNotAllowed}
	ErrNotImplemented        = &Error{Condition: CondNotImplemented}
	ErrPreconditionFailed    = &Error{Condition: CondPreconditionFailed}
	ErrResourceLimitExceeded = &Error{Condition: CondResourceLimitExceeded}
	ErrResourceLocked        = &Error{Condition: CondResourceLocked}
	ErrResourceDeleted       = &Error{Condition: CondResourceDeleted}
	ErrInvalidField          = &Error{Condition: CondInvalidField}
	ErrInternalError         = &Error{Condition: CondInternalError}
	ErrConnectionForced      = &Error{Condition: CondConnectionForced}
	ErrDetachForced          = &Error{Condition: CondDetachForced}
	ErrMessageSizeExceeded   = &Error{Condition: CondMessageSizeExceeded}
	ErrLinkStolen            = &Error{Condition: CondLinkStolen}
	ErrServerBusy            = &Error{Condition: CondServerBusy}
	ErrTimeout               = &Error{Condition: CondTimeout}
	ErrEntityDisabled        = &Error{Condition: CondEntityDisabled}
	ErrMessageLockLost       = &Error{Condition: CondMessageLockLost}
	ErrSessionLockLost       = &Error{Condition: CondSessionLockLost}

	ErrInvalidURL     = &Error{Condition: CondInvalidURL}
	ErrInvalidOption  = &Error{Condition: CondInvalidOption}
	ErrDialFailed     = &Error{Condition: CondDialFailed}
	ErrTLSVerify      = &Error{Condition: CondTLSVerify}
	ErrConnectionLost = &Error{Condition: CondConnectionLost}
	ErrClosed         = &Error{Condition: CondClosed}
	ErrAlreadySettled = &Error{Condition: CondAlreadySettled}
	ErrNotSettleable  = &Error{Condition: CondNotSettleable}
	ErrLinkLost       = &Error{Condition: CondLinkLost}
	ErrOutcomeUnknown = &Error{Condition: CondOutcomeUnknown}
	ErrNotSupported   = &Error{Condition: CondNotSupported}
	ErrProtocol       = &Error{Condition: CondProtocol}
)

// URLError reports which part of a URL or connection string is unusable. It is
// always wrapped in an *Error with CondInvalidURL, so errors.Is(err, ErrInvalidURL)
// holds; errors.As(err, &urlErr) tells the parts apart. It never holds a password
// or key.
type URLError struct {
	// Part is the offending part: "scheme", "host", "port", "path", "userinfo",
	// "query", or a connection-string key such as "Endpoint".
	Part string
	// Reason says what is wrong with it.
	Reason string
}

func (e *URLError) Error() string { return e.Part + ": " + e.Reason }

// InvalidURL returns the *Error for an unusable part of a URL or connection string.
func InvalidURL(part, reason string) *Error {
	u := &URLError{Part: part, Reason: reason}
	return &Error{Condition: CondInvalidURL, Description: u.Error(), Class: Fatal, Err: u}
}

// InvalidOption returns the *Error for an option that is out of range.
func InvalidOption(format string) *Error {
	return &Error{Condition: CondInvalidOption, Description: format, Class: Fatal}
}
