package amqp10

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	amqp "github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// senderLink implements link.SenderLink over a go-amqp sender. Unsettled transfers
// go through SendWithReceipt, so callers can pipeline; settled ones through Send.
type senderLink struct {
	wire     *amqp.Sender
	sess     *session
	wireSess *amqp.Session
	mode     link.SenderSettleMode
	maxSize  uint64 // ours, min'd with the peer's when the peer has a limit

	closeOnce sync.Once
	closeErr  error
}

var _ link.SenderLink = (*senderLink)(nil)

// NewSender attaches a sender link.
func (s *session) NewSender(ctx context.Context, o link.SenderOptions) (link.SenderLink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	snd, w, err := attach(ctx, s, o.Name, func(w *amqp.Session) (*amqp.Sender, error) {
		return w.NewSender(ctx, o.Target, &amqp.SenderOptions{
			Name:                        o.Name,
			Properties:                  maps.Clone(o.Properties),
			DesiredCapabilities:         o.DesiredCapabilities,
			SettlementMode:              senderSettleMode(o.SettleMode).Ptr(),
			RequestedReceiverSettleMode: receiverSettleMode(o.ReceiverSettle).Ptr(),
		})
	})
	if err != nil {
		return nil, err
	}
	maxSize := o.MaxMessageSize
	if peer := snd.MaxMessageSize(); peer != 0 && peer < maxSize {
		maxSize = peer
	}
	return &senderLink{wire: snd, sess: s, wireSess: w, mode: o.SettleMode, maxSize: maxSize}, nil
}

func (s *senderLink) Name() string           { return s.wire.LinkName() }
func (s *senderLink) Address() string        { return s.wire.Address() }
func (s *senderLink) MaxMessageSize() uint64 { return s.maxSize }

// Send writes m to the link and returns its receipt.
func (s *senderLink) Send(ctx context.Context, m *message.Message, settled bool) (link.Receipt, error) {
	if m == nil {
		return nil, errorpolicy.InvalidOption("amqp10: Send of a nil message")
	}
	if settled && s.mode == link.SenderUnsettled {
		return nil, errorpolicy.InvalidOption("amqp10: a settled send needs a link in Settled or Mixed mode")
	}
	w := toWire(m)
	if err := s.checkSize(m, w); err != nil {
		return nil, err
	}
	if s.mode == link.SenderSettled || settled {
		var opts *amqp.SendOptions
		if s.mode == link.SenderMixed {
			opts = &amqp.SendOptions{Settled: true}
		}
		if err := s.wire.Send(ctx, w, opts); err != nil {
			return nil, s.sendError(ctx, err)
		}
		return settledReceipt{}, nil
	}
	r, err := s.wire.SendWithReceipt(ctx, w, nil)
	if err != nil {
		return nil, s.sendError(ctx, err)
	}
	return &receipt{wire: r, link: s}, nil
}

// sendError reports a failed hand-off. go-amqp answers a context that ends while
// the transfer waits for credit with transfer-limit-exceeded; the transfer was
// rolled back, so the caller's context error is the honest answer.
//
// A bare AMQP error (go-amqp's own message-size-exceeded, say) is about the one
// message and ends nothing; a link, session or connection that ended carries its
// own scope, and a session's end makes the next attach begin a new one.
func (s *senderLink) sendError(ctx context.Context, err error) error {
	var e *amqp.Error
	if ctx.Err() != nil && errors.As(err, &e) && e.Condition == amqp.ErrCondTransferLimitExceeded {
		return ctx.Err()
	}
	return s.sess.linkFailed(s.wireSess, err, errorpolicy.ScopeNone)
}

// checkSize enforces our own limit. go-amqp enforces only the peer's, and forgets
// ours when the peer advertises none (RabbitMQ advertises 0). Encoding a message
// just to measure it would double the cost of every send, so the exact size is
// computed only when a generous estimate is past half the limit.
func (s *senderLink) checkSize(m *message.Message, w *amqp.Message) error {
	estimate, known := sizeEstimate(m)
	if known && estimate*2 <= s.maxSize {
		return nil
	}
	size := estimate
	if !known || estimate <= s.maxSize {
		b, err := w.MarshalBinary()
		if err != nil {
			return errorpolicy.New(errorpolicy.CondDecodeError, "amqp10: encoding the message", err)
		}
		size = uint64(len(b))
	}
	if size > s.maxSize {
		return errorpolicy.New(errorpolicy.CondMessageSizeExceeded,
			fmt.Sprintf("message of %d bytes exceeds the link's limit of %d", size, s.maxSize), nil)
	}
	return nil
}

