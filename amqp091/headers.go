package amqp091

import (
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/message"
)

// What survives between AMQP 1.0 and AMQP 0-9-1 through RabbitMQ 3.10, as
// tests/crossprotocol_test.go measures and pins down.
//
// AMQP 1.0 sender → 0-9-1 consumer. RabbitMQ maps what it can to basic
// properties and puts each 1.0 section in a header as the section's AMQP 1.0
// encoding (a long string); fromAMQP10 decodes those back, so the driver hands
// over what the sender sent:
//
//	1.0 field                      what RabbitMQ hands 0-9-1             through this driver
//	header durable/priority/ttl    delivery-mode, priority, expiration   equal
//	header first-acquirer,         dropped                               lost
//	  delivery-count
//	delivery annotations           RabbitMQ closes the sender's          -
//	                               connection
//	message annotations            x-amqp-1.0-message-annotations        equal, merged into Annotations
//	                                                                     (x-exchange, x-routing-key are
//	                                                                     the delivery's)
//	properties                     x-amqp-1.0-properties, and basic      equal: all 13 fields, ids of
//	                               properties derived from it            every type, from the header
//	  creation-time                basic timestamp = the milliseconds    (basic timestamp not used)
//	                               as seconds (year 58864)
//	  reply-to                     basic reply-to loses a "/queue/"      (basic reply-to not used)
//	  ulong message- or            none: RabbitMQ closes the 0-9-1       the message cannot be consumed
//	    correlation-id             consumer's connection (541)           over 0-9-1; it stays queued
//	application properties         x-amqp-1.0-app-properties             equal (a symbol reads as a string,
//	                                                                     as through the AMQP 1.0 driver);
//	                                                                     headers RabbitMQ adds stay
//	footer                         x-amqp-1.0-footer                     equal
//	one data section               the body; type "binary"               equal; x-basic-type "binary"
//	several data sections,         the sections' encoding, reversed;     equal to what a 1.0 consumer gets
//	  amqp-sequence sections       type "amqp-1.0"                       (also reversed); no x-basic-type
//	amqp-value                     its encoding; type "amqp-1.0"         Body.Value (null: message.Null{})
//
// A header or body that does not decode is handed over as RabbitMQ gave it.
//
// 0-9-1 sender (this driver) → AMQP 1.0 consumer. RabbitMQ builds the 1.0
// sections from the basic properties alone:
//
//	sent over 0-9-1                what the AMQP 1.0 consumer gets
//	durable, priority, TTL         header durable, priority, ttl; first-acquirer = !redelivered
//	message-id, correlation-id     strings (a uint64 or UUID id was sent as its text)
//	user-id                        a string where AMQP 1.0 has binary: go-amqp refuses the
//	                               transfer, failing the receiver; the message returns to the
//	                               queue when the link closes (do not set UserID for 1.0 consumers)
//	reply-to                       "/queue/" + reply-to
//	content-type, -encoding        equal
//	creation-time                  wrong: the 0-9-1 seconds read as milliseconds (1970)
//	the routing key                subject
//	application properties         lost (0-9-1 headers are dropped)
//	x-basic-type, x-basic-app-id   lost
//	Subject                        only as the routing key of an exchange address without one
//	to, absolute-expiry, group     lost: 0-9-1 has no field for them
//	  fields, footer, other
//	  annotations
//	data body                      one data section, equal

// The headers in which RabbitMQ 3.10 hands a 0-9-1 consumer the sections of a
// message published over AMQP 1.0, each the section's AMQP 1.0 encoding (the
// described value, descriptor included) as a long string; and the type basic
// property it gives a body that is not one data section, which it then hands
// over as the body sections' encoding.
const (
	headerAMQP10Annotations = "x-amqp-1.0-message-annotations"
	headerAMQP10Properties  = "x-amqp-1.0-properties"
	headerAMQP10AppProps    = "x-amqp-1.0-app-properties"
	headerAMQP10Footer      = "x-amqp-1.0-footer"
	typeAMQP10Body          = "amqp-1.0"
)

// Section descriptors (AMQP 1.0 part 3, section 3.2), by code and by name.
const (
	sectionAnnotations = 0x72
	sectionProperties  = 0x73
	sectionAppProps    = 0x74
	sectionData        = 0x75
	sectionSequence    = 0x76
	sectionValue       = 0x77
	sectionFooter      = 0x78
)

