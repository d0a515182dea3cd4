package amqptest

import (
	"slices"
	"time"
)

// The server's clock is the real one plus whatever FastForward added, so a test
// can expire locks and tokens without sleeping (inside testing/synctest the
// real clock is the bubble's fake one, and that works too).

// serverTimer runs a function under the server's lock when the server's clock
// reaches at. The zero value is not usable; make one with Server.at.
type serverTimer struct {
	s     *Server
	when  time.Time
	f     func()
	real  *time.Timer
	ended bool
}

// FastForward moves the server's clock forward by d: every lock, token and
// other deadline due within d expires now, before FastForward returns, in the
// order they fall due.
func (s *Server) FastForward(d time.Duration) {
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset += d
	now := s.now()
	var due []*serverTimer
	for t := range s.timers {
		if !t.when.After(now) {
			due = append(due, t)
		} else {
			t.real.Reset(t.when.Sub(now))
		}
	}
	slices.SortFunc(due, func(a, b *serverTimer) int { return a.when.Compare(b.when) })
	for _, t := range due {
		t.fire()
	}
}

// now is the server's time. Callers hold the server's lock.
func (s *Server) now() time.Time { return time.Now().Add(s.clockOffset) }

// at arms a timer that runs f under the server's lock when the server's clock
// reaches when. Callers hold the server's lock.
func (s *Server) at(when time.Time, f func()) *serverTimer {
	t := &serverTimer{s: s, when: when, f: f}
	if s.timers == nil {
		s.timers = map[*serverTimer]struct{}{}
	}
	s.timers[t] = struct{}{}
	t.real = time.AfterFunc(when.Sub(s.now()), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case t.ended:
		case t.when.After(s.now()):
			t.real.Reset(t.when.Sub(s.now()))
		default:
			t.fire()
		}
	})
	return t
}

// stop disarms t; it is a no-op once t has fired. Callers hold the server's lock.
func (t *serverTimer) stop() {
	if t == nil || t.ended {
		return
	}
	t.ended = true
	t.real.Stop()
	delete(t.s.timers, t)
}

// fire runs t's function once. Callers hold the server's lock.
func (t *serverTimer) fire() {
	t.stop()
	t.f()
}

// stopTimers disarms every timer, when the server closes. Callers hold the
// server's lock.
func (s *Server) stopTimers() {
	for t := range s.timers {
		t.stop()
	}
}
