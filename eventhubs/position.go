package eventhubs

import (
	"fmt"
	"strconv"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// StartPosition is where a partition receiver starts. Set at most one of
// SequenceNumber, Offset, EnqueuedTime and Latest; the zero value is the
// earliest event the partition still holds.
type StartPosition struct {
	// SequenceNumber starts after (or at, with Inclusive) this event.
	SequenceNumber *int64
	// Offset starts after (or at, with Inclusive) the event at this offset.
	Offset *string
	// EnqueuedTime starts with the events enqueued after this time.
	EnqueuedTime *time.Time
	// Latest starts with the events that arrive after the receiver attaches.
	Latest bool
	// Inclusive includes the event at SequenceNumber, Offset or EnqueuedTime.
	Inclusive bool
}

// Annotation names Event Hubs stamps on every event.
const (
	SequenceNumberAnnotation = "x-opt-sequence-number"
	OffsetAnnotation         = "x-opt-offset"
	EnqueuedTimeAnnotation   = "x-opt-enqueued-time"
	PartitionKeyAnnotation   = "x-opt-partition-key"
)

// filter is the selector filter that asks the service for the position.
func (p StartPosition) filter() (link.Filter, error) {
	set := 0
	for _, b := range []bool{p.SequenceNumber != nil, p.Offset != nil, p.EnqueuedTime != nil, p.Latest} {
		if b {
			set++
		}
	}
	if set > 1 {
		return link.Filter{}, errorpolicy.InvalidOption("eventhubs: StartPosition sets more than one of SequenceNumber, Offset, EnqueuedTime and Latest")
	}
	op := ">"
	if p.Inclusive {
		op = ">="
	}
	var expr string
	switch {
	case p.SequenceNumber != nil:
		expr = fmt.Sprintf("amqp.annotation.%s %s '%d'", SequenceNumberAnnotation, op, *p.SequenceNumber)
	case p.Offset != nil:
		if _, err := strconv.ParseInt(*p.Offset, 10, 64); err != nil && *p.Offset != "@latest" {
			return link.Filter{}, errorpolicy.InvalidOption(fmt.Sprintf("eventhubs: offset %q is not a number", *p.Offset))
		}
		expr = fmt.Sprintf("amqp.annotation.%s %s '%s'", OffsetAnnotation, op, *p.Offset)
	case p.EnqueuedTime != nil:
		expr = fmt.Sprintf("amqp.annotation.%s %s '%d'", EnqueuedTimeAnnotation, op, p.EnqueuedTime.UnixMilli())
	case p.Latest:
		expr = fmt.Sprintf("amqp.annotation.%s > '@latest'", OffsetAnnotation)
	default:
		expr = fmt.Sprintf("amqp.annotation.%s > '-1'", OffsetAnnotation)
	}
	return link.SelectorFilter(expr), nil
}

// after is the filter that resumes right after sequence number seq.
func after(seq int64) link.Filter {
	return link.SelectorFilter(fmt.Sprintf("amqp.annotation.%s > '%d'", SequenceNumberAnnotation, seq))
}
