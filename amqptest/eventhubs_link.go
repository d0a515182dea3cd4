package amqptest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Links to event hubs. A sender to "<hub>" or "<hub>/Partitions/<id>" stores
// events; a receiver from "<hub>/ConsumerGroups/<group>/Partitions/<id>" reads
// one partition from the position its selector filter names. Each receiver
// has a private queue that holds the events it has yet to get, so the
// ordinary credit, drain and delivery machinery serves it; settling an event
// changes nothing (the log keeps it).

// Error conditions of event hub links.
const (
	condLinkStolen    wire.Symbol = "amqp:link:stolen"
	condInvalidField  wire.Symbol = "amqp:invalid-field"
	condOutOfRange    wire.Symbol = "com.microsoft:argument-out-of-range"
	epochProperty     wire.Symbol = "com.microsoft:epoch"
	maxPlainReceivers             = 5 // receivers with no epoch per partition and consumer group, as the service allows
)

// hubEnd is what a link's queue stands for when the link is to an event hub.
type hubEnd struct {
	hub   *eventHub
	part  *partition // nil: a sender to the whole hub
	group string     // receivers: the consumer group
	epoch *int64     // receivers: the owner level, if the link asked for one
	start int        // receivers: the index of the first event to deliver
}

// hubLink resolves an attach to an event hub address: the queue for the link,
// or why it is refused. Both are nil when address names no event hub.
func (s *Server) hubLink(address string, a *wire.Attach) (*queue, *wire.Error) {
	segs := strings.Split(address, "/")
	h := s.hubs[segs[0]]
	if h == nil {
		return nil, nil
	}
	receiving := a.Role == wire.RoleReceiver
	var group, id string
	switch {
	case len(segs) == 1 && !receiving:
	case len(segs) == 3 && strings.EqualFold(segs[1], "Partitions") && !receiving:
		id = segs[2]
	case len(segs) == 5 && strings.EqualFold(segs[1], "ConsumerGroups") && strings.EqualFold(segs[3], "Partitions") && receiving:
		group, id = segs[2], segs[4]
	case receiving:
		return nil, &wire.Error{Condition: condNotAllowed,
			Description: fmt.Sprintf("receive from %s/ConsumerGroups/<group>/Partitions/<id>, not %q", h.name, address)}
	default:
		return nil, &wire.Error{Condition: condNotAllowed,
			Description: fmt.Sprintf("send to %s or %s/Partitions/<id>, not %q", h.name, h.name, address)}
	}
	end := &hubEnd{hub: h}
	if len(segs) > 1 {
		if end.part = h.partition(id); end.part == nil {
			return nil, &wire.Error{Condition: condOutOfRange,
				Description: fmt.Sprintf("event hub %s has no partition %q; its partitions are 0 to %d", h.name, id, len(h.partitions)-1)}
		}
	}
	if receiving {
		if h.fixed && !containsFold(h.groups, group) {
			return nil, &wire.Error{Condition: condNotFound, Description: fmt.Sprintf("event hub %s has no consumer group %q", h.name, group)}
		}
		end.group = group
		if err := end.readFrom(a); err != nil {
			return nil, err
		}
	}
	return &queue{name: address, eh: end}, nil
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// readFrom sets a receiver's epoch and start position from its attach, or says
// why the attach is refused.
func (end *hubEnd) readFrom(a *wire.Attach) *wire.Error {
	if v, ok := a.Properties.Get(epochProperty); ok {
		e, ok := asInt64(v)
		if !ok {
			return &wire.Error{Condition: condInvalidField, Description: fmt.Sprintf("%s must be a long, not %T", epochProperty, v)}
		}
		end.epoch = &e
	}
	var filter *wire.Map
	if a.Source != nil {
		filter = a.Source.Filter
	}
	pos, err := selectorPosition(filter)
	if err != nil {
		return &wire.Error{Condition: condInvalidField, Description: err.Error()}
	}
	if end.start, err = pos.index(end.part); err != nil {
		return &wire.Error{Condition: condOutOfRange, Description: err.Error()}
	}
	return end.admit()
}

// admit applies the ownership rules of a partition in a consumer group: an
// epoch receiver takes over from receivers with an equal or lower epoch and
// from those with none (startReading detaches them); one with a lower epoch
// than a present one, or with none while an epoch receiver is present, is
// refused. Receivers with no epoch share, up to maxPlainReceivers.
func (end *hubEnd) admit() *wire.Error {
	plain := 0
	for _, r := range end.part.liveReaders() {
		if !strings.EqualFold(r.eh.group, end.group) {
			continue
		}
		switch {
		case r.eh.epoch == nil:
			plain++
		case end.epoch == nil:
			return &wire.Error{Condition: condLinkStolen, Description: fmt.Sprintf(
				"a receiver with epoch %d is present, so a receiver with no epoch is not allowed", *r.eh.epoch)}
		case *r.eh.epoch > *end.epoch:
			return &wire.Error{Condition: condLinkStolen, Description: fmt.Sprintf(
				"a receiver with epoch %d is present, so epoch %d is not allowed", *r.eh.epoch, *end.epoch)}
		}
	}
	if end.epoch == nil && plain >= maxPlainReceivers {
		return &wire.Error{Condition: condResourceLimit, Description: fmt.Sprintf(
			"at most %d receivers per partition and consumer group", maxPlainReceivers)}
	}
	return nil
}

// startReading runs once a receiver's attach has succeeded: an epoch receiver
// detaches the ones it takes over from, and the receiver's queue is filled
// with the events from its start position on. Callers hold the server's lock.
func (s *Server) startReading(l *link) {
	q := l.q
	end := q.eh
	if end.epoch != nil {
		for _, r := range slices.Clone(end.part.liveReaders()) {
			if r == q || !strings.EqualFold(r.eh.group, end.group) {
				continue
			}
			for _, old := range slices.Clone(r.consumers) {
				old.sess.detachWith(old, condLinkStolen, fmt.Sprintf(
					"a receiver with epoch %d took over %s", *end.epoch, q.name))
			}
		}
	}
	if !containsFold(end.hub.groups, end.group) {
		end.hub.addGroup(end.group)
	}
	end.part.readers = append(end.part.readers, q)
	for _, e := range end.part.events[end.start:] {
		q.push(&message{data: e.data})
	}
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case int16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint8:
		return int64(n), true
	}
	return 0, false
}
