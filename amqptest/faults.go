package amqptest

import (
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Faults on command. Each takes effect at once, for every connection; the
// error conditions are AMQP symbols such as "amqp:link:detach-forced" or
// "com.microsoft:server-busy".

// faults is the server's injected misbehaviour, under the server's lock.
type faults struct {
	refuse     map[string]*wire.Error // queue name → the error attaches to it get
	noDrain    bool                   // drain requests go unanswered
	noCredit   bool                   // client senders get no more credit
	frameDelay time.Duration          // added before every frame the server writes
}

// DetachLinks detaches every link on the queue called name with the condition
// and description, as a broker does when it forces a link closed. It returns
// how many links it detached. Their unsettled deliveries go back to the queue.
func (s *Server) DetachLinks(name string, condition, description string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		for _, sess := range c.sessions {
			for _, l := range sess.links {
				if l.q != nil && l.q.name == name {
					sess.detachWith(l, wire.Symbol(condition), description)
					n++
				}
			}
		}
	}
	return n
}

// CloseConnections closes every connection with a close frame carrying the
// condition and description. It returns how many it closed.
func (s *Server) CloseConnections(condition, description string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.closeWith(&wire.Error{Condition: wire.Symbol(condition), Description: description})
	}
	return len(s.conns)
}

// DropConnections closes every connection's socket without a close frame, as a
// network failure would. It returns how many it dropped.
func (s *Server) DropConnections() int {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
	return len(conns)
}

// RefuseAttach makes attaches to the queue called name fail with the condition
// and description (the AMQP way: an attach with no terminus, then a detach with
// the error). An empty condition lifts the refusal.
func (s *Server) RefuseAttach(name string, condition, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.refuse == nil {
		s.faults.refuse = map[string]*wire.Error{}
	}
	if condition == "" {
		delete(s.faults.refuse, name)
		return
	}
	s.faults.refuse[name] = &wire.Error{Condition: wire.Symbol(condition), Description: description}
}

// IgnoreDrain makes the server leave drain requests unanswered (as some brokers
// do), or answer them again.
func (s *Server) IgnoreDrain(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.noDrain = ignore
}

// WithholdCredit stops granting credit to client senders (their sends then
// wait), or resumes granting.
func (s *Server) WithholdCredit(withhold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.noCredit = withhold
	if withhold {
		return
	}
	for c := range s.conns {
		for _, sess := range c.sessions {
			for _, l := range sess.links {
				if !l.receiving {
					sess.grant(l)
				}
			}
		}
	}
}

// DelayFrames makes the server wait d before each write to every connection
// (frames queued meanwhile leave together), from now on; 0 removes the delay.
func (s *Server) DelayFrames(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.frameDelay = d
}

func (s *Server) frameDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.frameDelay
}
