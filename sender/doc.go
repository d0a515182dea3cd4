// Package sender is the MessageSender: it sends to one target over a link it
// owns, on any driver (AMQP 1.0 or 0-9-1), and tells the caller each message's
// fate.
//
//	snd, err := sender.New(ctx, sess, "/queues/orders", nil)
//	...
//	outcome, err := snd.Send(ctx, message.NewText("hello"))    // waits for the outcome
//	receipt, err := snd.SendAsync(ctx, message.NewText("next")) // pipelined
//	...
//	outcome, err = receipt.Wait(ctx)
//
// # Outcomes
//
// In Unsettled mode (the default) the peer settles every message. Send and
// Receipt.Wait return Accepted with a nil error; Rejected, Released and Modified
// come back as an *OutcomeError (errors.Is ErrRejected, ErrReleased, ErrModified;
// a rejection also matches its condition's errorpolicy sentinel). When no
// outcome can be known (the link ended, Close gave up, Options.Timeout passed)
// the error matches errorpolicy.ErrOutcomeUnknown or ErrTimeout: the message may
// or may not have arrived, and the sender never resends it by itself.
//
// # Pipelining
//
// SendAsync returns once the message is handed to the link; at most
// Options.MaxInFlight (256) messages await their outcome at once, and SendAsync
// waits for room. One goroutine per sender completes the receipts, in the order
// the messages were sent. Close waits for the outcomes in flight within its
// context and reports what stays unknown through Pending: nothing is dropped
// silently.
//
// # Settled mode
//
// In Settled mode messages are sent pre-settled: fast, with no outcome. Mixed
// mode lets each call choose: Send and SendAsync unsettled, SendSettled
// pre-settled.
package sender