// sizeEstimate is at least the encoded size of m less a few bytes of framing per
// field, which the factor of two in checkSize covers; known is false when m holds
// something it cannot tell cheaply (a list or map where a flat value goes).
func sizeEstimate(m *message.Message) (n uint64, known bool) {
	n, known = m.Body.PayloadSize(), isFlat(m.Body.Value)
	for _, section := range m.Body.Sequence {
		for _, v := range section {
			n += flatSize(v)
			known = known && isFlat(v)
		}
	}
	for k, v := range m.ApplicationProperties {
		n += uint64(len(k)) + flatSize(v)
		known = known && isFlat(v)
	}
	for _, a := range []message.Annotations{m.DeliveryAnnotations, m.Annotations, m.Footer} {
		for k, v := range a {
			n += flatSize(k) + flatSize(v)
			known = known && isFlat(k) && isFlat(v)
		}
	}
	if p := m.Properties; p != nil {
		n += flatSize(p.MessageID) + flatSize(p.CorrelationID) + uint64(len(p.UserID))
		for _, s := range []*string{p.To, p.Subject, p.ReplyTo, p.ContentType, p.ContentEncoding, p.GroupID, p.ReplyToGroupID} {
			if s != nil {
				n += uint64(len(*s))
			}
		}
		known = known && isFlat(p.MessageID) && isFlat(p.CorrelationID)
	}
	return n + 256, known // 256: section headers, descriptors, fixed-size fields
}

// isFlat reports a value whose size flatSize bounds: no list, map or array.
func isFlat(v any) bool {
	switch v.(type) {
	case []any, map[any]any, map[string]any, message.Annotations:
		return false
	}
	return true
}

// flatSize bounds a flat value's encoded size, less its framing: a string's or
// binary's bytes, else at most 16 (a UUID).
func flatSize(v any) uint64 {
	switch v := v.(type) {
	case string:
		return uint64(len(v))
	case []byte:
		return uint64(len(v))
	}
	return 16
}

// Close detaches the link.
func (s *senderLink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.sess.closeLink(ctx, s.wireSess, s.wire.LinkName(), s.wire.Close) })
	return s.closeErr
}

// receipt reports the outcome of an unsettled transfer.
type receipt struct {
	wire amqp.SendReceipt
	link *senderLink
}

func (r *receipt) Wait(ctx context.Context) (message.Outcome, error) {
	state, err := r.wire.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		cause := r.link.sess.linkFailed(r.link.wireSess, err, errorpolicy.ScopeLink)
		return nil, &errorpolicy.Error{
			Condition:   errorpolicy.CondOutcomeUnknown,
			Description: "the link ended before the peer reported an outcome",
			Scope:       errorpolicy.ScopeLink,
			Class:       errorpolicy.Fatal,
			Err:         cause,
		}
	}
	return outcomeFromWire(state)
}

func outcomeFromWire(state amqp.DeliveryState) (message.Outcome, error) {
	switch st := state.(type) {
	case *amqp.StateAccepted:
		return message.Accepted{}, nil
	case *amqp.StateReleased:
		return message.Released{}, nil
	case *amqp.StateRejected:
		r := message.Rejected{}
		if st.Error != nil {
			r.Condition, r.Description, r.Info = string(st.Error.Condition), st.Error.Description, st.Error.Info
		}
		return r, nil
	case *amqp.StateModified:
		return message.Modified{
			DeliveryFailed:    st.DeliveryFailed,
			UndeliverableHere: st.UndeliverableHere,
			Annotations:       fromWireAnnotations(st.MessageAnnotations),
		}, nil
	}
	return nil, errorpolicy.New(errorpolicy.CondOutcomeUnknown, fmt.Sprintf("the peer settled with the non-terminal state %T", state), nil)
}

// settledReceipt is the receipt of a pre-settled transfer: there is no outcome to
// wait for.
type settledReceipt struct{}

func (settledReceipt) Wait(context.Context) (message.Outcome, error) { return message.Accepted{}, nil }

var _ link.BatchSender = (*senderLink)(nil)

// Encode returns m as it goes on the wire.
func (s *senderLink) Encode(m *message.Message) ([]byte, error) { return codec{}.Encode(m) }

// SendBatch sends encoded messages as one unsettled transfer in the batch format.
func (s *senderLink) SendBatch(ctx context.Context, encoded [][]byte) (link.Receipt, error) {
	if len(encoded) == 0 {
		return nil, errorpolicy.InvalidOption("amqp10: SendBatch of no messages")
	}
	w := &amqp.Message{Format: link.BatchFormat, Data: encoded}
	var size uint64
	for _, e := range encoded {
		size += uint64(len(e)) + link.BatchSectionOverhead
	}
	if size > s.maxSize {
		return nil, errorpolicy.New(errorpolicy.CondMessageSizeExceeded,
			fmt.Sprintf("batch of %d bytes exceeds the link's limit of %d", size, s.maxSize), nil)
	}
	if s.mode == link.SenderSettled {
		return nil, errorpolicy.InvalidOption("amqp10: a batch needs a link in Unsettled or Mixed mode")
	}
	r, err := s.wire.SendWithReceipt(ctx, w, nil)
	if err != nil {
		return nil, s.sendError(ctx, err)
	}
	return &receipt{wire: r, link: s}, nil
}
