package amqp091

import (
	"context"
	"errors"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// Tx is a transaction in progress (see Conn.Tx). Use it only within the function
// given to Conn.Tx.
type Tx struct {
	c  *Conn
	ch *opChannel
}

// Tx runs f in a transaction on a channel of its own (tx.select): what f
// publishes through tx reaches the queues together when f returns nil and the
// broker commits (tx.commit), and not at all when f returns an error (tx.rollback;
// f's error is returned) or panics (the channel is closed, which discards the
// transaction).
//
// A transaction is atomic per queue, not across queues, and RabbitMQ does not
// return unroutable messages of a transaction: a message no queue is bound for
// is dropped when committed. Nothing is ever published twice: when the
// connection ends before the broker answers the commit, Tx fails with
// errorpolicy.ErrOutcomeUnknown (the commit may or may not have happened) and
// it is the caller's decision whether to publish again. A broker exception on
// the channel (errorpolicy.ErrNotFound for a missing exchange, say) means the
// transaction was not committed.
func (c *Conn) Tx(ctx context.Context, f func(tx *Tx) error) error {
	ch, err := openChannel(ctx, c)
	if err != nil {
		return err
	}
	defer ch.close(ctx)
	if _, err := call(ctx, func() (struct{}, error) { return struct{}{}, ch.Channel.Tx() }); err != nil {
		return ch.error(c, err)
	}
	if err := f(&Tx{c: c, ch: ch}); err != nil {
		_, _ = call(ctx, func() (struct{}, error) { return struct{}{}, ch.TxRollback() })
		return err
	}
	if _, err := call(ctx, func() (struct{}, error) { return struct{}{}, ch.TxCommit() }); err != nil {
		err = ch.error(c, err)
		var e *errorpolicy.Error
		if errors.As(err, &e) && e.Remote && e.Scope == errorpolicy.ScopeSession {
			return err // the broker closed the channel: nothing was committed
		}
		out := errorpolicy.New(errorpolicy.CondOutcomeUnknown,
			"the transaction's commit was not answered; it may or may not have been committed", err)
		out.Scope = errorpolicy.ScopeSession
		return out
	}
	return nil
}

// Publish publishes m to address (see Address) as part of the transaction. The
// routing key is the address's, or for an exchange address without one the
// message's Subject. It fails when the transaction's channel has closed (with
// the broker's reason) or m has no AMQP 0-9-1 form.
func (tx *Tx) Publish(ctx context.Context, address string, m *message.Message) error {
	addr, err := ParseAddress(address)
	if err != nil {
		return err
	}
	p, err := toPublishing(m)
	if err != nil {
		return err
	}
	key := addr.RoutingKey
	if !addr.KeyGiven && m.Properties != nil && m.Properties.Subject != nil {
		key = *m.Properties.Subject
	}
	if err := tx.ch.PublishWithContext(ctx, addr.Exchange, key, false, false, p); err != nil {
		return tx.ch.error(tx.c, err)
	}
	return nil
}
