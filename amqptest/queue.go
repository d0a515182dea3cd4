package amqptest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// DeadLetterSuffix is appended to a queue's name to name its dead-letter queue,
// where rejected messages go.
const DeadLetterSuffix = "/$deadletterqueue"

// message is a stored message: its encoded sections, as they arrived.
type message struct {
	data     []byte
	format   uint32
	seq      uint64         // arrival order in its queue from 1, kept when it is put back: its sequence number
	enqueued time.Time      // when it arrived (zero for a node's responses)
	failed   uint32         // failed deliveries (modified with delivery-failed, lock expiry)
	notOn    map[*link]bool // links it must not go to again (modified with undeliverable-here)
}

// wireData is what the message looks like on the wire: the header carries the
// failed deliveries as its delivery-count.
func (m *message) wireData() []byte {
	if m.failed == 0 {
		return m.data
	}
	return withDeliveryCount(m.data, m.failed)
}

// queue is a FIFO of messages with its consumers. Everything in it is under the
// server's lock.
type queue struct {
	name         string
	ready        []*message
	seq          uint64                     // the last arrival's seq (sequence numbers start at 1)
	maxLength    int                        // 0: unbounded
	maxFailed    uint32                     // failed deliveries before dead-lettering; 0: never
	unacked      int                        // sent to a client and not yet settled
	lockDuration time.Duration              // 0: the server's
	locks        map[wire.UUID]*outDelivery // unsettled deliveries by lock token (lock.go)
	consumers    []*link
	next         int // round-robin position among consumers

	// An event hub link (eventhubs_link.go): a sender's events go to the hub's
	// partitions; a receiver's queue holds the events it has yet to get.
	eh *hubEnd

	// A service node: requests sent to it go to node instead of the queue.
	node nodeHandler
	// A private queue of responses for one link receiving from a node, whose
	// target address is replyTo.
	reply   bool
	replyTo string
}

// QueueOptions configures a queue made with CreateQueue.
type QueueOptions struct {
	// MaxLength bounds the ready messages; a message sent to a full queue is
	// rejected with amqp:resource-limit-exceeded. Default: unbounded.
	MaxLength int
	// MaxDeliveryCount moves a message to the dead-letter queue once this many
	// of its deliveries failed (modified with delivery-failed, or a lock that
	// ran out). Default: never.
	MaxDeliveryCount int
	// LockDuration is how long a consumer holds the lock on a message it has
	// not settled; renew-lock on "<queue>/$management" extends it. When the
	// lock runs out the message goes back to the queue as a failed delivery.
	// Default: Options.LockDuration (30 s).
	LockDuration time.Duration
}

// CreateQueue makes a queue (or changes the options of an existing one).
func (s *Server) CreateQueue(name string, o *QueueOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		q = &queue{name: name}
		s.queues[name] = q
	}
	if o != nil {
		q.maxLength = o.MaxLength
		q.maxFailed = uint32(max(0, o.MaxDeliveryCount))
		q.lockDuration = o.LockDuration
	}
}

// QueueInfo describes a queue.
type QueueInfo struct {
	Name      string
	Ready     int // messages waiting for a consumer
	Unacked   int // messages sent to a consumer and not yet settled
	Consumers int
}

// Queue describes the queue called name, if there is one.
func (s *Server) Queue(name string) (QueueInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return QueueInfo{}, false
	}
	return QueueInfo{Name: q.name, Ready: len(q.ready), Unacked: q.unacked, Consumers: len(q.consumers)}, true
}

// Put adds a message with body as its one data section to the queue called
// name, creating the queue if needed, and offers it to the consumers.
func (s *Server) Put(name string, body []byte) {
	data, err := wire.Append(nil, &wire.Described{Descriptor: wire.DescData, Value: body})
	if err != nil {
		panic("amqptest: encoding a data section: " + err.Error()) // cannot happen for []byte
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		q = &queue{name: name}
		s.queues[name] = q
	}
	q.push(s.newMessage(data, 0))
	q.dispatch()
}

// newMessage is a message arriving now.
func (s *Server) newMessage(data []byte, format uint32) *message {
	return &message{data: data, format: format, enqueued: s.now()}
}

// push adds a new message at the tail, giving it the next sequence number.
func (q *queue) push(m *message) {
	q.seq++
	m.seq = q.seq
	q.ready = append(q.ready, m)
}

// queueFor finds the queue for a link address, creating it unless the server
// requires queues to exist. Addresses may name a queue directly or as
// /queues/<name> or /amq/queue/<name>.
func (s *Server) queueFor(address string) *queue {
	name := address
	for _, prefix := range []string{"/queues/", "/queue/", "/amq/queue/"} {
		if rest, ok := strings.CutPrefix(address, prefix); ok && rest != "" {
			name = rest
			break
		}
	}
	if name == "" {
		return nil
	}
	q := s.queues[name]
	if q == nil && !s.opts.RequireQueues {
		q = &queue{name: name}
		s.queues[name] = q
	}
	return q
}

// batchFormat is the message format of a batch, as Azure Service Bus and Event
// Hubs take them: the body's data sections each hold one whole encoded message.
const batchFormat = 0x80013700

