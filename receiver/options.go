package receiver

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// DefaultPrefetch is the credit window when Options.Prefetch is zero.
const DefaultPrefetch = 300

// Mode is how received messages are settled.
type Mode uint8

const (
	// PeekLock (the default): the broker keeps each message locked until the
	// application settles it (Accept, Reject, Release, Modify). AMQP 1.0:
	// rcv-settle-mode first with unsettled transfers; AMQP 0-9-1: manual ack.
	PeekLock Mode = iota
	// ReceiveAndDelete: the broker forgets each message as it sends it. Fast, and
	// a message in the client's buffer is lost if the process dies.
	ReceiveAndDelete
)

func (m Mode) String() string {
	switch m {
	case PeekLock:
		return "peek-lock"
	case ReceiveAndDelete:
		return "receive-and-delete"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Options configures a Receiver. The zero value (or nil) gives the defaults.
type Options struct {
	// Name is the link name. Default: a unique "amqplink-rcv-<random>".
	Name string
	// Prefetch is the most deliveries the client holds at once: buffered, being
	// handled, or handed out and not yet settled, plus the credit still
	// outstanding at the peer. Default: DefaultPrefetch (300).
	Prefetch int
	// Mode is PeekLock (the default) or ReceiveAndDelete.
	Mode Mode
	// ConfirmSettlement asks the peer to confirm every PeekLock settlement
	// (AMQP 1.0 rcv-settle-mode second), so that one it refuses fails with its
	// error: Service Bus answers a settlement after the lock expired with
	// com.microsoft:message-lock-lost (errorpolicy.ErrMessageLockLost). Each
	// settlement then waits a round trip. RabbitMQ 3.10 refuses the mode
	// (amqp:not-implemented); the 0-9-1 driver ignores it. Default: false.
	ConfirmSettlement bool
	// Filters are source filters (AMQP 1.0).
	Filters []link.Filter
	// Properties are the link's attach properties.
	Properties map[string]any
	// DesiredCapabilities are capabilities asked of the peer.
	DesiredCapabilities []string
	// MaxMessageSize is the largest message accepted. Default:
	// link.DefaultMaxMessageSize (1 MiB).
	MaxMessageSize uint64
	// Concurrency is how many handlers Run calls at once. Default: 1.
	Concurrency int
	// OnHandlerError is the outcome Run settles a delivery with when its handler
	// returned an error without settling it. Default: Modified{DeliveryFailed:
	// true}, which counts a failed attempt. RabbitMQ 3.10 ends the session on
	// Modified (the receiver recovers, the message comes again): use Released
	// there.
	OnHandlerError message.Outcome
	// BatchWait is how long ReceiveBatch waits for more messages after the first
	// one arrives. Default: 20 ms.
	BatchWait time.Duration
	// Policy decides, when the link fails or an attach is refused, whether to
	// attach a new link (reconnecting first if the connection is gone) and after
	// what pause. Nil means the default errorpolicy.Policy: up to 3 consecutive
	// attempts with backoff, none for Fatal errors.
	Policy *errorpolicy.Policy
	// OnReattach, if set, may change the link options before each new link after
	// the first (recovery), e.g. to move a start filter past what was already
	// received. It is called from the goroutine that attaches and must return
	// quickly.
	OnReattach func(o *link.ReceiverOptions)
	// OnStateChange, if set, is called from the receiver's goroutine on every
	// state change. It must return quickly.
	OnStateChange func(from, to State)
	// Logger receives the receiver's diagnostics. Default: none.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.Prefetch == 0 {
		d.Prefetch = DefaultPrefetch
	}
	if d.Concurrency == 0 {
		d.Concurrency = 1
	}
	if d.OnHandlerError == nil {
		d.OnHandlerError = message.Modified{DeliveryFailed: true}
	}
	if d.BatchWait == 0 {
		d.BatchWait = 20 * time.Millisecond
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

func (o *Options) validate() error {
	if o == nil {
		return nil
	}
	switch {
	case o.Prefetch < 0:
		return errorpolicy.InvalidOption(fmt.Sprintf("receiver: Prefetch %d is negative", o.Prefetch))
	case o.Concurrency < 0:
		return errorpolicy.InvalidOption(fmt.Sprintf("receiver: Concurrency %d is negative", o.Concurrency))
	case o.Mode > ReceiveAndDelete:
		return errorpolicy.InvalidOption(fmt.Sprintf("receiver: unknown Mode %d", o.Mode))
	case o.BatchWait < 0:
		return errorpolicy.InvalidOption("receiver: BatchWait is negative")
	}
	return nil
}

func (o *Options) linkOptions(source string) link.ReceiverOptions {
	lo := link.ReceiverOptions{
		Name:                o.Name,
		Source:              source,
		Filters:             o.Filters,
		Properties:          o.Properties,
		DesiredCapabilities: o.DesiredCapabilities,
		MaxMessageSize:      o.MaxMessageSize,
		ReceiverSettle:      link.ReceiverFirst,
	}
	if o.Mode == ReceiveAndDelete {
		lo.SenderSettle = link.SenderSettled
	} else if o.ConfirmSettlement {
		lo.ReceiverSettle = link.ReceiverSecond
	}
	if lo.Name == "" {
		lo.Name = link.UniqueName("amqplink-rcv")
	}
	return lo
}