var sectionNames = map[string]uint64{
	"amqp:message-annotations:map":    sectionAnnotations,
	"amqp:properties:list":            sectionProperties,
	"amqp:application-properties:map": sectionAppProps,
	"amqp:data:binary":                sectionData,
	"amqp:amqp-sequence:list":         sectionSequence,
	"amqp:amqp-value:*":               sectionValue,
	"amqp:footer:map":                 sectionFooter,
}

// fromHeaders turns a 0-9-1 header table into application properties: nested
// tables become map[string]any, the rest keep amqp091-go's Go types.
func fromHeaders(t amqp.Table) map[string]any {
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = fromTableValue(v)
	}
	return out
}

func fromTableValue(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		return fromHeaders(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fromTableValue(e)
		}
		return out
	}
	return v
}

// fromAMQP10 restores what RabbitMQ carried over from AMQP 1.0 in m, a message
// convertDelivery mapped from d: the sections in x-amqp-1.0-* headers become the
// message annotations, properties, application properties and footer they were,
// and an "amqp-1.0" body becomes the data, amqp-sequence or amqp-value sections
// it was. A header or body that does not decode stays as RabbitMQ gave it.
func fromAMQP10(m *message.Message, d *amqp.Delivery) {
	if d.Type == typeAMQP10Body {
		if body, err := decodeBody(d.Body); err == nil {
			m.Body = body
			delete(m.Annotations, AnnotationType) // RabbitMQ's marker, not the sender's type
		}
	}
	headers := m.ApplicationProperties
	if len(headers) == 0 {
		return
	}
	var app map[string]any
	if v, err := headerSection(headers, headerAMQP10AppProps, sectionAppProps); err == nil {
		if app, err = toAppProperties(v); err == nil {
			delete(headers, headerAMQP10AppProps)
		}
	}
	if v, err := headerSection(headers, headerAMQP10Properties, sectionProperties); err == nil {
		if p, err := toProperties(v); err == nil {
			m.Properties = p
			delete(headers, headerAMQP10Properties)
		}
	}
	if v, err := headerSection(headers, headerAMQP10Annotations, sectionAnnotations); err == nil {
		if a, err := toAnnotations(v); err == nil {
			if m.Annotations == nil {
				m.Annotations = message.Annotations{}
			}
			for k, v := range a {
				if k != AnnotationExchange && k != AnnotationRoutingKey { // this delivery's, not the sender's
					m.Annotations[k] = v
				}
			}
			delete(headers, headerAMQP10Annotations)
		}
	}
	if v, err := headerSection(headers, headerAMQP10Footer, sectionFooter); err == nil {
		if f, err := toAnnotations(v); err == nil {
			m.Footer = f
			delete(headers, headerAMQP10Footer)
		}
	}
	switch {
	case app != nil:
		for k, v := range headers { // headers the broker added (x-death, x-delivery-count, …)
			if _, ok := app[k]; !ok {
				app[k] = v
			}
		}
		m.ApplicationProperties = app
	case len(headers) == 0:
		m.ApplicationProperties = nil
	}
}

// errNoHeader: a message sent over 0-9-1 has none of the x-amqp-1.0-* headers.
var errNoHeader = errors.New("amqp091: no such header")

// headerSection decodes the section in header name, which must have the
// descriptor want, and returns the section's value.
func headerSection(headers map[string]any, name string, want uint64) (any, error) {
	var b []byte
	switch v := headers[name].(type) {
	case nil:
		return nil, errNoHeader
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return nil, fmt.Errorf("amqp091: a %T %s header", v, name)
	}
	v, err := decodeAMQP10(b)
	if err != nil {
		return nil, err
	}
	code, v, ok := sectionOf(v)
	if !ok || code != want {
		return nil, fmt.Errorf("amqp091: the %s header holds no section %#02x", name, want)
	}
	return v, nil
}

// sectionOf returns the section code and value of v, a described section.
func sectionOf(v any) (uint64, any, bool) {
	ds, ok := v.(Described)
	if !ok {
		return 0, nil, false
	}
	switch desc := ds.Descriptor.(type) {
	case uint64:
		return desc, ds.Value, true
	case string:
		code, ok := sectionNames[desc]
		return code, ds.Value, ok
	}
	return 0, nil, false
}

