package errorpolicy

// Condition is an error condition: an AMQP 1.0 symbol from the specification or a
// vendor ("com.microsoft:server-busy"), or one of amqplink's own local conditions
// ("amqplink:…") for failures detected in this process.
type Condition string

// AMQP 1.0 conditions (OASIS AMQP 1.0, part 2, section 2.8.15 onwards).
const (
	CondInternalError         Condition = "amqp:internal-error"
	CondNotFound              Condition = "amqp:not-found"
	CondUnauthorizedAccess    Condition = "amqp:unauthorized-access"
	CondDecodeError           Condition = "amqp:decode-error"
	CondResourceLimitExceeded Condition = "amqp:resource-limit-exceeded"
	CondNotAllowed            Condition = "amqp:not-allowed"
	CondInvalidField          Condition = "amqp:invalid-field"
	CondNotImplemented        Condition = "amqp:not-implemented"
	CondResourceLocked        Condition = "amqp:resource-locked"
	CondPreconditionFailed    Condition = "amqp:precondition-failed"
	CondResourceDeleted       Condition = "amqp:resource-deleted"
	CondIllegalState          Condition = "amqp:illegal-state"
	CondFrameSizeTooSmall     Condition = "amqp:frame-size-too-small"

	CondConnectionForced Condition = "amqp:connection:forced"
	CondFramingError     Condition = "amqp:connection:framing-error"
	CondConnRedirect     Condition = "amqp:connection:redirect"

	CondWindowViolation  Condition = "amqp:session:window-violation"
	CondErrantLink       Condition = "amqp:session:errant-link"
	CondHandleInUse      Condition = "amqp:session:handle-in-use"
	CondUnattachedHandle Condition = "amqp:session:unattached-handle"

	CondDetachForced          Condition = "amqp:link:detach-forced"
	CondTransferLimitExceeded Condition = "amqp:link:transfer-limit-exceeded"
	CondMessageSizeExceeded   Condition = "amqp:link:message-size-exceeded"
	CondLinkRedirect          Condition = "amqp:link:redirect"
	CondLinkStolen            Condition = "amqp:link:stolen"
)

// Azure Service Bus and Event Hubs conditions.
const (
	CondServerBusy             Condition = "com.microsoft:server-busy"
	CondTimeout                Condition = "com.microsoft:timeout"
	CondOperationCanceled      Condition = "com.microsoft:operation-cancelled"
	CondEntityDisabled         Condition = "com.microsoft:entity-disabled"
	CondMessageLockLost        Condition = "com.microsoft:message-lock-lost"
	CondSessionLockLost        Condition = "com.microsoft:session-lock-lost"
	CondSessionCannotLock      Condition = "com.microsoft:session-cannot-be-locked"
	CondArgumentError          Condition = "com.microsoft:argument-error"
	CondArgumentOutOfRange     Condition = "com.microsoft:argument-out-of-range"
	CondEntityAlreadyExists    Condition = "com.microsoft:entity-already-exists"
	CondNoMatchingSubscription Condition = "com.microsoft:no-matching-subscription"
	CondPublisherRevoked       Condition = "com.microsoft:publisher-revoked"
	CondStoreLockLost          Condition = "com.microsoft:store-lock-lost"
)

// amqplink's own conditions, for failures detected locally.
const (
	// CondInvalidURL: a URL or connection string could not be used (see URLError).
	CondInvalidURL Condition = "amqplink:invalid-url"
	// CondInvalidOption: an option is out of range or contradicts another.
	CondInvalidOption Condition = "amqplink:invalid-option"
	// CondDialFailed: the network connection could not be made (refused, unreachable,
	// DNS, TLS handshake). The cause is wrapped.
	CondDialFailed Condition = "amqplink:dial-failed"
	// CondTLSVerify: the server's certificate chain or name did not verify.
	CondTLSVerify Condition = "amqplink:tls-verification-failed"
	// CondConnectionLost: the connection ended without a close from the peer
	// (reset, EOF, idle timeout).
	CondConnectionLost Condition = "amqplink:connection-lost"
	// CondClosed: the object was closed by this process.
	CondClosed Condition = "amqplink:closed"
	// CondAlreadySettled: a delivery was settled twice, or was settled by its sender.
	CondAlreadySettled Condition = "amqplink:already-settled"
	// CondNotSettleable: a delivery was not received from a link (built by hand).
	CondNotSettleable Condition = "amqplink:not-settleable"
	// CondLinkLost: a delivery was settled after the link that received it ended.
	// The peer has forgotten the delivery and will offer the message again (its
	// lock is gone), so the settlement cannot take effect.
	CondLinkLost Condition = "amqplink:link-lost"
	// CondOutcomeUnknown: a message left this process but its outcome never came back.
	CondOutcomeUnknown Condition = "amqplink:outcome-unknown"
	// CondNotSupported: the driver or peer does not offer the requested capability.
	CondNotSupported Condition = "amqplink:not-supported"
	// CondProtocol: the peer broke the protocol or a negotiation failed (for example
	// it refused the requested settle modes).
	CondProtocol Condition = "amqplink:protocol-error"
)
