package amqptest

import (
	"fmt"
	"strconv"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// The Event Hubs management node, at the bare address "$management" (a
// queue's is "<queue>/$management", management.go). It answers READ of an
// event hub's or a partition's runtime information. Responses spell their
// status keys status-code and status-description, as the Event Hubs mocks do
// (clients accept both spellings).

const eventHubManagement = "$management"

// READ request types.
const (
	typeEventHub  = "com.microsoft:eventhub"
	typePartition = "com.microsoft:partition"
)

// manageEventHubs is the $management node.
func (s *Server) manageEventHubs(_ *conn, req request) (response, any) {
	return s.readEventHub(req), &wire.Accepted{}
}

func (s *Server) readEventHub(req request) response {
	if op := req.prop("operation"); op != "READ" {
		return response{status: 400, description: fmt.Sprintf("unknown operation %q; this node takes READ", op)}
	}
	name := req.prop("name")
	h := s.hubs[name]
	if h == nil {
		return response{status: 404, description: fmt.Sprintf("no event hub %q", name), condition: condNotFound}
	}
	switch typ := req.prop("type"); typ {
	case typeEventHub:
		ids := make([]string, len(h.partitions))
		for i, p := range h.partitions {
			ids[i] = p.id
		}
		body := &wire.Map{}
		body.Set("name", h.name)
		body.Set("created_at", h.created)
		body.Set("partition_count", int32(len(h.partitions)))
		body.Set("partition_ids", ids)
		return response{status: 200, description: "OK", body: body}
	case typePartition:
		id := req.prop("partition")
		p := h.partition(id)
		if p == nil {
			return response{status: 400, condition: condOutOfRange,
				description: fmt.Sprintf("event hub %s has no partition %q; its partitions are 0 to %d", h.name, id, len(h.partitions)-1)}
		}
		return response{status: 200, description: "OK", body: partitionProperties(h, p)}
	default:
		return response{status: 400, description: fmt.Sprintf("unknown type %q; READ takes %s or %s", typ, typeEventHub, typePartition)}
	}
}

// partitionProperties is a partition's runtime information. An empty
// partition reports -1 for its sequence numbers and offset, and the Unix epoch
// as its last enqueued time.
func partitionProperties(h *eventHub, p *partition) *wire.Map {
	begin, lastSeq, lastOffset, lastTime := int64(-1), int64(-1), "-1", wire.Timestamp(0)
	if last := p.last(); last != nil {
		begin, lastSeq, lastOffset, lastTime = 0, last.seq, strconv.FormatInt(last.offset, 10), last.enqueued
	}
	m := &wire.Map{}
	m.Set("name", h.name)
	m.Set("partition", p.id)
	m.Set("begin_sequence_number", begin)
	m.Set("last_enqueued_sequence_number", lastSeq)
	m.Set("last_enqueued_offset", lastOffset)
	m.Set("last_enqueued_time_utc", lastTime)
	m.Set("is_partition_empty", len(p.events) == 0)
	return m
}
