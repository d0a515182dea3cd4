// Package servicebus speaks the Azure Service Bus dialect of AMQP 1.0 on top of
// the neutral receiver: lock tokens, lock renewal (by hand, or automatically
// while a handler works), peeking, and settlement through the entity's
// $management node when the link that received a message is gone.
//
//	rcv, err := servicebus.NewReceiver(ctx, sess, "orders", &servicebus.ReceiverOptions{
//		AutoRenewLock: 5 * time.Minute, // keep each message locked while its handler runs
//	})
//	...
//	err = rcv.Run(ctx, func(ctx context.Context, d *message.Delivery) error {
//		return process(d.Message) // nil completes the message
//	})
//
// A Management client reaches the $management node of one entity directly:
// RenewLocks, Peek and Settle by lock token. Responses that are not 2xx fail
// with an *errorpolicy.Error wrapping a *cbs.StatusError; status 410 (the lock
// is gone) matches errorpolicy.ErrMessageLockLost.
//
// Everything here works against amqptest's in-process broker, which has the
// same nodes, so it is testable without Azure.
package servicebus
