package link

import (
	"context"

	"github.com/amqplink/amqplink/message"
)

// Conn is one network connection to a broker. It is safe for concurrent use.
type Conn interface {
	// NewSession begins a session (AMQP 0-9-1: opens a channel).
	NewSession(ctx context.Context, o SessionOptions) (Session, error)
	// Done is closed when the connection has ended, by Close or by failure.
	Done() <-chan struct{}
	// Err is nil while the connection lives and after a clean Close; otherwise the
	// *errorpolicy.Error that ended it.
	Err() error
	// Close closes the connection and everything on it. It returns when the peer
	// has answered or ctx ends, whichever is first; the connection is closed
	// either way.
	Close(ctx context.Context) error
}

// Session is an AMQP 1.0 session or an AMQP 0-9-1 channel. It is safe for concurrent
// use. Closing it ends its links.
type Session interface {
	NewReceiver(ctx context.Context, o ReceiverOptions) (ReceiverLink, error)
	NewSender(ctx context.Context, o SenderOptions) (SenderLink, error)
	Close(ctx context.Context) error
}

// ReceiverLink receives messages against credit issued by the caller.
type ReceiverLink interface {
	// Name is the link name.
	Name() string
	// Address is the source address.
	Address() string
	// IssueCredit allows the peer to send n more messages. It does not block.
	IssueCredit(n uint32) error
	// Receive returns the next delivery, waiting until one arrives, the link ends
	// or ctx ends. Deliveries already buffered are returned even after the link
	// has ended (then Receive returns the error that ended it) and even when ctx
	// has already ended: the receiver calls Receive with an ended context to take
	// everything buffered, without waiting, before it grants credit.
	Receive(ctx context.Context) (*message.Delivery, error)
	// Close detaches the link. Unsettled deliveries cannot be settled afterwards.
	Close(ctx context.Context) error
	// Settle settles a delivery this link received: the link is the Settler of
	// every delivery it returns, so a layer that intercepts settlement (package
	// receiver) can pass it on without keeping one Settler per delivery.
	message.Settler
}

// Drainer is implemented by receiver links whose peer answers a drain request:
// Drain asks the peer to use up or cancel all outstanding credit and waits for its
// answer. Deliveries that arrive meanwhile stay buffered for Receive.
type Drainer interface {
	Drain(ctx context.Context) error
}

// SenderLink sends messages. It is safe for concurrent use.
type SenderLink interface {
	// Name is the link name.
	Name() string
	// Address is the target address.
	Address() string
	// Send hands m to the link, unsettled (the peer reports an outcome) or, when
	// settled is true, pre-settled (fire and forget). It returns once m is written
	// to the connection; the Receipt reports the outcome. A message larger than
	// MaxMessageSize fails before it is sent, with errorpolicy.ErrMessageSizeExceeded.
	Send(ctx context.Context, m *message.Message, settled bool) (Receipt, error)
	// MaxMessageSize is the largest encoded message the link accepts: the smaller
	// of the local limit and the peer's.
	MaxMessageSize() uint64
	// Close detaches the link.
	Close(ctx context.Context) error
}

// Receipt reports the outcome of one sent message.
type Receipt interface {
	// Wait returns the peer's outcome: Accepted, or Rejected, Released or Modified
	// (with a nil error: the outcome is the answer). For a pre-settled message it
	// returns Accepted at once. The error is set when the outcome cannot be known:
	// the link ended first (errorpolicy.ErrOutcomeUnknown) or ctx ended.
	Wait(ctx context.Context) (message.Outcome, error)
}

// BatchFormat is the AMQP 1.0 message format of a batch: one transfer whose data
// sections each hold one whole encoded message. Azure Service Bus and Event Hubs
// accept it, and settle the batch as one.
const BatchFormat = 0x80013700

// BatchSectionOverhead bounds what wrapping one encoded message in a data
// section of a batch adds: a described-type constructor and a 32-bit length.
const BatchSectionOverhead = 8

// BatchSender is implemented by sender links that can send a batch in
// BatchFormat. Encode gives a message's encoded form (its size is what counts
// against a batch's limit); SendBatch sends messages so encoded as one transfer,
// whose one outcome applies to all of them.
type BatchSender interface {
	Encode(m *message.Message) ([]byte, error)
	SendBatch(ctx context.Context, encoded [][]byte) (Receipt, error)
}
