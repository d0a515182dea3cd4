package message

import "time"

// Message is an AMQP message with every section AMQP 1.0 defines. A nil section is
// absent on the wire. The 0-9-1 driver maps its properties and headers onto the same
// fields the way RabbitMQ does (see the amqp091 package).
type Message struct {
	// Format is the message format code. 0 is the standard format; Service Bus
	// batches use 0x80013700.
	Format uint32

	// Header carries delivery details: durability, priority, time to live,
	// first acquirer and delivery count.
	Header *Header

	// DeliveryAnnotations are hop-by-hop annotations for the next node only.
	DeliveryAnnotations Annotations

	// Annotations are the message annotations: properties for the infrastructure,
	// such as x-opt-partition-key or x-opt-lock-token.
	Annotations Annotations

	// Properties are the immutable, standard properties of the message.
	Properties *Properties

	// ApplicationProperties are the application's own structured properties.
	// Values must be simple AMQP types (no maps or lists).
	ApplicationProperties map[string]any

	// Body holds exactly one kind of body: data sections, an AMQP value, or
	// sequence sections.
	Body Body

	// Footer holds annotations computed over the bare message (hashes, signatures).
	Footer Annotations
}

// Header is the AMQP message header section.
type Header struct {
	// Durable asks the broker to keep the message across restarts.
	Durable bool

	// Priority is the relative priority; nil means absent, which AMQP reads as 4.
	Priority *uint8

	// TTL is the message's time to live; 0 means it does not expire.
	TTL time.Duration

	// FirstAcquirer is true when no earlier acquirer may have seen the message.
	FirstAcquirer bool

	// DeliveryCount counts earlier unsuccessful delivery attempts.
	DeliveryCount uint32
}

// Properties is the AMQP properties section. Every optional field is a pointer or a
// nil-able value, so an unset field is absent on the wire.
type Properties struct {
	// MessageID identifies the message: a string, UUID, uint64 or []byte.
	MessageID any

	// UserID is the identity of the user who produced the message.
	UserID []byte

	// To is the address of the node the message is destined for.
	To *string

	// Subject is a summary of the message; RabbitMQ maps it to the routing key.
	Subject *string

	// ReplyTo is the node to send replies to.
	ReplyTo *string

	// CorrelationID relates a reply to its request: a string, UUID, uint64 or []byte.
	CorrelationID any

	// ContentType is the MIME type of a data body, e.g. "application/json".
	ContentType *string

	// ContentEncoding is the content encoding of a data body, e.g. "gzip".
	ContentEncoding *string

	// AbsoluteExpiryTime is when the message is considered expired.
	AbsoluteExpiryTime *time.Time

	// CreationTime is when the message was created.
	CreationTime *time.Time

	// GroupID is the group the message belongs to (a Service Bus session id).
	GroupID *string

	// GroupSequence is the message's position within its group.
	GroupSequence *uint32

	// ReplyToGroupID is the group that replies should belong to.
	ReplyToGroupID *string
}

// Body is the message body: exactly one of Data, Value or Sequence is set.
type Body struct {
	// Data holds one or more data sections (opaque bytes).
	Data [][]byte

	// Value holds a single amqp-value section. Use Null{} to send a null value.
	Value any

	// Sequence holds one or more amqp-sequence sections.
	Sequence [][]any
}

// Ptr returns a pointer to v, for setting optional fields in one expression:
//
//	msg.Properties = &message.Properties{Subject: message.Ptr("created")}
func Ptr[T any](v T) *T { return &v }
