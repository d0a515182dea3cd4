package tests

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
)

// Recoverable faults on the in-process broker: each run moves messages through
// a queue while the fault strikes three times, and nothing confirmed may be lost.
func TestFaultRecoverableOnEmbeddedBroker(t *testing.T) {
	const queue = "work"
	faults := []struct {
		name   string
		inject func(*amqptest.Server)
	}{
		{"detach-forced", func(s *amqptest.Server) {
			s.DetachLinks(queue, "amqp:link:detach-forced", "fault test")
		}},
		{"server-busy", func(s *amqptest.Server) {
			// Busy for a moment: links are detached and attaches refused, then
			// the server takes them again. The policy retries in place.
			s.RefuseAttach(queue, "com.microsoft:server-busy", "fault test")
			s.DetachLinks(queue, "com.microsoft:server-busy", "fault test")
			time.AfterFunc(300*time.Millisecond, func() { s.RefuseAttach(queue, "", "") })
		}},
		{"connection-forced", func(s *amqptest.Server) {
			s.CloseConnections("amqp:connection:forced", "fault test")
		}},
		{"drop-without-close", func(s *amqptest.Server) { s.DropConnections() }},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			srv := amqptest.NewTestServer(t, nil)
			c := dial(t, srv.URL())
			rep := faultRun{
				Name:       f.name,
				Total:      3000,
				Injections: 3,
				Address:    queue,
				Send:       newSession(t, c),
				Recv:       newSession(t, c),
				Inject:     func() { f.inject(srv) },
			}.run(t)
			assert.Zero(t, rep.Lost, "confirmed messages lost")
			assert.Zero(t, rep.Unconfirmed, "an at-least-once sender confirms every message in the end")
			assert.Equal(t, 3000, rep.Received)
			assert.Len(t, rep.Recovery, 3, "the receiver came back after each fault")
			assert.Less(t, percentileMS(rep.Recovery, 0.99), 2000.0, "recovery p99 under 2 s")
			q, _ := srv.Queue(queue)
			assert.Zero(t, q.Ready+q.Unacked, "nothing left behind: %+v", q)
		})
	}
}

// Fatal faults end the receiver and the sender at once, with the peer's
// condition, after one attempt: no retry loop, and nothing confirmed is lost
// (it stays in the queue).
func TestFaultFatalOnEmbeddedBroker(t *testing.T) {
	const queue = "work"
	for _, cond := range []struct {
		condition string
		sentinel  error
	}{
		{"amqp:unauthorized-access", errorpolicy.ErrUnauthorized},
		{"amqp:link:stolen", errorpolicy.ErrLinkStolen},
	} {
		t.Run(cond.condition, func(t *testing.T) {
			srv := amqptest.NewTestServer(t, nil)
			c := dial(t, srv.URL())
			ctx := testContext(t)
			snd, err := sender.New(ctx, newSession(t, c), queue, nil)
			require.NoError(t, err)
			closeAtCleanup(t, snd.Close)
			rcv, err := receiver.New(ctx, newSession(t, c), queue, &receiver.Options{Prefetch: 10})
			require.NoError(t, err)
			closeAtCleanup(t, rcv.Close)

			const sent = 50
			for i := range sent {
				_, err := snd.Send(ctx, message.NewText(strconv.Itoa(i)))
				require.NoError(t, err)
			}
			got := map[string]bool{}
			d, err := rcv.Receive(ctx)
			require.NoError(t, err)
			require.NoError(t, d.Accept(ctx))
			got[string(d.Message.Body.Data[0])] = true

			start := time.Now()
			srv.DetachLinks(queue, cond.condition, "fault test")
			for {
				d, err := rcv.Receive(ctx)
				if err != nil {
					require.ErrorIs(t, err, cond.sentinel)
					break
				}
				// Deliveries handed out before the detach was seen are still
				// returned; settling them fails or is lost with the link, and
				// the broker keeps the message.
				got[string(d.Message.Body.Data[0])] = true
				_ = d.Accept(ctx)
			}
			surfaced := time.Since(start)
			assert.Less(t, surfaced, time.Second, "the fatal error surfaces at once")
			assert.Equal(t, receiver.Closed, rcv.State())
			assert.Zero(t, rcv.Stats().Recoveries, "no retry after a fatal error")

			_, err = snd.Send(ctx, message.NewText("after"))
			require.ErrorIs(t, err, cond.sentinel, "the sender reports the peer's condition")
			_, err = snd.Send(ctx, message.NewText("again"))
			require.ErrorIs(t, err, cond.sentinel, "and does not attach again")

			// Everything not received is still in the queue: take it with a
			// fresh receiver on a new connection.
			received := len(got)
			other, err := receiver.New(ctx, newSession(t, dial(t, srv.URL())), queue, nil)
			require.NoError(t, err)
			closeAtCleanup(t, other.Close)
			for {
				short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				d, err := other.Receive(short)
				cancel()
				if err != nil {
					require.ErrorIs(t, err, context.DeadlineExceeded)
					break // nothing more came
				}
				got[string(d.Message.Body.Data[0])] = true
				require.NoError(t, d.Accept(ctx))
			}
			lost := 0
			for i := range sent {
				if !got[strconv.Itoa(i)] {
					lost++
				}
			}
			t.Logf("fault=%s sent=%d confirmed=%d received=%d lost=%d duplicates=0 surfaced_ms=%d",
				cond.condition, sent, sent, received, lost, surfaced.Milliseconds())
			assert.Zero(t, lost, "what was not received stayed in the queue")
		})
	}
}
