package amqp091

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// Annotation keys the driver reads and writes, named as RabbitMQ names them when
// it carries a 0-9-1 message to AMQP 1.0.
const (
	// AnnotationExchange and AnnotationRoutingKey (message annotations) are the
	// exchange and routing key a delivered message was published with.
	AnnotationExchange   = "x-exchange"
	AnnotationRoutingKey = "x-routing-key"
	// AnnotationType and AnnotationAppID (message annotations) carry the type
	// and app-id basic properties, which AMQP 1.0 has no field for.
	AnnotationType  = "x-basic-type"
	AnnotationAppID = "x-basic-app-id"
)

// toPublishing maps a message to 0-9-1 basic properties and a body, the way
// RabbitMQ maps AMQP 1.0 to 0-9-1: the header's durability, priority and TTL
// become delivery-mode, priority and expiration; the properties keep their
// names; application properties become headers. The body must be data sections
// (joined) or a string or []byte value: 0-9-1 bodies are bytes.
func toPublishing(m *message.Message) (amqp.Publishing, error) {
	var p amqp.Publishing
	body, err := m.Bytes()
	if err == message.ErrBodyKind {
		switch v := m.Body.Value.(type) {
		case string:
			body = []byte(v)
		case []byte:
			body = v
		default:
			return p, errorpolicy.New(errorpolicy.CondNotSupported,
				fmt.Sprintf("amqp091: a %T amqp-value or sequence body has no AMQP 0-9-1 form; send bytes", m.Body.Value), nil)
		}
	}
	p.Body = body
	p.DeliveryMode = amqp.Transient
	if h := m.Header; h != nil {
		if h.Durable {
			p.DeliveryMode = amqp.Persistent
		}
		if h.Priority != nil {
			p.Priority = *h.Priority
		}
		if h.TTL > 0 {
			p.Expiration = strconv.FormatInt(h.TTL.Milliseconds(), 10)
		}
	}
	if pr := m.Properties; pr != nil {
		p.MessageId = idString(pr.MessageID)
		p.CorrelationId = idString(pr.CorrelationID)
		p.UserId = string(pr.UserID)
		p.ReplyTo = deref(pr.ReplyTo)
		p.ContentType = deref(pr.ContentType)
		p.ContentEncoding = deref(pr.ContentEncoding)
		if pr.CreationTime != nil {
			p.Timestamp = *pr.CreationTime
		}
	}
	if v, ok := m.Annotations[AnnotationType].(string); ok {
		p.Type = v
	}
	if v, ok := m.Annotations[AnnotationAppID].(string); ok {
		p.AppId = v
	}
	if len(m.ApplicationProperties) > 0 {
		p.Headers = make(amqp.Table, len(m.ApplicationProperties))
		for k, v := range m.ApplicationProperties {
			p.Headers[k] = toTableValue(v)
		}
		if err := p.Headers.Validate(); err != nil {
			return p, errorpolicy.New(errorpolicy.CondInvalidField, "amqp091: application properties: "+err.Error(), err)
		}
	}
	return p, nil
}

// toTableValue turns the neutral model's AMQP types into field-table types.
func toTableValue(v any) any {
	switch v := v.(type) {
	case message.Symbol:
		return string(v)
	case message.UUID:
		return v.String()
	case uint:
		return uint64(v)
	case int:
		return int64(v)
	}
	return v
}

// idString renders a message or correlation id as 0-9-1's short string.
func idString(id any) string {
	switch v := id.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case message.UUID:
		return v.String()
	case uint64:
		return strconv.FormatUint(v, 10)
	}
	return fmt.Sprint(id)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// fromDelivery maps a 0-9-1 delivery to the neutral model (the reverse of
// toPublishing), with the delivery's metadata in annotations. amqp091-go does not
// keep which properties were present, so a property equal to its zero value
// (an empty string, priority 0, a zero timestamp) reads as absent.
func fromDelivery(d *amqp.Delivery) *message.Message {
	// One allocation for the message and its header and properties: a delivery
	// costs the consumer per message, and raw amqp091-go is the yardstick.
	a := &struct {
		m        message.Message
		h        message.Header
		p        message.Properties
		data     [1][]byte
		priority uint8
		created  time.Time
		strs     [3]string // reply-to, content type and encoding, pointed to when set
	}{}
	a.data[0] = d.Body
	m, h, pr := &a.m, &a.h, &a.p
	m.Body.Data = a.data[:]
	h.Durable = d.DeliveryMode == amqp.Persistent
	if d.Priority != 0 {
		a.priority = d.Priority
		h.Priority = &a.priority
	}
	if d.Expiration != "" {
		if ms, err := strconv.ParseInt(d.Expiration, 10, 64); err == nil && ms > 0 {
			h.TTL = time.Duration(ms) * time.Millisecond
		}
	}
	if c, ok := d.Headers["x-delivery-count"]; ok { // quorum queues count redeliveries
		if n, ok := toUint32(c); ok {
			h.DeliveryCount = n
		}
	}
	m.Header = h
	a.strs = [3]string{d.ReplyTo, d.ContentType, d.ContentEncoding}
	for i, to := range [3]**string{&pr.ReplyTo, &pr.ContentType, &pr.ContentEncoding} {
		if a.strs[i] != "" {
			*to = &a.strs[i]
		}
	}
	if d.MessageId != "" {
		pr.MessageID = d.MessageId
	}
	if d.CorrelationId != "" {
		pr.CorrelationID = d.CorrelationId
	}
	if d.UserId != "" {
		pr.UserID = []byte(d.UserId)
	}
	if !d.Timestamp.IsZero() {
		a.created = d.Timestamp
		pr.CreationTime = &a.created
	}
	m.Properties = pr
	m.Annotations = message.Annotations{
		AnnotationExchange:   d.Exchange,
		AnnotationRoutingKey: d.RoutingKey,
	}
	if d.Type != "" {
		m.Annotations[AnnotationType] = d.Type
	}
	if d.AppId != "" {
		m.Annotations[AnnotationAppID] = d.AppId
	}
	if len(d.Headers) > 0 {
		m.ApplicationProperties = fromHeaders(d.Headers)
	}
	fromAMQP10(m, d)
	return m
}

func toUint32(v any) (uint32, bool) {
	switch n := v.(type) {
	case int64:
		return uint32(n), n >= 0
	case int32:
		return uint32(n), n >= 0
	case int16:
		return uint32(n), n >= 0
	case int8:
		return uint32(n), n >= 0
	case uint8:
		return uint32(n), true
	case uint16:
		return uint32(n), true
	case uint32:
		return n, true
	}
	return 0, false
}

// deliveryTagBytes is the delivery tag as a delivery's Tag.
func deliveryTagBytes(tag uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], tag)
	return b[:]
}
