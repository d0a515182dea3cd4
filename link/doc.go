// Package link is the contract between amqplink's protocol-neutral layers and its
// protocol drivers, as database/sql/driver is for database/sql.
//
// A driver (amqp10 for AMQP 1.0, amqp091 for AMQP 0-9-1) implements Conn, Session,
// ReceiverLink and SenderLink. The session, receiver and sender packages use only
// these interfaces, never a driver, so the same receive and send code serves both
// protocol families. Applications rarely implement or call this package directly.
//
// # The contract
//
//   - Conn is one network connection. Done is closed when it ends; Err says why.
//   - Session is an AMQP 1.0 session or an AMQP 0-9-1 channel.
//   - ReceiverLink delivers messages against credit the caller issues. Credit is
//     always manual: the driver never grants credit on its own, so the caller's
//     ledger is the single source of truth. Deliveries settle through their own
//     methods (message.Delivery), which route to the link that received them.
//   - SenderLink sends a message and returns a Receipt for its outcome.
//
// Optional capabilities a driver may lack are small interfaces checked with a type
// assertion, never methods that fail on some drivers: Drainer (the peer answers a
// drain request).
//
// Every error a driver returns is an *errorpolicy.Error (or wraps one) carrying the
// condition, scope, class and cause. Every blocking method takes a context and
// returns when it ends.
//
// Options structs use zero values for defaults, documented on each field; a driver
// calls WithDefaults and Validate before using one.
package link
