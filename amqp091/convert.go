package amqp091

import (
	"fmt"
	"maps"
	"strconv"
	"sync/atomic"
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

// received is what the driver makes of one delivery, in one allocation: the
// delivery, its message with the header and properties, and its handle and tag
// (448 bytes, a size class of its own). A delivery costs the consumer per
// message, and raw amqp091-go is the yardstick. So a message kept after its
// delivery is done with keeps the channel's bookkeeping too (its connection's
// write buffers are let go of when it closes).
type received struct {
	d        message.Delivery
	msg      message.Message
	h        message.Header
	p        message.Properties
	ref      deliveryRef
	tag      [8]byte // the delivery tag as Delivery.Tag shows it
	priority uint8   // what h.Priority points to, when set
	data     [1][]byte
}

// receivedStrings holds the properties a pointer refers to, in an allocation
// of their own, made only for a delivery that has one of them.
type receivedStrings struct {
	replyTo, contentType, contentEncoding string
	created                               time.Time
}

func (a *received) m() *message.Message { return &a.msg }

// convertDelivery maps a 0-9-1 delivery to the neutral model (the reverse of
// toPublishing), with the delivery's metadata in annotations. amqp091-go does not
// keep which properties were present, so a property equal to its zero value
// (an empty string, priority 0, a zero timestamp) reads as absent. names, when
// not nil, makes the x-exchange and x-routing-key annotations from
// its cache.
func convertDelivery(d *amqp.Delivery, names *annotationCache) *received {
	a := &received{}
	a.data[0] = d.Body
	m, h, pr := &a.msg, &a.h, &a.p
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
	if d.ReplyTo != "" || d.ContentType != "" || d.ContentEncoding != "" || !d.Timestamp.IsZero() {
		strs := &receivedStrings{replyTo: d.ReplyTo, contentType: d.ContentType,
			contentEncoding: d.ContentEncoding, created: d.Timestamp}
		if d.ReplyTo != "" {
			pr.ReplyTo = &strs.replyTo
		}
		if d.ContentType != "" {
			pr.ContentType = &strs.contentType
		}
		if d.ContentEncoding != "" {
			pr.ContentEncoding = &strs.contentEncoding
		}
		if !d.Timestamp.IsZero() {
			pr.CreationTime = &strs.created
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
	m.Properties = pr
	m.Annotations = names.annotations(d.Exchange, d.RoutingKey)
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
	return a
}

// annotationCache keeps the x-exchange and x-routing-key annotations of a
// consumer's deliveries, which most often repeat: the map of a delivery that
// matches is a copy of the cached one (a copy costs less than building a map,
// and boxes no string); the cached map is never handed out. A delivery that
// does not match gets a map built for it, and every so many such misses the
// cache takes the latest pair, so a consumer whose routing keys change all the
// time does not pay for a cache it cannot use. Safe for concurrent use.
type annotationCache struct {
	last   atomic.Pointer[annotationTemplate]
	misses atomic.Uint32
}

type annotationTemplate struct {
	exchange, key string
	ann           message.Annotations // read only
}

// annotationRefresh is how many misses it takes to replace the cached pair.
const annotationRefresh = 16

// annotations returns a new map holding exchange and key. c may be nil.
func (c *annotationCache) annotations(exchange, key string) message.Annotations {
	if c == nil {
		return message.Annotations{AnnotationExchange: exchange, AnnotationRoutingKey: key}
	}
	if t := c.last.Load(); t != nil && t.exchange == exchange && t.key == key {
		return maps.Clone(t.ann)
	}
	ann := message.Annotations{AnnotationExchange: exchange, AnnotationRoutingKey: key}
	if c.misses.Add(1)%annotationRefresh == 1 {
		c.last.Store(&annotationTemplate{exchange: exchange, key: key, ann: maps.Clone(ann)})
	}
	return ann
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
