package eventhubs

import (
	"fmt"
	"strconv"
	"time"

	"github.com/amqplink/amqplink/message"
)

// Event is one event read from a partition, with the service's bookkeeping.
type Event struct {
	// Message is the event as sent.
	Message *message.Message
	// SequenceNumber is the event's number in its partition.
	SequenceNumber int64
	// Offset is the event's offset in its partition.
	Offset string
	// EnqueuedTime is when the service took the event.
	EnqueuedTime time.Time
	// PartitionKey is the key the sender chose the partition by, if any.
	PartitionKey string
}

// eventOf reads the service's annotations. An event without a sequence number
// is a protocol error: resuming and de-duplicating depend on it.
func eventOf(m *message.Message) (*Event, error) {
	e := &Event{Message: m}
	seq, ok := m.Annotations[SequenceNumberAnnotation]
	switch n := seq.(type) {
	case int64:
		e.SequenceNumber = n
	case int32:
		e.SequenceNumber = int64(n)
	default:
		if !ok {
			return nil, fmt.Errorf("eventhubs: an event without %s", SequenceNumberAnnotation)
		}
		return nil, fmt.Errorf("eventhubs: %s of type %T", SequenceNumberAnnotation, seq)
	}
	switch o := m.Annotations[OffsetAnnotation].(type) {
	case string:
		e.Offset = o
	case int64:
		e.Offset = strconv.FormatInt(o, 10)
	}
	if t, ok := m.Annotations[EnqueuedTimeAnnotation].(time.Time); ok {
		e.EnqueuedTime = t
	}
	if k, ok := m.Annotations[PartitionKeyAnnotation].(string); ok {
		e.PartitionKey = k
	}
	return e, nil
}
