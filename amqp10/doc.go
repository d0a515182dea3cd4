// Package amqp10 is amqplink's AMQP 1.0 driver, built on github.com/Azure/go-amqp.
// It implements the contract in package link; applications normally reach it
// through amqplink.Dial and use the session, receiver and sender packages.
//
// What it adds to go-amqp:
//
//   - URLs and options are validated up front, and every failure is an
//     *errorpolicy.Error with a condition, scope and recovery class: a refused TCP
//     connection, a certificate that does not verify and refused credentials are
//     told apart (go-amqp reports the last as plain text).
//   - Receiver links always use manual credit; the caller's ledger grants it.
//   - Deliveries settle through the link that received them, with the original wire
//     message, so a converted copy is never settled by mistake.
//   - Sender links enforce the local maximum message size even when the peer
//     advertises none, before anything is written.
//   - Peers with known quirks are handled: RabbitMQ 3.x answers a link's closing
//     detach with a non-closing one, which go-amqp waits for forever; on such a peer
//     a link close sends its detach and the session is ended once its last link is
//     gone. RabbitMQ also ends the whole session when it refuses an attach; the
//     session begins a new one for the next attach.
//
// # Goroutines
//
// go-amqp runs a reader and a writer per connection and a multiplexer per session
// and per link. This driver adds none of its own, except for the duration of a
// Conn.Close, whose wait on go-amqp is bounded by go-amqp's write timeout.
package amqp10
