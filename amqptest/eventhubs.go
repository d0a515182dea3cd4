package amqptest

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Event hubs, as Azure Event Hubs keeps them: each partition is a log. Events
// stay in it whatever receivers do; a receiver reads from a position it picks
// at attach, with its own cursor. This file holds the logs and how events get
// into them; eventhubs_link.go the links, eventhubs_management.go the
// $management node.

// DefaultPartitions is the number of partitions of an event hub made with no
// EventHubOptions.Partitions.
const DefaultPartitions = 4

// DefaultConsumerGroup is the consumer group every event hub has.
const DefaultConsumerGroup = "$Default"

// Message annotations the service sets on every event.
const (
	annSequenceNumber = wire.Symbol("x-opt-sequence-number")
	annOffset         = wire.Symbol("x-opt-offset")
	annEnqueuedTime   = wire.Symbol("x-opt-enqueued-time")
	annPartitionKey   = wire.Symbol("x-opt-partition-key")
)

// EventHubOptions configures an event hub made with CreateEventHub.
type EventHubOptions struct {
	// Partitions is the number of partitions, with IDs "0" to "n-1".
	// Default: DefaultPartitions (4).
	Partitions int
	// ConsumerGroups, when set, are the only consumer groups besides $Default:
	// a receiver in any other is refused with amqp:not-found, as the service
	// refuses an unknown group. Default: any consumer group is made on first use.
	ConsumerGroups []string
}

// eventHub is one event hub, under the server's lock. Its partitions' IDs are
// "0" to "n-1".
type eventHub struct {
	name       string
	created    time.Time
	partitions []*partition
	groups     []string // the consumer groups seen (or allowed, with fixed)
	fixed      bool     // only groups may be used
	next       int      // round-robin position for events with no partition key
}

// partition is one partition's log and the receivers reading it.
type partition struct {
	id      string
	events  []*event
	size    int64    // bytes stored so far: the next event's offset
	readers []*queue // receiver queues; the ones with no consumer left are gone
}

// event is one stored event. Its sequence number is its index in the log.
type event struct {
	data     []byte // the message as delivered, with the service's annotations
	seq      int64
	offset   int64
	enqueued time.Time
}

