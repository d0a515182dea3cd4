package amqptest

import (
	"fmt"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Error conditions the server sends.
const (
	condDecodeError      wire.Symbol = "amqp:decode-error"
	condFramingError     wire.Symbol = "amqp:connection:framing-error"
	condNotFound         wire.Symbol = "amqp:not-found"
	condNotAllowed       wire.Symbol = "amqp:not-allowed"
	condIllegalState     wire.Symbol = "amqp:illegal-state"
	condResourceLimit    wire.Symbol = "amqp:resource-limit-exceeded"
	condMessageSize      wire.Symbol = "amqp:link:message-size-exceeded"
	condUnattachedHandle wire.Symbol = "amqp:session:unattached-handle"
	condTransferLimit    wire.Symbol = "amqp:link:transfer-limit-exceeded"
)

// bigWindow is the session window the server offers: large enough never to
// limit a test.
const bigWindow = 1<<31 - 1

// session is one client session; the server uses the client's channel number
// for its own end too.
type session struct {
	c       *conn
	channel uint16

	nextOutgoingID       uint32 // the server's next delivery id
	remoteIncomingWindow uint32 // transfers the client still accepts
	nextIncomingID       uint32 // the client's next delivery id

	links     map[uint32]*link        // by the client's handle
	detached  map[uint32]bool         // handles the server detached, awaiting the client's detach
	unsettled map[uint32]*outDelivery // server → client deliveries, by delivery id
	lost      map[uint32]*link        // deliveries whose lock was lost, so a late settle is told (lock.go)
}

// link is one client link. The server's end uses the client's handle number.
type link struct {
	sess      *session
	name      string
	handle    uint32
	receiving bool // the client receives: the server sends from q
	q         *queue
	sndSettle uint8
	rcvSettle uint8
	maxSize   uint64 // the client's max-message-size (0: none)

	// The server sending (client receiver).
	credit        uint32
	deliveryCount uint32
	nextTag       uint64

	// The server receiving (client sender).
	granted  uint32 // credit the client still has
	received uint32 // the client's delivery count as the server has seen it
	partial  *inTransfer
}

// inTransfer is a message arriving in several transfer frames.
type inTransfer struct {
	id      uint32
	settled bool
	format  uint32
	data    []byte
}

// outDelivery is a message the server sent and the client has not settled.
type outDelivery struct {
	link *link
	msg  *message
	id   uint32
	lock // its lock token, and on a queue its lock (lock.go)
}

// handle serves one frame; it reports true when the connection is over.
func (c *conn) handle(channel uint16, perf any, payload []byte) bool {
	if !c.opened {
		o, ok := perf.(*wire.Open)
		if !ok {
			c.closeWith(&wire.Error{Condition: condIllegalState, Description: "the first frame must be open"})
			return true
		}
		c.open(o)
		return false
	}
	switch p := perf.(type) {
	case *wire.Begin:
		c.begin(channel, p)
		return false
	case *wire.Close:
		c.closeWith(nil)
		return true
	}
	s := c.sessions[channel]
	if s == nil {
		c.closeWith(&wire.Error{Condition: condIllegalState, Description: fmt.Sprintf("no session on channel %d", channel)})
		return true
	}
	switch p := perf.(type) {
	case *wire.End:
		s.end()
		c.send(channel, &wire.End{}, nil)
	case *wire.Attach:
		s.attach(p)
	case *wire.Flow:
		s.flow(p)
	case *wire.Transfer:
		s.transfer(p, payload)
	case *wire.Disposition:
		s.disposition(p)
	case *wire.Detach:
		s.detach(p)
	default:
		c.closeWith(&wire.Error{Condition: condIllegalState, Description: fmt.Sprintf("unexpected %T", perf)})
		return true
	}
	return false
}

func (c *conn) open(o *wire.Open) {
	c.opened = true
	c.maxFrame = o.MaxFrameSize
	if c.maxFrame == 0 {
		c.maxFrame = 1<<32 - 1
	}
	if o.IdleTimeout > 0 {
		c.outMu.Lock()
		c.idleTick = time.Duration(o.IdleTimeout) * time.Millisecond / 2
		c.outMu.Unlock()
	}
	c.send(0, &wire.Open{ContainerID: "amqptest", MaxFrameSize: c.s.opts.MaxFrameSize, ChannelMax: 65535}, nil)
}

func (c *conn) begin(channel uint16, b *wire.Begin) {
	if _, taken := c.sessions[channel]; taken {
		c.closeWith(&wire.Error{Condition: condIllegalState, Description: fmt.Sprintf("channel %d already has a session", channel)})
		return
	}
	s := &session{
		c:                    c,
		channel:              channel,
		remoteIncomingWindow: b.IncomingWindow,
		nextIncomingID:       b.NextOutgoingID,
		links:                map[uint32]*link{},
		unsettled:            map[uint32]*outDelivery{},
	}
	c.sessions[channel] = s
	remote := channel
	c.send(channel, &wire.Begin{RemoteChannel: &remote, IncomingWindow: bigWindow, OutgoingWindow: bigWindow}, nil)
}

// forget ends every session of a connection that is gone.
func (c *conn) forget() {
	c.dropGrants()
	for ch, s := range c.sessions {
		s.end()
		delete(c.sessions, ch)
	}
}

// end forgets the session's links; what the client had not settled goes back
// to its queues.
func (s *session) end() {
	for _, l := range s.links {
		s.unlink(l)
	}
	delete(s.c.sessions, s.channel)
}

func (s *session) attach(a *wire.Attach) {
	if _, taken := s.links[a.Handle]; taken {
		s.c.closeWith(&wire.Error{Condition: condIllegalState, Description: fmt.Sprintf("handle %d is in use", a.Handle)})
		return
	}
	l := &link{sess: s, name: a.Name, handle: a.Handle, receiving: a.Role == wire.RoleReceiver,
		sndSettle: a.SndSettleMode, rcvSettle: a.RcvSettleMode, maxSize: a.MaxMessageSize}
	var address *string
	if l.receiving && a.Source != nil {
		address = a.Source.Address
	} else if !l.receiving && a.Target != nil {
		address = a.Target.Address
	}
	reply := &wire.Attach{Name: a.Name, Handle: a.Handle, Role: !a.Role, SndSettleMode: a.SndSettleMode,
		RcvSettleMode: a.RcvSettleMode, Source: a.Source, Target: a.Target,
		MaxMessageSize: s.c.s.opts.MaxMessageSize}
	if l.receiving {
		zero := uint32(0)
		reply.InitialDeliveryCount = &zero
	}
	var q *queue
	var hubRefusal *wire.Error // why an event hub refuses the link (eventhubs_link.go)
	if address != nil {
		var replyTo string
		if a.Target != nil && a.Target.Address != nil {
			replyTo = *a.Target.Address
		}
		q, hubRefusal = s.c.s.hubLink(*address, a)
		if q == nil && hubRefusal == nil {
			if q = s.c.s.nodeFor(*address, l.receiving, replyTo); q == nil {
				q = s.c.s.queueFor(*address)
			}
		}
	}
	refusal := &wire.Error{Condition: condNotFound, Description: "no such queue"}
	if q == nil && address != nil {
		refusal.Description = fmt.Sprintf("no queue %q", *address)
	}
	if hubRefusal != nil {
		refusal = hubRefusal
	}
	if q != nil && s.c.s.faults.refuse[q.name] != nil {
		refusal, q = s.c.s.faults.refuse[q.name], nil
	}
	if q != nil && q.node == nil && !q.reply && s.c.s.requireTokens() && !s.c.authorized(q.name, s.c.s.now()) {
		refusal = &wire.Error{Condition: condUnauthorized, Description: fmt.Sprintf("no token covers %q; put one on $cbs first", q.name)}
		q = nil
	}
	if q == nil {
		// Refuse the AMQP way: attach with no terminus, then detach with the error.
		reply.Source, reply.Target = nil, nil
		s.c.send(s.channel, reply, nil)
		s.sendDetach(a.Handle, refusal)
		return
	}
	l.q = q
	s.links[a.Handle] = l
	s.c.send(s.channel, reply, nil)
	if l.receiving {
		q.consumers = append(q.consumers, l)
		if q.eh != nil {
			s.c.s.startReading(l) // ownership, and the events from the start position
		}
		return
	}
	if a.InitialDeliveryCount != nil {
		l.received = *a.InitialDeliveryCount
	}
	s.grant(l)
}

// grant tops the client sender's credit up to Options.LinkCredit.
func (s *session) grant(l *link) {
	want := s.c.s.opts.LinkCredit
	if l.granted > want/2 || s.c.s.faults.noCredit {
		return
	}
	l.granted = want
	s.sendFlow(l, false)
}

// sendFlow sends a flow frame for l with the session's state; drain answers a
// drain request.
func (s *session) sendFlow(l *link, drain bool) {
	f := s.sessionFlow()
	h := l.handle
	f.Handle = &h
	f.Drain = drain
	if l.receiving {
		dc, cr := l.deliveryCount, l.credit
		f.DeliveryCount, f.LinkCredit = &dc, &cr
		avail := uint32(len(l.q.ready))
		f.Available = &avail
	} else {
		dc, cr := l.received, l.granted
		f.DeliveryCount, f.LinkCredit = &dc, &cr
	}
	s.c.send(s.channel, f, nil)
}

func (s *session) sessionFlow() *wire.Flow {
	next := s.nextIncomingID
	return &wire.Flow{NextIncomingID: &next, IncomingWindow: bigWindow, NextOutgoingID: s.nextOutgoingID, OutgoingWindow: bigWindow}
}

func (s *session) flow(f *wire.Flow) {
	// The client's incoming window, counted from the server's next delivery id.
	var base uint32
	if f.NextIncomingID != nil {
		base = *f.NextIncomingID
	}
	s.remoteIncomingWindow = base + f.IncomingWindow - s.nextOutgoingID
	if f.Handle == nil {
		if f.Echo {
			s.c.send(s.channel, s.sessionFlow(), nil)
		}
		s.c.s.dispatchAll()
		return
	}
	l := s.links[*f.Handle]
	if l == nil && s.detached[*f.Handle] {
		return
	}
	if l == nil {
		s.c.closeWith(&wire.Error{Condition: condUnattachedHandle, Description: fmt.Sprintf("flow for handle %d", *f.Handle)})
		return
	}
	if !l.receiving {
		if f.Echo {
			s.sendFlow(l, false)
		}
		return
	}
	if f.LinkCredit != nil {
		// credit = delivery-count(client) + link-credit(client) - delivery-count(server)
		dc := l.deliveryCount
		if f.DeliveryCount != nil {
			dc = *f.DeliveryCount
		}
		l.credit = dc + *f.LinkCredit - l.deliveryCount
	}
	l.q.dispatch()
	if f.Drain && s.c.s.faults.noDrain {
		return
	}
	if f.Drain {
		// Nothing more to send: use up the credit and say so.
		l.deliveryCount += l.credit
		l.credit = 0
	}
	if f.Echo || f.Drain {
		s.sendFlow(l, f.Drain)
	}
}

func (s *session) transfer(t *wire.Transfer, payload []byte) {
	l := s.links[t.Handle]
	if l == nil && s.detached[t.Handle] {
		return // in flight when the server detached the link: the client learns from the detach
	}
	if l == nil || l.receiving {
		s.c.closeWith(&wire.Error{Condition: condUnattachedHandle, Description: fmt.Sprintf("transfer on handle %d", t.Handle)})
		return
	}
	if l.partial == nil {
		if t.DeliveryID == nil {
			s.detachWith(l, condNotAllowed, "the first transfer of a delivery has no delivery-id")
			return
		}
		if l.granted == 0 {
			s.detachWith(l, condTransferLimit, "transfer without credit")
			return
		}
		l.partial = &inTransfer{id: *t.DeliveryID}
		if t.MessageFormat != nil {
			l.partial.format = *t.MessageFormat
		}
		s.nextIncomingID = *t.DeliveryID + 1
	}
	p := l.partial
	p.settled = p.settled || t.Settled
	if t.Aborted {
		l.partial = nil
		return
	}
	p.data = append(p.data, payload...)
	if limit := s.c.s.opts.MaxMessageSize; uint64(len(p.data)) > limit {
		l.partial = nil
		s.detachWith(l, condMessageSize, fmt.Sprintf("message larger than %d bytes", limit))
		return
	}
	if t.More {
		return
	}
	l.partial = nil
	l.granted--
	l.received++
	var state any
	if l.q.node != nil {
		state = s.c.handleRequest(l.q, p.data)
	} else {
		state = s.c.s.store(l.q, p.data, p.format)
	}
	if !p.settled {
		s.c.send(s.channel, &wire.Disposition{Role: wire.RoleReceiver, First: p.id, Settled: true, State: state}, nil)
	}
	s.grant(l)
}

func (s *session) disposition(d *wire.Disposition) {
	if d.Role != wire.RoleReceiver {
		return // the server settles what it receives at once; nothing to learn
	}
	touched := map[*queue]bool{}
	for _, id := range s.disposed(d) {
		if q := s.settleFromClient(id, d.Settled, d.State); q != nil {
			touched[q] = true
		}
	}
	for q := range touched {
		q.dispatch()
	}
}

func (s *session) detach(d *wire.Detach) {
	l := s.links[d.Handle]
	if l == nil {
		delete(s.detached, d.Handle) // the client's answer to our detach
		return
	}
	s.unlink(l)
	s.c.send(s.channel, &wire.Detach{Handle: d.Handle, Closed: true}, nil)
}

// detachWith ends l from the server's side with an error.
func (s *session) detachWith(l *link, cond wire.Symbol, description string) {
	s.unlink(l)
	s.sendDetach(l.handle, &wire.Error{Condition: cond, Description: description})
}

// sendDetach detaches handle from the server's side. Until the client answers,
// what it sent on the handle before it saw the detach is dropped, not an error.
func (s *session) sendDetach(handle uint32, err *wire.Error) {
	if s.detached == nil {
		s.detached = map[uint32]bool{}
	}
	s.detached[handle] = true
	s.c.send(s.channel, &wire.Detach{Handle: handle, Closed: true, Error: err}, nil)
}

// unlink forgets l; the deliveries it had not settled go back to the queue.
func (s *session) unlink(l *link) {
	delete(s.links, l.handle)
	if !l.receiving {
		return
	}
	q := l.q
	for i, c := range q.consumers {
		if c == l {
			q.consumers = append(q.consumers[:i], q.consumers[i+1:]...)
			break
		}
	}
	var back []*message
	for _, od := range s.unsettled {
		if od.link == l && !s.orphanOrTake(od) {
			back = append(back, od.msg)
		}
	}
	s.forgetLost(l)
	q.requeue(back...)
	q.dispatch()
}

// deliver sends m to the client on l. The caller has checked credit and window.
func (s *session) deliver(l *link, m *message) {
	id := s.nextOutgoingID
	s.nextOutgoingID++
	s.remoteIncomingWindow--
	l.credit--
	l.deliveryCount++
	settled := l.sndSettle == wire.SndSettled
	var od *outDelivery
	var tag []byte
	if settled {
		tag = make([]byte, 8)
		for i := range 8 {
			tag[7-i] = byte(l.nextTag >> (8 * i))
		}
		l.nextTag++
	} else {
		od = s.track(l, id, m) // the tag is its lock token
		tag = guidBytes(od.token)
	}
	format := m.format
	data := s.c.s.onWire(l.q, m, od)
	// Split the message to fit the client's max-frame-size, leaving room for the
	// frame header and the transfer performative.
	chunk := int(min(uint64(s.c.maxFrame), 1<<24)) - 128
	first := true
	for {
		n := min(len(data), chunk)
		t := &wire.Transfer{Handle: l.handle, More: n < len(data)}
		if first {
			t.DeliveryID, t.DeliveryTag, t.MessageFormat, t.Settled = &id, tag, &format, settled
			first = false
		}
		s.c.send(s.channel, t, data[:n])
		data = data[n:]
		if len(data) == 0 {
			return
		}
	}
}
