package amqp10

import (
	"context"
	"errors"
	"strings"

	amqp "github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/netdial"
)

// translate turns any error go-amqp returns into an *errorpolicy.Error. scope is
// what the failing call concerned (a refused attach comes back as a bare *amqp.Error
// and still means the link never came up). Context errors are returned unchanged:
// errorpolicy.ClassOf already classes them Canceled, and callers expect
// errors.Is(err, context.DeadlineExceeded) to hold.
func translate(err error, scope errorpolicy.Scope) error {
	if err == nil {
		return nil
	}
	var already *errorpolicy.Error
	if errors.As(err, &already) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}

	var (
		linkErr *amqp.LinkError
		sessErr *amqp.SessionError
		connErr *amqp.ConnError
		remote  *amqp.Error
	)
	switch {
	case errors.As(err, &connErr):
		return fromEnded(err, connErr.RemoteErr, errorpolicy.ScopeConn, errorpolicy.CondConnectionLost)
	case errors.As(err, &sessErr):
		return fromEnded(err, sessErr.RemoteErr, errorpolicy.ScopeSession, errorpolicy.CondClosed)
	case errors.As(err, &linkErr):
		return fromEnded(err, linkErr.RemoteErr, errorpolicy.ScopeLink, errorpolicy.CondClosed)
	case errors.As(err, &remote):
		// Either the peer's error (a refused attach, a rejected transfer) or one
		// go-amqp raised locally with a standard condition (message too large,
		// credit never came).
		e := fromAMQP(remote, scope)
		e.Err = err
		return e
	}
	return errorpolicy.New(errorpolicy.CondProtocol, err.Error(), err)
}

// fromEnded builds the error for a link, session or connection that ended. With no
// remote error it ended locally: closed by us, or (for a connection) lost to the
// network, in which case go-amqp keeps the cause unexported and only its text
// survives, in Err.
func fromEnded(err error, remote *amqp.Error, scope errorpolicy.Scope, localCond errorpolicy.Condition) *errorpolicy.Error {
	if remote != nil {
		e := fromAMQP(remote, scope)
		e.Err = err
		return e
	}
	cond, desc := localCond, err.Error()
	// go-amqp ends a link itself with "<condition>: <description>" text when the
	// peer breaks a rule (a message over the size limit, a non-closing detach).
	// The condition is not exported any other way.
	if c, d, ok := strings.Cut(desc, ": "); ok && strings.HasPrefix(c, "amqp:") {
		cond, desc = errorpolicy.Condition(c), d
	}
	if scope == errorpolicy.ScopeConn && (desc == "amqp: connection closed" || strings.Contains(desc, "use of closed network connection")) && cond == localCond {
		cond = errorpolicy.CondClosed
	}
	return &errorpolicy.Error{Condition: cond, Description: desc, Scope: scope, Class: classFor(cond, scope), Err: err}
}

// fromAMQP converts a peer's (or go-amqp's) *amqp.Error.
func fromAMQP(e *amqp.Error, scope errorpolicy.Scope) *errorpolicy.Error {
	cond := errorpolicy.Condition(e.Condition)
	return &errorpolicy.Error{
		Condition:   cond,
		Description: e.Description,
		Info:        e.Info,
		Scope:       scope,
		Class:       classFor(cond, scope),
		Remote:      !locallyRaised(cond),
	}
}

// locallyRaised reports conditions go-amqp raises itself before anything is sent.
func locallyRaised(cond errorpolicy.Condition) bool {
	return cond == errorpolicy.CondMessageSizeExceeded || cond == errorpolicy.CondTransferLimitExceeded
}

// classFor is the default table, except that a condition the table does not know
// is classed by what ended: a lost connection or link is rebuilt (that repeats no
// effect), an operation error is fatal.
func classFor(cond errorpolicy.Condition, scope errorpolicy.Scope) errorpolicy.Class {
	if errorpolicy.Known(cond) {
		return errorpolicy.DefaultClass(cond)
	}
	switch scope {
	case errorpolicy.ScopeConn:
		return errorpolicy.RecoverConn
	case errorpolicy.ScopeLink, errorpolicy.ScopeSession:
		return errorpolicy.RecoverLink
	}
	return errorpolicy.Fatal
}

// dialError classifies a failure to reach the broker or to complete the handshake.
func dialError(err error, stage string) error {
	if e := netdial.Error(err, stage); e != nil {
		return e
	}
	// go-amqp reports SASL outcomes as plain text; this is the only way to tell a
	// refused login from a protocol failure.
	if msg := err.Error(); strings.Contains(msg, "auth failed") || strings.Contains(msg, "no supported auth mechanism") {
		e := errorpolicy.New(errorpolicy.CondUnauthorizedAccess, "SASL authentication failed", err)
		e.Scope = errorpolicy.ScopeConn
		e.Remote = true
		return e
	}
	var connErr *amqp.ConnError
	if errors.As(err, &connErr) {
		return translate(err, errorpolicy.ScopeConn)
	}
	return errorpolicy.New(errorpolicy.CondProtocol, stage+": "+err.Error(), err)
}
