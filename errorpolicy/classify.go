package errorpolicy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
)

// defaultClass is the class of each known condition. One table, read top to bottom,
// is the documentation; the policy engine applies per-condition overrides on top.
var defaultClass = map[Condition]Class{
	// The peer is overloaded or slow: the same call may succeed in a moment.
	CondServerBusy:            Retry,
	CondTimeout:               Retry,
	CondOperationCanceled:     Retry,
	CondResourceLimitExceeded: Fatal, // a quota or a size: retrying the same thing fails again
	// The link died but the connection lives: attach again.
	CondDetachForced:          RecoverLink,
	CondTransferLimitExceeded: RecoverLink, // credit never came: the link may be stalled
	CondLinkRedirect:          Fatal,       // following redirects is not supported
	CondErrantLink:            RecoverLink,
	CondHandleInUse:           RecoverLink,
	CondUnattachedHandle:      RecoverLink,
	CondWindowViolation:       RecoverConn,
	CondStoreLockLost:         RecoverLink,
	// The connection died or is suspect: reconnect. RabbitMQ 3.10 answers some
	// requests by crashing its session process with internal-error, which a new
	// connection survives.
	CondConnectionForced: RecoverConn,
	CondFramingError:     RecoverConn,
	CondInternalError:    RecoverConn,
	CondConnectionLost:   RecoverConn,
	CondDialFailed:       RecoverConn,
	CondConnRedirect:     Fatal,
	CondIllegalState:     RecoverConn,
	CondDecodeError:      RecoverConn,
	// Nothing will change until a person acts.
	CondNotFound:               Fatal,
	CondUnauthorizedAccess:     Fatal,
	CondNotAllowed:             Fatal,
	CondNotImplemented:         Fatal,
	CondPreconditionFailed:     Fatal,
	CondInvalidField:           Fatal,
	CondResourceLocked:         Fatal,
	CondResourceDeleted:        Fatal,
	CondFrameSizeTooSmall:      Fatal,
	CondMessageSizeExceeded:    Fatal,
	CondLinkStolen:             Fatal,
	CondEntityDisabled:         Fatal,
	CondMessageLockLost:        Fatal,
	CondSessionLockLost:        Fatal,
	CondSessionCannotLock:      Retry,
	CondArgumentError:          Fatal,
	CondArgumentOutOfRange:     Fatal,
	CondEntityAlreadyExists:    Fatal,
	CondNoMatchingSubscription: Fatal,
	CondPublisherRevoked:       Fatal,
	CondInvalidURL:             Fatal,
	CondInvalidOption:          Fatal,
	CondTLSVerify:              Fatal,
	CondClosed:                 Fatal,
	CondAlreadySettled:         Fatal,
	CondNotSettleable:          Fatal,
	CondLinkLost:               Fatal, // for the delivery; its message comes again
	CondOutcomeUnknown:         Fatal, // the peer may have acted: never resend blindly
	CondNotSupported:           Fatal,
	CondProtocol:               Fatal,
}

// DefaultClass returns the class of cond in the default table. An unknown
// condition is Fatal: retrying what nobody understood risks repeating its effect.
func DefaultClass(cond Condition) Class {
	return defaultClass[cond]
}

// ClassOf classifies any error: an *Error by its Class field, and the standard
// library's errors by what they mean for the connection. It never reads error text.
func ClassOf(err error) Class {
	if err == nil {
		return Fatal
	}
	// The caller gave up; its context errors are never retried.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	// A certificate problem will not fix itself.
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalidCert) || errors.As(err, &verify) {
		return Fatal
	}
	// The transport broke: the connection is gone.
	var netErr net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &netErr) {
		return RecoverConn
	}
	return Fatal
}

// IsRetriable reports whether err's class allows another attempt at some level
// (Retry, RecoverLink or RecoverConn).
func IsRetriable(err error) bool {
	switch ClassOf(err) {
	case Retry, RecoverLink, RecoverConn:
		return true
	}
	return false
}

// conditionPrefix is how amqplink's own conditions begin.
const conditionPrefix = "amqplink:"

// Local reports whether cond is one of amqplink's own conditions rather than the
// peer's.
func (c Condition) Local() bool { return strings.HasPrefix(string(c), conditionPrefix) }

// Classes returns a copy of the default class table: every condition amqplink knows
// and its class.
func Classes() map[Condition]Class {
	out := make(map[Condition]Class, len(defaultClass))
	for k, v := range defaultClass {
		out[k] = v
	}
	return out
}

// Known reports whether cond is in the default class table.
func Known(cond Condition) bool {
	_, ok := defaultClass[cond]
	return ok
}
