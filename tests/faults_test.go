package tests

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

// faultRun is one fault test: an at-least-once sender and a PeekLock receiver
// move Total numbered messages through Address while Inject breaks something
// each time another share of them has been received.
type faultRun struct {
	Name       string
	Total      int
	Injections int
	Address    string
	Send, Recv *session.Session
	Inject     func()
	// Every, when set, injects the fault on this period for as long as messages
	// are being sent, instead of Injections times.
	Every  time.Duration
	Policy *errorpolicy.Policy
	// Durable sends durable messages (to survive a broker restart).
	Durable bool
	// Rate, when set, paces the sender to about this many messages a second,
	// so that a run lasts long enough for periodic faults.
	Rate int
	// Deadline bounds the whole run. Default: 2 minutes.
	Deadline time.Duration
}

// faultReport is what a fault run counts. Lost counts messages whose sending
// was confirmed (Accepted) but which never arrived; Unconfirmed, messages whose
// send failed for good (they may or may not have arrived).
type faultReport struct {
	Sent, Confirmed, Unconfirmed, Received, Lost, Duplicates int
	Recovery                                                 []time.Duration
	Resent                                                   uint64
}

func (r faultReport) line(name string) string {
	return fmt.Sprintf("fault=%s sent=%d confirmed=%d received=%d lost=%d duplicates=%d recovery_p50_ms=%.0f recovery_p99_ms=%.0f",
		name, r.Sent, r.Confirmed, r.Received, r.Lost, r.Duplicates,
		percentileMS(r.Recovery, 0.50), percentileMS(r.Recovery, 0.99))
}

func percentileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return float64(s[i].Microseconds()) / 1000
}

