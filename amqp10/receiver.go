package amqp10

import (
	"context"
	"maps"
	"sync"

	amqp "github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// receiverLink implements link.ReceiverLink and link.Drainer over a go-amqp
// receiver in manual credit mode: go-amqp never grants credit by itself, so the
// caller's ledger decides every grant. It is also the message.Settler of the
// deliveries it hands out, so a delivery always settles on the link that received
// it, with the original wire message.
type receiverLink struct {
	wire       *amqp.Receiver
	sess       *session
	wireSess   *amqp.Session
	presettled bool // the peer agreed to send every transfer settled

	closeOnce sync.Once
	closeErr  error
}

var (
	_ link.ReceiverLink = (*receiverLink)(nil)
	_ link.Drainer      = (*receiverLink)(nil)
	_ message.Settler   = (*receiverLink)(nil)
)

// NewReceiver attaches a receiver link.
func (s *session) NewReceiver(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	r, w, err := attach(ctx, s, o.Name, func(w *amqp.Session) (*amqp.Receiver, error) {
		return w.NewReceiver(ctx, o.Source, receiverOptions(o))
	})
	if err != nil {
		return nil, err
	}
	return &receiverLink{wire: r, sess: s, wireSess: w, presettled: o.SenderSettle == link.SenderSettled}, nil
}

func receiverOptions(o link.ReceiverOptions) *amqp.ReceiverOptions {
	ro := &amqp.ReceiverOptions{
		Credit:              -1, // manual: the caller's ledger issues every credit
		Name:                o.Name,
		Properties:          maps.Clone(o.Properties),
		DesiredCapabilities: o.DesiredCapabilities,
		MaxMessageSize:      o.MaxMessageSize,
		TargetAddress:       o.TargetAddress,
		SettlementMode:      receiverSettleMode(o.ReceiverSettle).Ptr(),
	}
	// Mixed is requested by asking for nothing (AMQP's default): a peer that answers
	// with unsettled or settled has then agreed, where an explicit request for mixed
	// would fail the attach on any other answer, as RabbitMQ's "unsettled" does.
	if o.SenderSettle != link.SenderMixed {
		ro.RequestedSenderSettleMode = senderSettleMode(o.SenderSettle).Ptr()
	}
	for _, f := range o.Filters {
		ro.Filters = append(ro.Filters, amqp.NewLinkFilter(f.Key, f.Code, toWireValue(f.Value)))
	}
	return ro
}

func senderSettleMode(m link.SenderSettleMode) amqp.SenderSettleMode {
	switch m {
	case link.SenderSettled:
		return amqp.SenderSettleModeSettled
	case link.SenderMixed:
		return amqp.SenderSettleModeMixed
	}
	return amqp.SenderSettleModeUnsettled
}

func receiverSettleMode(m link.ReceiverSettleMode) amqp.ReceiverSettleMode {
	if m == link.ReceiverSecond {
		return amqp.ReceiverSettleModeSecond
	}
	return amqp.ReceiverSettleModeFirst
}

func (r *receiverLink) Name() string    { return r.wire.LinkName() }
func (r *receiverLink) Address() string { return r.wire.Address() }

// IssueCredit allows the peer to send n more messages.
func (r *receiverLink) IssueCredit(n uint32) error {
	return translate(r.wire.IssueCredit(n), errorpolicy.ScopeLink)
}

// Drain asks the peer to use up or cancel the outstanding credit and waits for its
// answer within ctx. Some peers never answer (older ActiveMQ); some answer and then
// fail (RabbitMQ 3.10 ends the session with amqp:internal-error).
func (r *receiverLink) Drain(ctx context.Context) error {
	return r.failed(r.wire.DrainCredit(ctx, nil))
}

// failed is err from an operation on the link, translated (see
// session.linkFailed).
func (r *receiverLink) failed(err error) error {
	return r.sess.linkFailed(r.wireSess, err, errorpolicy.ScopeLink)
}

// Receive returns the next delivery.
func (r *receiverLink) Receive(ctx context.Context) (*message.Delivery, error) {
	w, err := r.wire.Receive(ctx, nil)
	if err != nil {
		return nil, r.failed(err)
	}
	return message.NewDelivery(fromWire(w), message.DeliveryInfo{
		Tag:        w.DeliveryTag,
		Presettled: r.presettled,
		Driver:     w,
	}, r), nil
}

// Settle sends the outcome for d, which must have come from this link.
func (r *receiverLink) Settle(ctx context.Context, d *message.Delivery, o message.Outcome) error {
	w, ok := d.DriverHandle().(*amqp.Message)
	if !ok {
		return errorpolicy.New(errorpolicy.CondNotSettleable, "the delivery did not come from an AMQP 1.0 link", nil)
	}
	var err error
	switch o := o.(type) {
	case message.Accepted:
		err = r.wire.AcceptMessage(ctx, w)
	case message.Released:
		err = r.wire.ReleaseMessage(ctx, w)
	case message.Rejected:
		var e *amqp.Error
		if o.Condition != "" || o.Description != "" || o.Info != nil {
			cond := o.Condition
			if cond == "" {
				cond = string(errorpolicy.CondInternalError) // a rejection error needs a condition
			}
			e = &amqp.Error{Condition: amqp.ErrCond(cond), Description: o.Description, Info: o.Info}
		}
		err = r.wire.RejectMessage(ctx, w, e)
	case message.Modified:
		err = r.wire.ModifyMessage(ctx, w, &amqp.ModifyMessageOptions{
			DeliveryFailed:    o.DeliveryFailed,
			UndeliverableHere: o.UndeliverableHere,
			Annotations:       toWireAnnotations(o.Annotations),
		})
	default:
		return errorpolicy.InvalidOption("amqp10: unknown outcome " + o.String())
	}
	return r.failed(err)
}

// Close detaches the link.
func (r *receiverLink) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.sess.closeLink(ctx, r.wireSess, r.wire.LinkName(), r.wire.Close) })
	return r.closeErr
}
