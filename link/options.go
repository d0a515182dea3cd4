package link

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/amqplink/amqplink/errorpolicy"
)

// DefaultMaxMessageSize is the largest message a link accepts unless told otherwise.
const DefaultMaxMessageSize = 1 << 20 // 1 MiB

// SenderSettleMode is how the sending side settles transfers: the snd-settle-mode
// of AMQP 1.0; for AMQP 0-9-1, publisher confirms (Unsettled) or none (Settled).
type SenderSettleMode uint8

const (
	// SenderUnsettled: every transfer waits for the receiving side's outcome.
	// On a receiver link this is PeekLock; on a sender link it is at-least-once.
	SenderUnsettled SenderSettleMode = iota
	// SenderSettled: transfers are settled when sent (fire and forget). On a
	// receiver link this is ReceiveAndDelete; on a sender link, at-most-once.
	SenderSettled
	// SenderMixed: the sender chooses per transfer.
	SenderMixed
)

func (m SenderSettleMode) String() string {
	switch m {
	case SenderUnsettled:
		return "unsettled"
	case SenderSettled:
		return "settled"
	case SenderMixed:
		return "mixed"
	}
	return fmt.Sprintf("SenderSettleMode(%d)", uint8(m))
}

// ReceiverSettleMode is when the receiving side settles: the rcv-settle-mode of
// AMQP 1.0.
type ReceiverSettleMode uint8

const (
	// ReceiverFirst: the receiver settles as soon as it decides an outcome.
	ReceiverFirst ReceiverSettleMode = iota
	// ReceiverSecond: the receiver settles only after the sender settled, so the
	// outcome is confirmed. Not every broker supports it (RabbitMQ 3.10 does not).
	ReceiverSecond
)

func (m ReceiverSettleMode) String() string {
	switch m {
	case ReceiverFirst:
		return "first"
	case ReceiverSecond:
		return "second"
	}
	return fmt.Sprintf("ReceiverSettleMode(%d)", uint8(m))
}

// Filter is a source filter on a receiver link: a key in the filter set and a
// described value.
type Filter struct {
	// Key is the name in the filter set, e.g. "apache.org:selector-filter:string".
	Key string
	// Code is the filter's numeric descriptor; 0 uses Key as a symbolic descriptor.
	Code uint64
	// Value is the filter's value.
	Value any
}

// SelectorFilter returns a JMS-style selector filter (apache.org:selector-filter:string).
func SelectorFilter(expr string) Filter {
	return Filter{Key: "apache.org:selector-filter:string", Code: 0x0000468C00000004, Value: expr}
}

// SessionOptions configures a session. The zero value is the default.
type SessionOptions struct {
	// MaxLinks caps the links on the session. Default: the driver's maximum.
	MaxLinks uint32
}

// ReceiverOptions configures a receiver link.
type ReceiverOptions struct {
	// Name is the link name. Default: a unique "amqplink-rcv-<random>".
	Name string
	// Source is the address to receive from. Required.
	Source string
	// TargetAddress is the link's own target address: the reply-to address of a
	// request/response link. Default: none.
	TargetAddress string
	// Filters are the source filters.
	Filters []Filter
	// Properties are the link's attach properties (e.g. com.microsoft:epoch).
	Properties map[string]any
	// DesiredCapabilities are capabilities asked of the peer.
	DesiredCapabilities []string
	// SenderSettle is the requested snd-settle-mode: SenderUnsettled (the
	// default) for PeekLock, SenderSettled for ReceiveAndDelete.
	SenderSettle SenderSettleMode
	// ReceiverSettle is the rcv-settle-mode. Default: ReceiverFirst.
	ReceiverSettle ReceiverSettleMode
	// MaxMessageSize is the largest message accepted; a larger one ends the link
	// with errorpolicy.ErrMessageSizeExceeded. Default: DefaultMaxMessageSize.
	MaxMessageSize uint64
}

// SenderOptions configures a sender link.
type SenderOptions struct {
	// Name is the link name. Default: a unique "amqplink-snd-<random>".
	Name string
	// Target is the address to send to. Required.
	Target string
	// Properties are the link's attach properties.
	Properties map[string]any
	// DesiredCapabilities are capabilities asked of the peer.
	DesiredCapabilities []string
	// SettleMode is the snd-settle-mode. Default: SenderUnsettled.
	SettleMode SenderSettleMode
	// ReceiverSettle is the requested rcv-settle-mode of the peer. Default: ReceiverFirst.
	ReceiverSettle ReceiverSettleMode
	// MaxMessageSize is the largest message Send accepts (the peer's limit, if
	// smaller, wins). Default: DefaultMaxMessageSize.
	MaxMessageSize uint64
}

// WithDefaults returns a copy of o with every zero field set to its default.
func (o ReceiverOptions) WithDefaults() ReceiverOptions {
	if o.Name == "" {
		o.Name = UniqueName("amqplink-rcv")
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	return o
}

// Validate reports an option that cannot be used, as errorpolicy.ErrInvalidOption.
func (o ReceiverOptions) Validate() error {
	if o.Source == "" {
		return errorpolicy.InvalidOption("receiver: Source address is required")
	}
	if o.SenderSettle > SenderMixed {
		return errorpolicy.InvalidOption(fmt.Sprintf("receiver: unknown SenderSettle %d", o.SenderSettle))
	}
	if o.ReceiverSettle > ReceiverSecond {
		return errorpolicy.InvalidOption(fmt.Sprintf("receiver: unknown ReceiverSettle %d", o.ReceiverSettle))
	}
	return nil
}

// WithDefaults returns a copy of o with every zero field set to its default.
func (o SenderOptions) WithDefaults() SenderOptions {
	if o.Name == "" {
		o.Name = UniqueName("amqplink-snd")
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	return o
}

// Validate reports an option that cannot be used, as errorpolicy.ErrInvalidOption.
func (o SenderOptions) Validate() error {
	if o.Target == "" {
		return errorpolicy.InvalidOption("sender: Target address is required")
	}
	if o.SettleMode > SenderMixed {
		return errorpolicy.InvalidOption(fmt.Sprintf("sender: unknown SettleMode %d", o.SettleMode))
	}
	if o.ReceiverSettle > ReceiverSecond {
		return errorpolicy.InvalidOption(fmt.Sprintf("sender: unknown ReceiverSettle %d", o.ReceiverSettle))
	}
	return nil
}

// UniqueName returns prefix followed by a dash and 16 random hex digits.
func UniqueName(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + "-" + hex.EncodeToString(b[:])
}
