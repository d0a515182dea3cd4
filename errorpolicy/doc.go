// Package errorpolicy names what went wrong and what to do about it.
//
// Every failure a driver reports is an *Error: the peer's condition (an AMQP 1.0 symbol
// such as "amqp:not-found", or the 1.0 condition nearest to an AMQP 0-9-1 reply code),
// its description, what ended (the link, the session, the connection, or nothing), a
// recovery Class, and the wrapped cause. Match it by condition with errors.Is against
// the sentinels here, whichever driver produced it:
//
//	if errors.Is(err, errorpolicy.ErrNotFound) { ... }
//
// and read the details with errors.As:
//
//	var e *errorpolicy.Error
//	if errors.As(err, &e) && e.Class == errorpolicy.RecoverLink { ... }
//
// # Classes
//
// A class says what the caller should do next, in the spirit of grpc's status codes:
//
//   - Retry: try the same operation again on the same link, after a backoff. The
//     peer is busy or timed out; nothing needs rebuilding.
//   - RecoverLink: the link (and so its session) is gone; attach a new one and carry on.
//   - RecoverConn: the connection is gone or suspect; reconnect, then re-attach.
//   - Fatal: do not retry until a person changes something (credentials, an address,
//     a message that is too large, a lock that was lost).
//   - Canceled: the caller gave up (its context ended); never retried.
//
// To classify a condition nobody listed: if retrying the identical call may succeed
// soon, Retry; if it can succeed only on a fresh link or connection, RecoverLink or
// RecoverConn; if it cannot succeed until the world changes, Fatal.
//
// The policy engine (backoff, retry counts, recovery) builds on these types.
package errorpolicy