// decodeBody decodes body sections: data sections, amqp-sequence sections, or
// one amqp-value section (a null value reads as message.Null{}).
func decodeBody(b []byte) (message.Body, error) {
	var body message.Body
	values, err := decodeAMQP10Values(b)
	if err != nil {
		return body, err
	}
	if len(values) == 0 {
		return body, fmt.Errorf("amqp091: an amqp-1.0 body without sections")
	}
	for _, v := range values {
		code, v, ok := sectionOf(v)
		if !ok {
			return body, fmt.Errorf("amqp091: an amqp-1.0 body holds a %T, not a section", v)
		}
		switch code {
		case sectionData:
			b, ok := v.([]byte)
			if !ok || body.Value != nil || body.Sequence != nil {
				return body, fmt.Errorf("amqp091: a data section of %T, or after other body sections", v)
			}
			body.Data = append(body.Data, b)
		case sectionSequence:
			l, ok := v.([]any)
			if !ok || body.Value != nil || body.Data != nil {
				return body, fmt.Errorf("amqp091: an amqp-sequence section of %T, or after other body sections", v)
			}
			body.Sequence = append(body.Sequence, l)
		case sectionValue:
			if body.Value != nil || body.Data != nil || body.Sequence != nil {
				return body, fmt.Errorf("amqp091: an amqp-value section after other body sections")
			}
			if v == nil {
				v = message.Null{}
			}
			body.Value = v
		default:
			return body, fmt.Errorf("amqp091: section %#02x in an amqp-1.0 body", code)
		}
	}
	return body, nil
}

func toAppProperties(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("amqp091: application properties of %T", v)
	}
	return m, nil
}

// toAnnotations reads message annotations or a footer: keys are symbols (read
// as strings) or ulongs.
func toAnnotations(v any) (message.Annotations, error) {
	switch m := v.(type) {
	case map[string]any:
		a := make(message.Annotations, len(m))
		for k, v := range m {
			a[k] = v
		}
		return a, nil
	case map[any]any:
		return message.Annotations(m), nil
	}
	return nil, fmt.Errorf("amqp091: annotations of %T", v)
}

// toProperties reads the properties list. Trailing fields may be left off;
// null fields are absent.
func toProperties(v any) (*message.Properties, error) {
	fields, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("amqp091: properties of %T", v)
	}
	f := func(i int) any {
		if i < len(fields) {
			return fields[i]
		}
		return nil
	}
	p := &message.Properties{}
	var err error
	check := func(e error) {
		if err == nil {
			err = e
		}
	}
	p.MessageID, err = messageID(f(0))
	p.UserID, ok = asBinary(f(1))
	check(fieldError(ok, "user-id", f(1)))
	p.To = stringField(f(2), "to", check)
	p.Subject = stringField(f(3), "subject", check)
	p.ReplyTo = stringField(f(4), "reply-to", check)
	id, e := messageID(f(5))
	p.CorrelationID = id
	check(e)
	p.ContentType = stringField(f(6), "content-type", check)
	p.ContentEncoding = stringField(f(7), "content-encoding", check)
	p.AbsoluteExpiryTime = timeField(f(8), "absolute-expiry-time", check)
	p.CreationTime = timeField(f(9), "creation-time", check)
	p.GroupID = stringField(f(10), "group-id", check)
	switch n := f(11).(type) {
	case nil:
	case uint32:
		p.GroupSequence = &n
	default:
		check(fieldError(false, "group-sequence", n))
	}
	p.ReplyToGroupID = stringField(f(12), "reply-to-group-id", check)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func fieldError(ok bool, name string, v any) error {
	if ok {
		return nil
	}
	return fmt.Errorf("amqp091: properties: %s of %T", name, v)
}

// messageID accepts the types AMQP 1.0 allows a message or correlation id.
func messageID(v any) (any, error) {
	switch v.(type) {
	case nil, uint64, message.UUID, []byte, string:
		return v, nil
	}
	return nil, fmt.Errorf("amqp091: properties: a message id of %T", v)
}

// asBinary reads a binary field; a string is taken as its bytes.
func asBinary(v any) ([]byte, bool) {
	switch b := v.(type) {
	case nil:
		return nil, true
	case []byte:
		return b, true
	case string:
		return []byte(b), true
	}
	return nil, false
}

// stringField reads a string, symbol or address field.
func stringField(v any, name string, check func(error)) *string {
	switch s := v.(type) {
	case nil:
		return nil
	case string:
		return &s
	}
	check(fieldError(false, name, v))
	return nil
}

func timeField(v any, name string, check func(error)) *time.Time {
	switch t := v.(type) {
	case nil:
		return nil
	case time.Time:
		return &t
	}
	check(fieldError(false, name, v))
	return nil
}
