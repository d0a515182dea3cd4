package sender

import (
	"context"
	"fmt"
	"strings"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Batch collects messages to send together, up to a size in bytes. Build one
// with Sender.NewBatch, fill it with TryAdd, send it with SendBatch. It is not
// safe for concurrent use.
type Batch struct {
	max    uint64
	size   uint64
	msgs   []*message.Message
	enc    [][]byte                               // the encoded messages, in the batch format
	encode func(*message.Message) ([]byte, error) // nil: pipelined singles
}

// NewBatch returns an empty batch of at most maxBytes encoded bytes; 0 means the
// link's MaxMessageSize. With Options.BatchFormat the whole batch travels as one
// message, so maxBytes may not exceed MaxMessageSize.
func (s *Sender) NewBatch(maxBytes uint64) (*Batch, error) {
	limit := s.MaxMessageSize()
	if maxBytes == 0 {
		maxBytes = limit
	}
	if s.opts.BatchFormat && maxBytes > limit {
		return nil, errorpolicy.InvalidOption(fmt.Sprintf("sender: a batch of %d bytes exceeds the link's message size limit of %d", maxBytes, limit))
	}
	b := &Batch{max: maxBytes}
	if s.opts.BatchFormat {
		if s.encode == nil {
			return nil, errorpolicy.New(errorpolicy.CondNotSupported, "sender: the driver cannot send the batch format", nil)
		}
		b.encode = s.encode
	}
	return b, nil
}

// TryAdd adds m if it fits and reports whether it did. A message too large for
// even an empty batch fails with errorpolicy.ErrMessageSizeExceeded. In the batch
// format a message counts its encoded size; otherwise its body's size (see
// message.Body.PayloadSize), since each is encoded when it is sent.
func (b *Batch) TryAdd(m *message.Message) (bool, error) {
	if m == nil {
		return false, errorpolicy.InvalidOption("sender: TryAdd of a nil message")
	}
	var enc []byte
	size := m.Body.PayloadSize()
	if b.encode != nil {
		var err error
		if enc, err = b.encode(m); err != nil {
			return false, err
		}
		size = uint64(len(enc))
	}
	need := size + link.BatchSectionOverhead
	if b.size+need > b.max {
		if len(b.msgs) == 0 {
			return false, errorpolicy.New(errorpolicy.CondMessageSizeExceeded,
				fmt.Sprintf("a message of %d bytes cannot fit a batch of %d", need, b.max), nil)
		}
		return false, nil
	}
	b.size += need
	b.msgs = append(b.msgs, m)
	if enc != nil {
		b.enc = append(b.enc, enc)
	}
	return true, nil
}

// Len is the number of messages in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// Size is the batch's size in bytes, as counted against its limit.
func (b *Batch) Size() uint64 { return b.size }

// BatchError reports the messages of a batch that were not accepted, when the
// batch was sent as pipelined single messages. Errs[i] is message i's error,
// nil for those accepted. errors.Is and errors.As see every message's error.
type BatchError struct {
	Errs []error
}

func (e *BatchError) Error() string {
	var failed []string
	var first error
	for i, err := range e.Errs {
		if err != nil {
			failed = append(failed, fmt.Sprint(i))
			if first == nil {
				first = err
			}
		}
	}
	return fmt.Sprintf("sender: %d of %d messages in the batch failed (%s); the first: %v",
		len(failed), len(e.Errs), strings.Join(failed, ", "), first)
}

// Unwrap returns the messages' errors.
func (e *BatchError) Unwrap() []error { return e.Errs }

// SendBatch sends b and waits for its outcome within ctx.
//
// With Options.BatchFormat, and a link that can (AMQP 1.0), the batch goes as one
// transfer in the batch message format (0x80013700), which Azure Service Bus and
// Event Hubs accept and settle as one: the result is that one outcome, as Send
// returns it. Otherwise each message is sent with SendAsync, pipelined within
// MaxInFlight, and SendBatch returns nil when all were accepted, else a
// *BatchError naming the ones that were not.
func (s *Sender) SendBatch(ctx context.Context, b *Batch) error {
	if b == nil || len(b.msgs) == 0 {
		return nil
	}
	if s.opts.BatchFormat {
		r, err := s.sendUnsettled(ctx, &Receipt{batch: b.enc})
		if err != nil {
			return err
		}
		_, err = r.Wait(ctx)
		return err
	}
	receipts := make([]*Receipt, len(b.msgs))
	errs := make([]error, len(b.msgs))
	failed := false
	for i, m := range b.msgs {
		if receipts[i], errs[i] = s.SendAsync(ctx, m); errs[i] != nil {
			failed = true
		}
	}
	for i, r := range receipts {
		if r == nil {
			continue
		}
		if _, errs[i] = r.Wait(ctx); errs[i] != nil {
			failed = true
		}
	}
	if failed {
		return &BatchError{Errs: errs}
	}
	return nil
}