// store stores what a client sent (a message, or a batch of them) and returns
// the outcome to report. A batch is stored whole or not at all.
func (s *Server) store(q *queue, data []byte, format uint32) any {
	if q.eh != nil {
		return s.storeEvents(q.eh, data, format)
	}
	if format != batchFormat {
		return s.enqueue(q, s.newMessage(data, format))
	}
	msgs, err := splitBatch(data)
	if err != nil {
		return &wire.Rejected{Error: &wire.Error{Condition: condDecodeError, Description: "a malformed batch: " + err.Error()}}
	}
	if q.maxLength > 0 && len(q.ready)+len(msgs) > q.maxLength {
		return &wire.Rejected{Error: &wire.Error{Condition: condResourceLimit,
			Description: fmt.Sprintf("queue %s has no room for a batch of %d", q.name, len(msgs))}}
	}
	for _, m := range msgs {
		q.push(s.newMessage(m, 0))
	}
	q.dispatch()
	return &wire.Accepted{}
}

// splitBatch returns the messages in a batch's data sections. Sections other
// than data (the batch's own header or properties) are skipped.
func splitBatch(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		v, used, err := wire.Unmarshal(data)
		if err != nil {
			return nil, err
		}
		data = data[used:]
		d, ok := v.(*wire.Described)
		if !ok || d.Descriptor != wire.DescData {
			continue
		}
		b, ok := d.Value.([]byte)
		if !ok {
			return nil, errors.New("a data section that is not binary")
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("no messages in the batch")
	}
	return out, nil
}

// enqueue stores a message sent by a client and returns the outcome to report.
func (s *Server) enqueue(q *queue, m *message) any {
	if q.maxLength > 0 && len(q.ready) >= q.maxLength {
		return &wire.Rejected{Error: &wire.Error{Condition: condResourceLimit,
			Description: "queue " + q.name + " is full"}}
	}
	q.push(m)
	q.dispatch()
	return &wire.Accepted{}
}

// settle applies a client's outcome to a delivery it had received.
func (s *Server) settle(od *outDelivery, state any) {
	q, m := od.link.q, od.msg
	if q.eh != nil {
		return // an event stays in its partition's log whatever the outcome
	}
	switch st := state.(type) {
	case *wire.Accepted:
	case *wire.Rejected:
		s.deadLetter(q, m)
	case *wire.Modified:
		if st.UndeliverableHere {
			if m.notOn == nil {
				m.notOn = map[*link]bool{}
			}
			m.notOn[od.link] = true
		}
		if st.DeliveryFailed {
			s.fail(q, m)
			return
		}
		q.requeue(m)
	default: // released, or settled with no outcome
		q.requeue(m)
	}
}

// fail counts a failed delivery of m and puts it back, or dead-letters it
// once the queue's MaxDeliveryCount is reached.
func (s *Server) fail(q *queue, m *message) {
	m.failed++
	if q.maxFailed > 0 && m.failed >= q.maxFailed {
		s.deadLetter(q, m)
		return
	}
	q.requeue(m)
}

// deadLetter moves m to q's dead-letter queue.
func (s *Server) deadLetter(q *queue, m *message) {
	name := q.name + DeadLetterSuffix
	dlq := s.queues[name]
	if dlq == nil {
		dlq = &queue{name: name}
		s.queues[name] = dlq
	}
	dlq.push(&message{data: m.data, format: m.format, failed: m.failed, enqueued: s.now()})
	dlq.dispatch()
}

// requeue puts messages back where they were in arrival order, ahead of the
// messages that came after them.
func (q *queue) requeue(ms ...*message) {
	for _, m := range ms {
		i, _ := slices.BinarySearchFunc(q.ready, m.seq, func(r *message, seq uint64) int { return cmp.Compare(r.seq, seq) })
		q.ready = slices.Insert(q.ready, i, m)
	}
}

// dispatch offers ready messages to consumers with credit, round robin.
func (q *queue) dispatch() {
	for len(q.ready) > 0 {
		l, i := q.nextDelivery()
		if l == nil {
			return
		}
		m := q.ready[i]
		if i == 0 {
			q.ready[0] = nil
			q.ready = q.ready[1:]
		} else {
			q.ready = slices.Delete(q.ready, i, i+1)
		}
		l.sess.deliver(l, m)
	}
}

// nextDelivery picks the next consumer, round robin, that has credit and a
// ready message it may get (the first one not barred from its link), and that
// message's index; a nil link when there is none.
func (q *queue) nextDelivery() (*link, int) {
	for range q.consumers {
		q.next = (q.next + 1) % len(q.consumers)
		l := q.consumers[q.next]
		if l.credit == 0 || l.sess.remoteIncomingWindow == 0 {
			continue
		}
		for i, m := range q.ready {
			if !m.notOn[l] {
				return l, i
			}
		}
	}
	return nil, 0
}

// dispatchAll offers every queue's messages; a session window opened.
func (s *Server) dispatchAll() {
	for _, q := range s.queues {
		q.dispatch()
	}
	s.dispatchHubs()
}
