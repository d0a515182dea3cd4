package amqp10

import (
	"time"

	amqp "github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/message"
)

// toWire converts a neutral message into go-amqp's. Maps are shared, not copied,
// when none of their values needs converting: the send path is hot.
func toWire(m *message.Message) *amqp.Message {
	w := &amqp.Message{
		Format:                m.Format,
		DeliveryAnnotations:   toWireAnnotations(m.DeliveryAnnotations),
		Annotations:           toWireAnnotations(m.Annotations),
		ApplicationProperties: toWireMap(m.ApplicationProperties),
		Data:                  m.Body.Data,
		Value:                 toWireValue(m.Body.Value),
		Footer:                toWireAnnotations(m.Footer),
	}
	if m.Body.Sequence != nil {
		w.Sequence = make([][]any, len(m.Body.Sequence))
		for i, s := range m.Body.Sequence {
			w.Sequence[i] = toWireSlice(s)
		}
	}
	if h := m.Header; h != nil {
		w.Header = &amqp.MessageHeader{
			Durable:       h.Durable,
			Priority:      4, // AMQP's default, which go-amqp leaves off the wire
			TTL:           h.TTL,
			FirstAcquirer: h.FirstAcquirer,
			DeliveryCount: h.DeliveryCount,
		}
		if h.Priority != nil {
			w.Header.Priority = *h.Priority
		}
	}
	if p := m.Properties; p != nil {
		w.Properties = &amqp.MessageProperties{
			MessageID:          toWireValue(p.MessageID),
			UserID:             p.UserID,
			To:                 p.To,
			Subject:            p.Subject,
			ReplyTo:            p.ReplyTo,
			CorrelationID:      toWireValue(p.CorrelationID),
			ContentType:        p.ContentType,
			ContentEncoding:    p.ContentEncoding,
			AbsoluteExpiryTime: p.AbsoluteExpiryTime,
			CreationTime:       p.CreationTime,
			GroupID:            p.GroupID,
			GroupSequence:      p.GroupSequence,
			ReplyToGroupID:     p.ReplyToGroupID,
		}
	}
	return w
}

// fromWire converts a received go-amqp message into the neutral model.
func fromWire(w *amqp.Message) *message.Message {
	r := new(received)
	r.fill(w)
	return &r.msg
}

// received is what the driver makes of one received message, in one
// allocation: the message, its header, properties and times. A message costs
// the consumer per delivery, and raw go-amqp is the yardstick. The Delivery is
// an allocation of its own: it refers to the link (and so the session and
// connection), which a message kept after its delivery is done with must not
// keep alive.
type received struct {
	msg              message.Message
	h                message.Header
	p                message.Properties
	created, expires time.Time
	priority         uint8 // what h.Priority points to, when set
}

// fill converts w into r.msg, pointing its header and properties into r.
func (r *received) fill(w *amqp.Message) {
	m := &r.msg
	*m = message.Message{
		Format:                w.Format,
		DeliveryAnnotations:   fromWireAnnotations(w.DeliveryAnnotations),
		Annotations:           fromWireAnnotations(w.Annotations),
		ApplicationProperties: fromWireMap(w.ApplicationProperties),
		Body:                  message.Body{Data: w.Data, Value: fromWireValue(w.Value)},
		Footer:                fromWireAnnotations(w.Footer),
	}
	if w.Sequence != nil {
		m.Body.Sequence = make([][]any, len(w.Sequence))
		for i, s := range w.Sequence {
			m.Body.Sequence[i] = fromWireSlice(s)
		}
	}
	if h := w.Header; h != nil {
		r.h = message.Header{
			Durable:       h.Durable,
			TTL:           h.TTL,
			FirstAcquirer: h.FirstAcquirer,
			DeliveryCount: h.DeliveryCount,
		}
		if h.Priority != 4 { // go-amqp reads an absent priority as 4
			r.priority = h.Priority
			r.h.Priority = &r.priority
		}
		m.Header = &r.h
	}
	if p := w.Properties; p != nil {
		r.p = message.Properties{
			MessageID:          fromWireValue(p.MessageID),
			UserID:             p.UserID,
			To:                 p.To,
			Subject:            p.Subject,
			ReplyTo:            p.ReplyTo,
			CorrelationID:      fromWireValue(p.CorrelationID),
			ContentType:        p.ContentType,
			ContentEncoding:    p.ContentEncoding,
			AbsoluteExpiryTime: utcIn(p.AbsoluteExpiryTime, &r.expires),
			CreationTime:       utcIn(p.CreationTime, &r.created),
			GroupID:            p.GroupID,
			GroupSequence:      p.GroupSequence,
			ReplyToGroupID:     p.ReplyToGroupID,
		}
		m.Properties = &r.p
	}
}

