package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/amqplink/amqplink"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
)

// benchMessages is how many messages each side receives per round.
const benchMessages = 10000

// Scenario is one comparison: ours and the baseline receive the same number of
// messages from fresh queues, interleaved.
type Scenario struct {
	Name string
	// Baseline names the raw library ours is compared with: "go-amqp" or
	// "amqp091-go".
	Baseline string
	// prefill is how many messages each side's queue holds before it starts.
	prefill int
	ours    func(b *testing.B, q string) []time.Duration
	raw     func(b *testing.B, q string)
}

// goAMQP is the baseline of the AMQP 1.0 comparisons.
const goAMQP = "go-amqp"

// ReceiverScenarios are the receive comparisons with raw go-amqp.
func ReceiverScenarios() []Scenario {
	return []Scenario{
		{"recv-peeklock-300", goAMQP, benchMessages, oursRun(&receiver.Options{Prefetch: 300}), rawManual(300, 1, false)},
		{"recv-peeklock-300-c16", goAMQP, benchMessages, oursRun(&receiver.Options{Prefetch: 300, Concurrency: 16}), rawManual(300, 16, false)},
		{"recv-and-delete-300", goAMQP, benchMessages, oursRun(&receiver.Options{Prefetch: 300, Mode: receiver.ReceiveAndDelete}), rawManual(300, 1, true)},
		{"recv-default", goAMQP, benchMessages, oursReceive(nil), rawDefault},
	}
}

// Receiver runs each receive scenario as a sub-benchmark.
func Receiver(b *testing.B) {
	for _, sc := range ReceiverScenarios() {
		if selected(sc.Name) {
			b.Run(sc.Name, sc.Run)
		}
	}
}

// Run runs the scenario with amqplink and with the raw library in the same
// process against the same RabbitMQ, interleaved (ours, theirs, ours, theirs),
// and prints its line:
//
//	scenario=<name> ours=<msg/s> baseline=<msg/s> ratio=<ours/baseline> p50_ms=<> p99_ms=<>
//
// p50/p99 are our per-message waits: in Receive (or between handler calls) for
// the receive scenarios, in Send or SendAsync for the send ones.
func (sc Scenario) Run(b *testing.B) {
	url := brokertest.RabbitMQ(b)
	admin := brokertest.NewAdmin(b, url)
	var ours, theirs time.Duration
	var oursAllocs, theirAllocs uint64
	var waits []time.Duration
	// timed runs one side on a fresh queue holding sc.prefill messages. It
	// collects the garbage of the prefill first, so that neither side pays
	// for the publisher's allocations.
	timed := func(run func(q string)) (time.Duration, uint64) {
		q := admin.NewQueue(brokertest.QueueOptions{})
		defer admin.Delete(q.Name)
		admin.Publish(q.Name, 0, sc.prefill)
		runtime.GC()
		allocs, start := mallocs(), time.Now()
		run(q.Name)
		return time.Since(start), mallocs() - allocs
	}
	oursRuns, rawRuns, stalls := 0, 0, 0
	runOurs := func() {
		d, allocs := timed(func(q string) { waits = append(waits, sc.ours(b, q)...) })
		ours, oursAllocs, oursRuns = ours+d, oursAllocs+allocs, oursRuns+1
	}
	runRaw := func() {
		before := baselineStalls.Load()
		d, allocs := timed(func(q string) { sc.raw(b, q) })
		if baselineStalls.Load() != before {
			stalls++ // left out: see baselineStalls
			return
		}
		theirs, theirAllocs, rawRuns = theirs+d, theirAllocs+allocs, rawRuns+1
	}
	for b.Loop() {
		// Each side goes first once per iteration: whatever the first run
		// leaves behind at the broker or in the process falls on both.
		runOurs()
		runRaw()
		runRaw()
		runOurs()
	}
	if rawRuns == 0 {
		b.Fatalf("the baseline stalled in all %d runs", stalls)
	}
	n, rawN := float64(benchMessages*oursRuns), float64(benchMessages*rawRuns)
	oursRate, theirRate := n/ours.Seconds(), rawN/theirs.Seconds()
	slices.Sort(waits)
	p50, p99 := waits[len(waits)/2], waits[len(waits)*99/100]
	b.ReportMetric(oursRate, "ours-msg/s")
	b.ReportMetric(theirRate, "baseline-msg/s")
	b.ReportMetric(oursRate/theirRate, "ratio")
	// Allocations per message in this process (dial and attach included,
	// spread over the run): ours through every layer, and go-amqp's own.
	b.ReportMetric(float64(oursAllocs)/n, "ours-allocs/msg")
	b.ReportMetric(float64(theirAllocs)/rawN, "baseline-allocs/msg")
	fmt.Fprintf(Output, "scenario=%s ours=%.0f baseline=%.0f ratio=%.2f p50_ms=%.3f p99_ms=%.3f\n",
		sc.Name, oursRate, theirRate, oursRate/theirRate,
		float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000)
	if stalls > 0 {
		fmt.Fprintf(Output, "note: scenario=%s baseline stalled in %d of %d runs, left out of its rate (%s)\n",
			sc.Name, stalls, stalls+rawRuns, stallCause)
	}
}

// mallocs is the number of heap allocations the process has made.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// oursRun consumes with Run over AMQP 1.0; the handler accepts by returning nil.
func oursRun(o *receiver.Options) func(b *testing.B, q string) []time.Duration {
	return oursRunOn(nil, o)
}