// run moves the messages, injecting the fault, and reports. It fails the test
// on a stuck run, never on a count: the caller asserts what its fault allows.
func (f faultRun) run(t *testing.T) faultReport {
	t.Helper()
	deadline := f.Deadline
	if deadline == 0 {
		deadline = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(testContext(t), deadline)
	defer cancel()

	snd, err := sender.New(ctx, f.Send, f.Address, &sender.Options{AtLeastOnce: true, Policy: f.Policy})
	require.NoError(t, err)
	var (
		mu        sync.Mutex
		seen      = make([]int, f.Total)
		received  int
		injectAt  time.Time // when the last fault was injected; zero once recovered
		recovery  []time.Duration
		arrivedCh = make(chan int, 1)
	)
	// Recovery is the time from a fault to the receiver's next Open state.
	rcv, err := receiver.New(ctx, f.Recv, f.Address, &receiver.Options{
		Prefetch: 100,
		Policy:   f.Policy,
		OnStateChange: func(from, to receiver.State) {
			if from != receiver.Recovering || to != receiver.Open {
				return
			}
			mu.Lock()
			if !injectAt.IsZero() {
				recovery = append(recovery, time.Since(injectAt))
				injectAt = time.Time{}
			}
			mu.Unlock()
		},
	})
	require.NoError(t, err)

	recvDone := make(chan error, 1)
	go func() {
		for {
			d, err := rcv.Receive(ctx)
			if err != nil {
				recvDone <- err
				return
			}
			i, err := strconv.Atoi(string(d.Message.Body.Data[0]))
			if err != nil || i < 0 || i >= f.Total {
				recvDone <- fmt.Errorf("a message that was never sent: %q", d.Message.Body.Data[0])
				return
			}
			// Accepting may fail with ErrLinkLost when the link died meanwhile:
			// the broker then offers the message again, and it counts twice.
			_ = d.Accept(ctx)
			mu.Lock()
			if seen[i] == 0 {
				received++
			}
			seen[i]++
			n := received
			mu.Unlock()
			select {
			case arrivedCh <- n:
			default:
			}
		}
	}()

	type sent struct {
		i int
		r *sender.Receipt
	}
	receipts := make(chan sent, 512)
	report := faultReport{}
	var confirmed []int
	confirmDone := make(chan struct{})
	go func() {
		defer close(confirmDone)
		for s := range receipts {
			if _, err := s.r.Wait(ctx); err == nil {
				confirmed = append(confirmed, s.i)
			} else {
				report.Unconfirmed++
				t.Logf("message %d unconfirmed: %v", s.i, err)
			}
		}
	}()
	go func() {
		defer close(receipts)
		start := time.Now()
		for i := range f.Total {
			if f.Rate > 0 && i%100 == 0 {
				due := start.Add(time.Duration(i) * time.Second / time.Duration(f.Rate))
				select {
				case <-time.After(time.Until(due)):
				case <-ctx.Done():
					return
				}
			}
			m := message.NewText(strconv.Itoa(i))
			if f.Durable {
				m.Header = &message.Header{Durable: true}
			}
			r, err := snd.SendAsync(ctx, m)
			if err != nil {
				t.Logf("message %d not sent: %v", i, err)
				continue
			}
			report.Sent++
			receipts <- sent{i, r}
		}
	}()

	if f.Every > 0 {
		f.injectEvery(t, ctx, confirmDone, recvDone, func() { mu.Lock(); injectAt = time.Now(); mu.Unlock() })
	} else {
		f.injectShares(t, ctx, arrivedCh, recvDone, func() { mu.Lock(); injectAt = time.Now(); mu.Unlock() })
	}
	select {
	case <-confirmDone:
	case <-ctx.Done():
		t.Fatal("the sender did not finish")
	}
	// Wait until every confirmed message has arrived, or the deadline.
	missing := func() int {
		mu.Lock()
		defer mu.Unlock()
		return missingLocked(confirmed, seen)
	}
	for missing() > 0 && ctx.Err() == nil {
		select {
		case <-arrivedCh:
		case err := <-recvDone:
			t.Fatalf("the receiver stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	closeCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	assert.NoError(t, snd.Close(closeCtx))
	assert.NoError(t, rcv.Close(closeCtx))
	if err := <-recvDone; !errors.Is(err, errorpolicy.ErrClosed) && !errors.Is(err, context.Canceled) {
		t.Errorf("the receiver ended with %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	report.Confirmed = len(confirmed)
	report.Received = received
	report.Lost = missingLocked(confirmed, seen)
	for _, n := range seen {
		if n > 1 {
			report.Duplicates += n - 1
		}
	}
	report.Recovery = recovery
	report.Resent = snd.Resent()
	fmt.Println(report.line(f.Name))
	t.Log(report.line(f.Name), "resent", report.Resent, "unconfirmed", report.Unconfirmed)
	return report
}

// injectShares injects the fault each time another share of the messages has
// arrived.
func (f faultRun) injectShares(t *testing.T, ctx context.Context, arrived <-chan int, recvDone <-chan error, mark func()) {
	step := f.Total / (f.Injections + 1)
	next := step
	for injected := 0; injected < f.Injections; {
		select {
		case n := <-arrived:
			if n < next {
				continue
			}
			mark()
			f.Inject()
			injected++
			next += step
		case err := <-recvDone:
			t.Fatalf("the receiver stopped: %v", err)
		case <-ctx.Done():
			t.Fatalf("stuck before injection %d", injected+1)
		}
	}
}

// injectEvery injects the fault on a period until the sender is done.
func (f faultRun) injectEvery(t *testing.T, ctx context.Context, sent <-chan struct{}, recvDone <-chan error, mark func()) {
	tick := time.NewTicker(f.Every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			mark()
			f.Inject()
		case <-sent:
			return
		case err := <-recvDone:
			t.Fatalf("the receiver stopped: %v", err)
		case <-ctx.Done():
			t.Fatal("stuck while injecting faults")
		}
	}
}

// missingLocked counts confirmed messages not seen; callers hold the run's lock.
func missingLocked(confirmed []int, seen []int) int {
	n := 0
	for _, i := range confirmed {
		if seen[i] == 0 {
			n++
		}
	}
	return n
}
