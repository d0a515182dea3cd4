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
// # The classification table
//
// Every condition amqplink knows and its default class (a Policy's Classes field
// overrides any of them). A test checks this table against the code.
//
//	condition                                   class
//	com.microsoft:server-busy                   retry
//	com.microsoft:timeout                       retry
//	com.microsoft:operation-cancelled           retry
//	com.microsoft:session-cannot-be-locked      retry
//	amqp:link:detach-forced                     recover-link
//	amqp:link:transfer-limit-exceeded           recover-link
//	amqp:session:errant-link                    recover-link
//	amqp:session:handle-in-use                  recover-link
//	amqp:session:unattached-handle              recover-link
//	com.microsoft:store-lock-lost               recover-link
//	amqp:connection:forced                      recover-connection
//	amqp:connection:framing-error               recover-connection
//	amqp:decode-error                           recover-connection
//	amqp:illegal-state                          recover-connection
//	amqp:internal-error                         recover-connection
//	amqp:session:window-violation               recover-connection
//	amqplink:connection-lost                    recover-connection
//	amqplink:dial-failed                        recover-connection
//	amqp:connection:redirect                    fatal
//	amqp:frame-size-too-small                   fatal
//	amqp:invalid-field                          fatal
//	amqp:link:message-size-exceeded             fatal
//	amqp:link:redirect                          fatal
//	amqp:link:stolen                            fatal
//	amqp:not-allowed                            fatal
//	amqp:not-found                              fatal
//	amqp:not-implemented                        fatal
//	amqp:precondition-failed                    fatal
//	amqp:resource-deleted                       fatal
//	amqp:resource-limit-exceeded                fatal
//	amqp:resource-locked                        fatal
//	amqp:unauthorized-access                    fatal
//	com.microsoft:argument-error                fatal
//	com.microsoft:argument-out-of-range         fatal
//	com.microsoft:entity-already-exists         fatal
//	com.microsoft:entity-disabled               fatal
//	com.microsoft:message-lock-lost             fatal
//	com.microsoft:no-matching-subscription      fatal
//	com.microsoft:publisher-revoked             fatal
//	com.microsoft:session-lock-lost             fatal
//	amqplink:already-settled                    fatal
//	amqplink:closed                             fatal
//	amqplink:invalid-option                     fatal
//	amqplink:invalid-url                        fatal
//	amqplink:link-lost                          fatal
//	amqplink:not-settleable                     fatal
//	amqplink:not-supported                      fatal
//	amqplink:outcome-unknown                    fatal
//	amqplink:protocol-error                     fatal
//	amqplink:tls-verification-failed            fatal
//
// A condition not in the table is classed by what it ended: a connection is
// recovered, a link or session re-attached, a single operation is fatal.
// Context errors are Canceled; network errors recover the connection.
//
// AMQP 0-9-1 reply codes map to the nearest condition (FromReplyCode), with a
// class of their own where 0-9-1 means something more specific:
//
//	code  name                 condition                          class
//	311   content-too-large    amqp:link:message-size-exceeded    fatal
//	312   no-route             amqp:not-found                     fatal
//	313   no-consumers         amqp:resource-limit-exceeded       retry
//	320   connection-forced    amqp:connection:forced             recover-connection
//	403   access-refused       amqp:unauthorized-access           fatal
//	404   not-found            amqp:not-found                     fatal
//	405   resource-locked      amqp:resource-locked               retry
//	406   precondition-failed  amqp:precondition-failed           fatal
//	501   frame-error          amqp:connection:framing-error      recover-connection
//	502   syntax-error         amqp:decode-error                  recover-connection
//	503   command-invalid      amqp:illegal-state                 recover-connection
//	504   channel-error        amqp:session:errant-link           recover-link
//	505   unexpected-frame     amqp:connection:framing-error      recover-connection
//	506   resource-error       amqp:resource-limit-exceeded       retry
//	530   not-allowed          amqp:not-allowed                   fatal
//	540   not-implemented      amqp:not-implemented               fatal
//	541   internal-error       amqp:internal-error                recover-connection
//
// # Policies
//
// A Policy turns a class into an action (retry in place, re-attach, reconnect,
// give up) with a backoff; see Policy for the defaults. Receivers and senders
// take one in their options and apply it whenever a link fails or an attach is
// refused. A sender never resends a message whose outcome is unknown unless
// asked to (sender.Options.AtLeastOnce): the peer may have acted on it, as
// database/sql's ErrBadConn warns of a statement that may have run.
package errorpolicy
