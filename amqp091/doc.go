// Package amqp091 is the AMQP 0-9-1 driver (RabbitMQ's native protocol), over
// github.com/rabbitmq/amqp091-go. It implements the driver contract in package
// link, so receivers and senders work on it unchanged; amqplink.Dial with
// Options.Protocol = amqplink.AMQP091 chooses it.
//
// How the AMQP 1.0 concepts map:
//
//	session            a channel (opened again after a channel exception)
//	receiver link      basic.consume; credit is counted by the driver, and the
//	                   consumer's prefetch count (basic.qos) is the credit
//	                   outstanding when it starts
//	PeekLock           manual acknowledgement
//	ReceiveAndDelete   no-ack (RabbitMQ ignores the prefetch count then)
//	Accepted           basic.ack
//	Rejected           basic.reject, requeue=false (dead-lettered if so set)
//	Released           basic.nack, requeue=true
//	Modified           basic.nack, requeue = !UndeliverableHere
//	drain              basic.cancel; the next credit starts a new consumer
//	sender Unsettled   mandatory publish with publisher confirms: ack → Accepted,
//	                   nack → Rejected, basic.return → Released{Reason}
//	sender Settled     plain publish
//
// Addresses use RabbitMQ's AMQP 1.0 syntax (see Address), so the same address
// works on both drivers. Messages map the way RabbitMQ maps 0-9-1 to 1.0 (see
// convertDelivery and toPublishing): properties keep their names, headers are
// application properties, the exchange and routing key arrive as the x-exchange
// and x-routing-key message annotations.
//
// Topology declares exchanges, queues and bindings, each on a channel of its own,
// and records them; with Options.Topology, Dial replays them on every new
// connection (robust mode). Get is basic.get; Conn.Tx runs a transaction.
//
// Errors are *errorpolicy.Error with the broker's reply code (ReplyCode) and the
// class errorpolicy.FromReplyCode gives it. A channel exception costs that
// channel and its links, not the connection. A consumer the broker cancels
// (its queue was deleted) ends the receiver with errorpolicy.ErrDetachForced.
package amqp091
