package errorpolicy

import "strconv"

// Class is what the caller should do after an error. See the package documentation
// for the rule that assigns a class to a condition.
type Class uint8

const (
	// Fatal: do not retry until something is fixed. It is the zero value so that an
	// error nobody classified is never retried by accident.
	Fatal Class = iota
	// Retry the same operation on the same link after a backoff.
	Retry
	// RecoverLink: re-attach the link (on a new session), then continue.
	RecoverLink
	// RecoverConn: reconnect, then re-attach links and continue.
	RecoverConn
	// Canceled: the caller's context ended; do not retry.
	Canceled
)

var classNames = [...]string{
	Fatal:       "fatal",
	Retry:       "retry",
	RecoverLink: "recover-link",
	RecoverConn: "recover-connection",
	Canceled:    "canceled",
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Scope is what an error ended.
type Scope uint8

const (
	// ScopeNone: nothing ended; the error concerns one operation or message.
	ScopeNone Scope = iota
	// ScopeLink: the link is detached.
	ScopeLink
	// ScopeSession: the session (AMQP 0-9-1: the channel) is ended, with its links.
	ScopeSession
	// ScopeConn: the connection is closed, with its sessions and links.
	ScopeConn
)

var scopeNames = [...]string{ScopeNone: "operation", ScopeLink: "link", ScopeSession: "session", ScopeConn: "connection"}

func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "scope(" + strconv.Itoa(int(s)) + ")"
}
