// Package receiver is the MessageReceiver: it receives from one source over a
// link it owns, with flow control, backpressure, settlement and recovery, on any
// driver (AMQP 1.0 or 0-9-1).
//
//	rcv, err := receiver.New(ctx, sess, "/queues/orders", &receiver.Options{Concurrency: 8})
//	...
//	err = rcv.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
//		return handle(d.Message) // nil accepts; an error settles per OnHandlerError
//	})
//
// Four ways to consume share one work loop: Receive, ReceiveBatch, All (an
// iterator) and Run (handlers with bounded concurrency).
//
// # Credit
//
// The receiver keeps its own ledger of credit and deliveries (Stats). It grants
// credit only when there is room: deliveries held by the client (buffered, being
// handled, or handed out and unsettled) plus the credit outstanding at the peer
// never exceed Prefetch (default 300), so a handler that stalls stalls the
// broker, not memory. ResetCredit sets the outstanding credit absolutely (0
// pauses), with the peer's drain where it answers one; SetPrefetch changes the
// target. The ledger survives peers that break the rules: RabbitMQ 3.10 sends
// transfers beyond its credit, which the ledger counts as surplus in signed
// arithmetic and compensates in the next grant; a peer that floods beyond two
// windows gets a new link.
//
// # Settlement
//
// PeekLock (default) deliveries are settled with Accept, Reject, Release or
// Modify, on the Delivery or on the Receiver. Settling twice fails with
// errorpolicy.ErrAlreadySettled; settling after the delivery's link ended (the
// receiver recovered, or was closed) fails with errorpolicy.ErrLinkLost, and the
// broker offers the message again. Close releases every buffered delivery.
//
// # Recovery
//
// When its link fails, or an attach is refused, the receiver asks Options.Policy
// (an *errorpolicy.Policy; nil is the default) what to do. Unless it gives up, the
// receiver attaches a new link on the same session after the policy's pause; on
// a Client whose connection died, the session reconnects first, once for all
// the links that need it. The ledger starts again from the prefetch (or the
// credit a ResetCredit set), deliveries buffered from the dead link are dropped
// (the broker offers them again), and State shows Recovering meanwhile. Fatal
// errors (unauthorized, not found, link stolen, …) end the receiver at once;
// Receive then returns them.
package receiver