// utcIn gives received timestamps one location (go-amqp returns them in
// time.Local): it stores t in UTC in *dst and returns dst, or nil for no time.
func utcIn(t *time.Time, dst *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	*dst = t.UTC()
	return dst
}

// toWireValue maps the neutral value types (Symbol, UUID, Null and containers of
// them) onto go-amqp's; every other value passes through unchanged.
func toWireValue(v any) any {
	switch v := v.(type) {
	case message.Symbol:
		return amqp.Symbol(v)
	case message.UUID:
		return amqp.UUID(v)
	case message.Null:
		return amqp.Null{}
	case []message.Symbol:
		out := make([]amqp.Symbol, len(v))
		for i, s := range v {
			out[i] = amqp.Symbol(s)
		}
		return out
	case []message.UUID:
		out := make([]amqp.UUID, len(v))
		for i, u := range v {
			out[i] = amqp.UUID(u)
		}
		return out
	case []any:
		return toWireSlice(v)
	case map[string]any:
		return toWireMap(v)
	case map[any]any:
		return map[any]any(toWireAnnotations(message.Annotations(v)))
	case message.Annotations:
		return map[any]any(toWireAnnotations(v))
	}
	return v
}

func fromWireValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case amqp.Symbol:
		return message.Symbol(v)
	case amqp.UUID:
		return message.UUID(v)
	case []amqp.Symbol:
		out := make([]message.Symbol, len(v))
		for i, s := range v {
			out[i] = message.Symbol(s)
		}
		return out
	case []amqp.UUID:
		out := make([]message.UUID, len(v))
		for i, u := range v {
			out[i] = message.UUID(u)
		}
		return out
	case []any:
		return fromWireSlice(v)
	case map[string]any:
		return fromWireMap(v)
	case map[any]any:
		return map[any]any(fromWireAnnotations(amqp.Annotations(v)))
	}
	return v
}

// needsConversion reports whether v is of a type the converters rewrite.
func needsConversion(v any) bool {
	switch v.(type) {
	case message.Symbol, message.UUID, message.Null, []message.Symbol, []message.UUID,
		amqp.Symbol, amqp.UUID, []amqp.Symbol, []amqp.UUID, time.Time,
		[]any, map[string]any, map[any]any, message.Annotations:
		return true
	}
	return false
}

func toWireSlice(s []any) []any   { return convertSlice(s, toWireValue) }
func fromWireSlice(s []any) []any { return convertSlice(s, fromWireValue) }
func toWireMap(m map[string]any) map[string]any {
	return convertMap(m, toWireValue)
}
func fromWireMap(m map[string]any) map[string]any {
	return convertMap(m, fromWireValue)
}

func convertSlice(s []any, conv func(any) any) []any {
	for i, v := range s {
		if needsConversion(v) {
			out := make([]any, len(s))
			copy(out, s[:i])
			for j := i; j < len(s); j++ {
				out[j] = conv(s[j])
			}
			return out
		}
	}
	return s
}

func convertMap(m map[string]any, conv func(any) any) map[string]any {
	for _, v := range m {
		if needsConversion(v) {
			out := make(map[string]any, len(m))
			for k, v := range m {
				out[k] = conv(v)
			}
			return out
		}
	}
	return m
}

// Annotation keys are symbols on the wire; go-amqp reads them back as amqp.Symbol.
// The neutral model uses plain strings (and uint64 codes).
func toWireAnnotations(a message.Annotations) amqp.Annotations {
	if a == nil {
		return nil
	}
	out := make(amqp.Annotations, len(a))
	for k, v := range a {
		if s, ok := k.(message.Symbol); ok {
			k = string(s)
		}
		out[k] = toWireValue(v)
	}
	return out
}

// fromWireAnnotations converts a in place, which saves a map per section of
// every received message: the maps of a received wire message belong to the
// driver, which reads nothing from them after the conversion.
func fromWireAnnotations(a amqp.Annotations) message.Annotations {
	for k, v := range a {
		if s, ok := k.(amqp.Symbol); ok {
			delete(a, k)
			a[string(s)] = fromWireValue(v)
		} else if needsConversion(v) {
			a[k] = fromWireValue(v)
		}
	}
	return message.Annotations(a)
}
