package sender

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// DefaultMaxInFlight is the window when Options.MaxInFlight is zero.
const DefaultMaxInFlight = 256

// Mode is how sent messages are settled.
type Mode uint8

const (
	// Unsettled (the default): the peer reports an outcome for every message.
	// AMQP 1.0: snd-settle-mode unsettled; AMQP 0-9-1: publisher confirms.
	Unsettled Mode = iota
	// Settled: messages are sent pre-settled, fire and forget. Fast; a message
	// lost on the way is never reported.
	Settled
	// Mixed: each message is unsettled (Send, SendAsync) or pre-settled
	// (SendSettled), as the caller chooses.
	Mixed
)

func (m Mode) String() string {
	switch m {
	case Unsettled:
		return "unsettled"
	case Settled:
		return "settled"
	case Mixed:
		return "mixed"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Options configures a Sender. The zero value (or nil) gives the defaults.
type Options struct {
	// Name is the link name. Default: a unique "amqplink-snd-<random>".
	Name string
	// Mode is Unsettled (the default), Settled or Mixed.
	Mode Mode
	// MaxInFlight is the most unsettled messages awaiting their outcome at once;
	// SendAsync waits for room. Default: DefaultMaxInFlight (256).
	MaxInFlight int
	// Timeout bounds the wait for each message's outcome, from the moment it is
	// handed to the link, on top of the caller's context: past it the receipt
	// fails with errorpolicy.ErrTimeout (the outcome is unknown). Default: none;
	// the outcome is awaited until the link ends or Close gives up.
	Timeout time.Duration
	// Properties are the link's attach properties.
	Properties map[string]any
	// DesiredCapabilities are capabilities asked of the peer.
	DesiredCapabilities []string
	// MaxMessageSize is the largest message sent; a larger one fails before it
	// is sent, with errorpolicy.ErrMessageSizeExceeded. The peer's limit, if
	// smaller, wins. Default: link.DefaultMaxMessageSize (1 MiB).
	MaxMessageSize uint64
	// BatchFormat sends each SendBatch as one transfer in the batch message
	// format (0x80013700), which Azure Service Bus and Event Hubs accept: one
	// frame and one outcome for the whole batch. Default false: a batch is sent
	// as pipelined single messages, which every broker accepts (RabbitMQ would
	// store a batch-format transfer as one opaque message).
	BatchFormat bool
	// Policy decides, when a send or an attach fails, whether to attach a new link
	// (reconnecting first if the connection is gone) and try again, and after
	// what pause. Nil means the default errorpolicy.Policy.
	Policy *errorpolicy.Policy
	// AtLeastOnce resends, on a new link, messages whose link ended before their
	// outcome came, so each reaches the target at least once (perhaps twice).
	// Default false: such messages fail with errorpolicy.ErrOutcomeUnknown and
	// resending them is the caller's choice, since the peer may have acted.
	AtLeastOnce bool
	// Logger receives the sender's events. Default: discard.
	Logger *slog.Logger
}

func (o *Options) validate() error {
	if o == nil {
		return nil
	}
	switch {
	case o.Mode > Mixed:
		return errorpolicy.InvalidOption(fmt.Sprintf("sender: unknown Mode %d", o.Mode))
	case o.MaxInFlight < 0:
		return errorpolicy.InvalidOption(fmt.Sprintf("sender: MaxInFlight %d is negative", o.MaxInFlight))
	case o.Timeout < 0:
		return errorpolicy.InvalidOption("sender: Timeout is negative")
	case o.BatchFormat && o.Mode == Settled:
		return errorpolicy.InvalidOption("sender: BatchFormat needs Mode Unsettled or Mixed: a batch's outcome is its only report")
	}
	return nil
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.MaxInFlight == 0 {
		d.MaxInFlight = DefaultMaxInFlight
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

func (o *Options) linkOptions(target string) link.SenderOptions {
	lo := link.SenderOptions{
		Name:                o.Name,
		Target:              target,
		Properties:          o.Properties,
		DesiredCapabilities: o.DesiredCapabilities,
		MaxMessageSize:      o.MaxMessageSize,
		ReceiverSettle:      link.ReceiverFirst,
	}
	switch o.Mode {
	case Settled:
		lo.SettleMode = link.SenderSettled
	case Mixed:
		lo.SettleMode = link.SenderMixed
	}
	return lo.WithDefaults()
}
