package amqp091

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
)

// translate turns an error from amqp091-go into an *errorpolicy.Error. scope is
// what ends when the error is a broker exception: ScopeSession for a channel
// exception (the channel is closed, the connection lives), ScopeConn for a
// connection exception. Context errors are returned unchanged.
func translate(err error, scope errorpolicy.Scope) error {
	if err == nil {
		return nil
	}
	var already *errorpolicy.Error
	if errors.As(err, &already) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		if ae == amqp.ErrChannelMax {
			// Raised locally: every channel number is in use. The connection is
			// fine; only this session (or link) cannot open a channel.
			return errorpolicy.New(errorpolicy.CondResourceLimitExceeded, ae.Reason, err)
		}
		if ae == amqp.ErrClosed || (!ae.Server && ae.Code == amqp.ChannelError) {
			// Raised locally on a channel or connection that is already closed.
			cond := errorpolicy.CondLinkLost
			if scope == errorpolicy.ScopeConn {
				cond = errorpolicy.CondConnectionLost
			}
			e := errorpolicy.New(cond, ae.Reason, err)
			e.Scope = scope
			return e
		}
		if !ae.Server {
			e := errorpolicy.New(errorpolicy.CondConnectionLost, ae.Reason, err)
			e.Scope = errorpolicy.ScopeConn
			return e
		}
		e := errorpolicy.FromReplyCode(uint16(ae.Code), ae.Reason, scope)
		e.Err = err
		return e
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		e := errorpolicy.New(errorpolicy.CondConnectionLost, "the connection was lost", err)
		e.Scope = errorpolicy.ScopeConn
		return e
	}
	e := errorpolicy.New(errorpolicy.CondProtocol, fmt.Sprintf("amqp091: %v", err), err)
	e.Scope = scope
	return e
}

// errConsumerCancelled is the error of a receiver whose consumer the broker
// cancelled (its queue was deleted, or a quorum queue lost its leader): the
// link is gone, and attaching again is the recovery (404 if the queue is gone).
func errConsumerCancelled(queue string) error {
	e := errorpolicy.New(errorpolicy.CondDetachForced, "the broker cancelled the consumer on queue "+queue, nil)
	e.Scope = errorpolicy.ScopeLink
	e.Remote = true
	return e
}