// CreateEventHub makes an event hub. Links to "<name>", "<name>/Partitions/<id>"
// and "<name>/ConsumerGroups/<group>/Partitions/<id>" then reach it instead of a
// queue of that name. For an existing event hub it keeps the events, adds
// partitions if o asks for more, and takes o's consumer groups. It panics if
// name is empty or holds a "/", which the addresses could not tell apart.
func (s *Server) CreateEventHub(name string, o *EventHubOptions) {
	if name == "" || strings.Contains(name, "/") {
		panic(fmt.Sprintf("amqptest: %q cannot name an event hub", name))
	}
	var opts EventHubOptions
	if o != nil {
		opts = *o
	}
	if opts.Partitions <= 0 {
		opts.Partitions = DefaultPartitions
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hubs == nil {
		s.hubs = map[string]*eventHub{}
	}
	h := s.hubs[name]
	if h == nil {
		h = &eventHub{name: name, created: s.now().Truncate(time.Millisecond), groups: []string{DefaultConsumerGroup}}
		s.hubs[name] = h
	}
	for i := len(h.partitions); i < opts.Partitions; i++ {
		h.partitions = append(h.partitions, &partition{id: strconv.Itoa(i)})
	}
	if opts.ConsumerGroups != nil {
		h.fixed = true
		for _, g := range opts.ConsumerGroups {
			h.addGroup(g)
		}
	}
}

func (h *eventHub) addGroup(g string) {
	if !slices.Contains(h.groups, g) {
		h.groups = append(h.groups, g)
	}
}

func (h *eventHub) partition(id string) *partition {
	for _, p := range h.partitions {
		if p.id == id {
			return p
		}
	}
	return nil
}

// EventHubInfo describes an event hub.
type EventHubInfo struct {
	Name           string
	CreatedAt      time.Time
	Partitions     []PartitionInfo
	ConsumerGroups []string // $Default, those of EventHubOptions, then the others in order of first use
}

// PartitionInfo describes one partition of an event hub.
type PartitionInfo struct {
	ID     string
	Events int // events in the log: they are never removed
	// LastSequenceNumber, LastOffset and LastEnqueuedTime are the last event's
	// annotations; -1, "-1" and the zero time when there is none.
	LastSequenceNumber int64
	LastOffset         string
	LastEnqueuedTime   time.Time
	Receivers          int // attached receivers, in every consumer group
}

// EventHub describes the event hub called name, if there is one.
func (s *Server) EventHub(name string) (EventHubInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hubs[name]
	if h == nil {
		return EventHubInfo{}, false
	}
	info := EventHubInfo{Name: h.name, CreatedAt: h.created, ConsumerGroups: slices.Clone(h.groups)}
	for _, p := range h.partitions {
		pi := PartitionInfo{ID: p.id, Events: len(p.events), LastSequenceNumber: -1, LastOffset: "-1",
			Receivers: len(p.liveReaders())}
		if last := p.last(); last != nil {
			pi.LastSequenceNumber, pi.LastOffset, pi.LastEnqueuedTime = last.seq, strconv.FormatInt(last.offset, 10), last.enqueued
		}
		info.Partitions = append(info.Partitions, pi)
	}
	return info, true
}

// EventInfo is where an event was stored: the annotations the service gave it.
type EventInfo struct {
	Partition      string
	SequenceNumber int64
	Offset         string
	EnqueuedTime   time.Time
}

// PublishEvent stores an event with body as its one data section in the event
// hub called hub, as if a client had sent it: to the partition with that ID,
// or, when partition is "", to the next partition round robin. Waiting
// receivers get it at once.
func (s *Server) PublishEvent(hub, partition string, body []byte) (EventInfo, error) {
	data, err := wire.Append(nil, &wire.Described{Descriptor: wire.DescData, Value: body})
	if err != nil {
		panic("amqptest: encoding a data section: " + err.Error()) // cannot happen for []byte
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hubs[hub]
	if h == nil {
		return EventInfo{}, fmt.Errorf("amqptest: no event hub %q", hub)
	}
	p := h.partition(partition)
	if partition == "" {
		p = h.roundRobin()
	} else if p == nil {
		return EventInfo{}, fmt.Errorf("amqptest: event hub %q has no partition %q", hub, partition)
	}
	e := s.appendEvent(p, annotated{ann: &wire.Map{}, rest: data}, "")
	return EventInfo{Partition: p.id, SequenceNumber: e.seq, Offset: strconv.FormatInt(e.offset, 10), EnqueuedTime: e.enqueued}, nil
}

func (h *eventHub) roundRobin() *partition {
	p := h.partitions[h.next%len(h.partitions)]
	h.next++
	return p
}

// pick is the partition for an event sent to the hub as a whole: by a stable
// hash of its partition key (FNV-1a, not the service's hash; what matters is
// that one key always lands in one partition), else round robin.
func (h *eventHub) pick(key string) *partition {
	if key == "" {
		return h.roundRobin()
	}
	f := fnv.New32a()
	f.Write([]byte(key))
	return h.partitions[f.Sum32()%uint32(len(h.partitions))]
}

func (p *partition) last() *event {
	if len(p.events) == 0 {
		return nil
	}
	return p.events[len(p.events)-1]
}

// liveReaders are the receiver queues that still have their link, pruning the
// rest: a detached link leaves its queue with no consumer.
func (p *partition) liveReaders() []*queue {
	p.readers = slices.DeleteFunc(p.readers, func(r *queue) bool { return len(r.consumers) == 0 })
	return p.readers
}

// storeEvents stores what a client sent to an event hub address: a message,
// or a batch whose messages all go to one partition, as the service keeps a
// batch together. A batch is stored whole or not at all. It returns the
// outcome to report.
func (s *Server) storeEvents(end *hubEnd, data []byte, format uint32) any {
	msgs := [][]byte{data}
	if format == batchFormat {
		var err error
		if msgs, err = splitBatch(data); err != nil {
			return &wire.Rejected{Error: &wire.Error{Condition: condDecodeError, Description: "a malformed batch: " + err.Error()}}
		}
	}
	events := make([]annotated, len(msgs))
	for i, m := range msgs {
		var err error
		if events[i], err = cutAnnotations(m); err != nil {
			return &wire.Rejected{Error: &wire.Error{Condition: condDecodeError, Description: err.Error()}}
		}
	}
	// The batch's own partition key decides, else its first message's.
	var key string
	if format == batchFormat {
		if outer, err := cutAnnotations(data); err == nil {
			key = outer.partitionKey()
		}
	}
	if key == "" {
		key = events[0].partitionKey()
	}
	p := end.part
	if p == nil {
		p = end.hub.pick(key)
	}
	for _, e := range events {
		s.appendEvent(p, e, key)
	}
	return &wire.Accepted{}
}

// appendEvent adds a message to the partition's log with the service's
// annotations (and key as its partition key unless it has one), and hands it
// to the partition's receivers.
func (s *Server) appendEvent(p *partition, msg annotated, key string) *event {
	e := &event{seq: int64(len(p.events)), offset: p.size, enqueued: s.now().Truncate(time.Millisecond)}
	msg.ann.Set(annSequenceNumber, e.seq)
	msg.ann.Set(annOffset, strconv.FormatInt(e.offset, 10))
	msg.ann.Set(annEnqueuedTime, e.enqueued)
	if _, has := msg.ann.Get(annPartitionKey); !has && key != "" {
		msg.ann.Set(annPartitionKey, key)
	}
	e.data = msg.encode()
	p.events = append(p.events, e)
	p.size += int64(len(e.data))
	for _, r := range p.liveReaders() {
		r.push(&message{data: e.data})
		r.dispatch()
	}
	return e
}

// dispatchHubs offers waiting events to every partition receiver; a session
// window opened.
func (s *Server) dispatchHubs() {
	for _, h := range s.hubs {
		for _, p := range h.partitions {
			for _, r := range p.liveReaders() {
				r.dispatch()
			}
		}
	}
}
