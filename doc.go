// Package amqplink is a client for link-oriented, asynchronous messaging over AMQP
// 1.0 (Azure Service Bus, Event Hubs, RabbitMQ, ActiveMQ Artemis, Qpid, Solace…),
// with an AMQP 0-9-1 driver on the way, so that one message model and one receive
// and send API cover both protocol families.
//
// Dial a broker, begin a session, attach links:
//
//	client, err := amqplink.Dial(ctx, "amqp://guest:guest@localhost:5672", nil)
//	if err != nil { ... }
//	defer client.Close(ctx)
//
//	sess, err := client.NewSession(ctx, nil)
//	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: "/queues/orders"})
//	receipt, err := snd.Send(ctx, message.NewText("hello"), false)
//	outcome, err := receipt.Wait(ctx)
//
// The packages, from the top:
//
//   - amqplink (this package): Dial chooses a protocol driver and returns a Client.
//   - receiver: the MessageReceiver (credit ledger, PeekLock, Run, recovery).
//   - sender: the MessageSender (outcomes, SendAsync receipts, recovery).
//   - session: a Session owns its links and closes them together.
//   - link: the contract every protocol driver implements, and link options.
//   - amqp10: the AMQP 1.0 driver over github.com/Azure/go-amqp.
//   - message: the protocol-neutral message, outcomes and deliveries.
//   - errorpolicy: typed errors with a condition, a scope and a recovery class,
//     and the Policy that decides retries and recovery.
//   - sasl: SASL mechanisms as values.
//   - cbs: connection strings and claims-based security for Azure-style endpoints.
//
// Every error is an *errorpolicy.Error (or a context error); match it with
// errors.Is against the sentinels in errorpolicy, whichever protocol is in use.
//
// A Client survives its connection: when the connection dies, the next link that
// needs it (a receiver or sender recovering under its errorpolicy.Policy) dials a
// new one, once for all of them, and sessions begin again on it. Options.NoRecovery
// turns that off.
package amqplink
