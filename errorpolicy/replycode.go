package errorpolicy

import "strconv"

// replyCodes maps each AMQP 0-9-1 reply code to the AMQP 1.0 condition nearest in
// meaning and to its class, which may differ from that condition's 1.0 class
// where 0-9-1 means something more specific.
var replyCodes = map[uint16]struct {
	cond  Condition
	class Class
}{
	311: {CondMessageSizeExceeded, Fatal},    // content-too-large
	312: {CondNotFound, Fatal},               // no-route: nothing is bound for it
	313: {CondResourceLimitExceeded, Retry},  // no-consumers: one may come
	320: {CondConnectionForced, RecoverConn}, // connection-forced (broker shutdown, admin)
	403: {CondUnauthorizedAccess, Fatal},     // access-refused
	404: {CondNotFound, Fatal},               // not-found
	405: {CondResourceLocked, Retry},         // resource-locked: another connection's exclusive queue, freed when it closes
	406: {CondPreconditionFailed, Fatal},     // precondition-failed (mismatched declare, unknown delivery tag)
	501: {CondFramingError, RecoverConn},     // frame-error
	502: {CondDecodeError, RecoverConn},      // syntax-error
	503: {CondIllegalState, RecoverConn},     // command-invalid
	504: {CondErrantLink, RecoverLink},       // channel-error: open a new channel
	505: {CondFramingError, RecoverConn},     // unexpected-frame
	506: {CondResourceLimitExceeded, Retry},  // resource-error: the server is short of resources
	530: {CondNotAllowed, Fatal},             // not-allowed
	540: {CondNotImplemented, Fatal},         // not-implemented
	541: {CondInternalError, RecoverConn},    // internal-error
}

// FromReplyCode returns the *Error for an AMQP 0-9-1 reply code and text, ending
// scope (ScopeSession for a channel exception, ScopeConn for a connection
// exception). An unknown code is Fatal, with a condition naming the code.
func FromReplyCode(code uint16, text string, scope Scope) *Error {
	e := &Error{Description: text, Scope: scope, Remote: true, ReplyCode: code}
	if m, ok := replyCodes[code]; ok {
		e.Condition, e.Class = m.cond, m.class
		return e
	}
	e.Condition = Condition("amqp091:reply-code-" + strconv.Itoa(int(code)))
	return e
}

// ReplyCodes returns the class of every AMQP 0-9-1 reply code amqplink knows.
func ReplyCodes() map[uint16]Class {
	out := make(map[uint16]Class, len(replyCodes))
	for code, m := range replyCodes {
		out[code] = m.class
	}
	return out
}