// oursRunOn is oursRun over the client Dial makes with dial (nil: AMQP 1.0).
func oursRunOn(dial *amqplink.Options, o *receiver.Options) func(b *testing.B, q string) []time.Duration {
	return func(b *testing.B, q string) []time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, closeAll := benchReceiver(b, ctx, dial, q, o)
		defer closeAll()
		var mu sync.Mutex
		waits := make([]time.Duration, 0, benchMessages)
		var got atomic.Int64
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		last := time.Now()
		_ = r.Run(runCtx, func(context.Context, *message.Delivery) error {
			mu.Lock()
			now := time.Now()
			waits = append(waits, now.Sub(last))
			last = now
			mu.Unlock()
			if got.Add(1) == benchMessages {
				stop()
			}
			return nil
		})
		require.Equal(b, int64(benchMessages), got.Load())
		check(b, r.Close(ctx))
		return waits
	}
}

// oursReceive consumes with Receive and Accept.
func oursReceive(o *receiver.Options) func(b *testing.B, q string) []time.Duration {
	return func(b *testing.B, q string) []time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, closeAll := benchReceiver(b, ctx, nil, q, o)
		defer closeAll()
		waits := make([]time.Duration, 0, benchMessages)
		for range benchMessages {
			start := time.Now()
			d, err := r.Receive(ctx)
			check(b, err)
			waits = append(waits, time.Since(start))
			check(b, d.Accept(ctx))
		}
		check(b, r.Close(ctx))
		return waits
	}
}

func rawDial(b *testing.B) (*amqp.Conn, *amqp.Session) {
	ctx := context.Background()
	conn, err := amqp.Dial(ctx, brokertest.RabbitMQ(b), nil)
	check(b, err)
	sess, err := conn.NewSession(ctx, nil)
	check(b, err)
	return conn, sess
}

// rawManual is go-amqp in manual credit mode: window credits issued and topped
// up whenever half is used; workers goroutines receive and accept.
func rawManual(window int, workers int, settled bool) func(b *testing.B, q string) {
	return func(b *testing.B, q string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, sess := rawDial(b)
		defer conn.Close()
		o := &amqp.ReceiverOptions{Credit: -1}
		if settled {
			o.RequestedSenderSettleMode = amqp.SenderSettleModeSettled.Ptr()
		}
		rcv, err := sess.NewReceiver(ctx, queueAddress(q), o)
		check(b, err)
		check(b, rcv.IssueCredit(uint32(window)))
		var mu sync.Mutex
		used, got := 0, 0
		// A worker counts got before each Receive, so got stops moving when
		// every worker waits in one.
		ctx, stalled, stopWatch := watchStall(ctx, func() int {
			mu.Lock()
			defer mu.Unlock()
			return got
		})
		defer stopWatch()
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					if got >= benchMessages {
						mu.Unlock()
						return
					}
					got++
					mu.Unlock()
					m, err := rcv.Receive(ctx, nil)
					if err != nil {
						if !stalled() {
							b.Error(err)
						}
						return
					}
					if !settled {
						if err := rcv.AcceptMessage(ctx, m); err != nil {
							b.Error(err)
							return
						}
					}
					mu.Lock()
					if used++; used >= window/2 {
						_ = rcv.IssueCredit(uint32(used))
						used = 0
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if stalled() {
			return // the link is stuck: leave it to the connection's close
		}
		_ = sess.Close(ctx)
	}
}

// baselineStalls counts the baseline runs that stopped receiving; Run leaves
// them out of the baseline's rate and says so.
var baselineStalls atomic.Int64

// stallCause is what the go-amqp baseline stalls on: RabbitMQ 3.10 sends a
// few transfers beyond the credit when credit is topped up while transfers are
// in flight, go-amqp decrements its link credit (a uint32) past zero on them,
// and now and then the link is left waiting with no credit at the broker.
// amqplink's ledger is built for this peer (see the receiver package); raw
// go-amqp used by hand is not.
const stallCause = "go-amqp's manual credit against RabbitMQ's surplus transfers"

// stallAfter is how long the baseline may go without a message before its run
// counts as stalled.
const stallAfter = 5 * time.Second

// watchStall returns a context that ends when progress has not moved for
// stallAfter (counting that in baselineStalls), a func that reports whether it
// did, and one that stops the watch.
func watchStall(parent context.Context, progress func() int) (ctx context.Context, stalled func() bool, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	var hit atomic.Bool
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(stallAfter)
		defer t.Stop()
		last := progress()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				now := progress()
				if now == last {
					hit.Store(true)
					baselineStalls.Add(1)
					cancel()
					return
				}
				last = now
			}
		}
	}()
	return ctx, hit.Load, func() {
		close(done)
		cancel()
	}
}

// rawDefault is go-amqp with its default receiver options (credit 1).
func rawDefault(b *testing.B, q string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, sess := rawDial(b)
	defer conn.Close()
	rcv, err := sess.NewReceiver(ctx, queueAddress(q), nil)
	check(b, err)
	for range benchMessages {
		m, err := rcv.Receive(ctx, nil)
		check(b, err)
		check(b, rcv.AcceptMessage(ctx, m))
	}
	_ = sess.Close(ctx)
}

// benchReceiver dials RabbitMQ with dial (nil: AMQP 1.0), begins a session and
// opens a receiver on q; closeAll closes the connection and everything on it.
func benchReceiver(b *testing.B, ctx context.Context, dial *amqplink.Options, q string, o *receiver.Options) (r *receiver.Receiver, closeAll func()) {
	c, err := amqplink.Dial(ctx, brokertest.RabbitMQ(b), dial)
	check(b, err)
	sess, err := c.NewSession(ctx, nil)
	check(b, err)
	r, err = receiver.New(ctx, sess, queueAddress(q), o)
	check(b, err)
	return r, func() { _ = c.Close(ctx) }
}

// queueAddress is the AMQP 1.0 address of an existing RabbitMQ queue.
func queueAddress(name string) string { return "/amq/queue/" + name }
