package tests

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
)

// The whole library over amqptest's in-memory pipe (amqp10.Options.Dial),
// inside testing/synctest: reconnects, token refreshes and their waits run on
// the bubble's fake clock, so hours pass in milliseconds.

// pipeClient dials srv over a pipe; the client is closed before the server.
func pipeClient(t *testing.T, srv *amqptest.Server, o *amqplink.Options) *amqplink.Client {
	t.Helper()
	o = cloneOptions(o)
	o.AMQP10 = &amqp10.Options{Dial: srv.Dial}
	c, err := amqplink.Dial(context.Background(), srv.URL(), o)
	require.NoError(t, err)
	closeAtCleanup(t, c.Close)
	return c
}

// countOpens counts the open frames clients send srv: one per connection.
func countOpens(n *atomic.Int32) func(amqptest.Frame) {
	return func(f amqptest.Frame) {
		if !f.Sent && strings.HasPrefix(f.Performative, "open(") {
			n.Add(1)
		}
	}
}

func TestLibraryOverThePipeRecoversOverItToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var opens atomic.Int32
		srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true, TraceLast: 100, Trace: countOpens(&opens)})
		c := pipeClient(t, srv, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		sess := newSession(t, c)
		s, err := sender.New(ctx, sess, "orders", nil)
		require.NoError(t, err)
		closeAtCleanup(t, s.Close)
		r, err := receiver.New(ctx, sess, "orders", &receiver.Options{Prefetch: 10})
		require.NoError(t, err)
		closeAtCleanup(t, r.Close)

		exchange := func(from, to int) {
			t.Helper()
			for i := from; i < to; i++ {
				_, err := s.Send(ctx, message.NewText(strconv.Itoa(i)))
				require.NoError(t, err)
			}
			for i := from; i < to; i++ {
				d, err := r.Receive(ctx)
				require.NoError(t, err)
				assert.Equal(t, strconv.Itoa(i), string(d.Message.Body.Data[0]))
				require.NoError(t, d.Accept(ctx))
			}
			synctest.Wait() // every accept has reached the server
		}
		exchange(0, 5)
		require.Equal(t, 1, srv.DropConnections())
		synctest.Wait() // the client has seen the connection go
		exchange(5, 10)
		assert.Equal(t, int32(2), opens.Load(), "the reconnect dialled the pipe again")
		q, _ := srv.Queue("orders")
		assert.Zero(t, q.Ready+q.Unacked, "%+v", q)
	})
}

// The synctest twin of TestCBSRefreshKeepsAShortLivedTokenAlive: a day of
// one-minute tokens, refreshed in time, in no real time.
func TestCBSRefreshOverThePipeForADay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true, SASKeys: sasKeys, TraceLast: 100})
		key := &cbs.SASKey{KeyName: "RootManageSharedAccessKey", Key: sasKeys["RootManageSharedAccessKey"], Lifetime: time.Minute}
		c := pipeClient(t, srv, &amqplink.Options{TokenProvider: key})
		ctx, cancel := context.WithTimeout(context.Background(), 48*time.Hour)
		defer cancel()
		sess := newSession(t, c)
		r, err := receiver.New(ctx, sess, "orders", nil)
		require.NoError(t, err)
		closeAtCleanup(t, r.Close)

		start := time.Now()
		for hour := range 24 {
			time.Sleep(time.Hour)
			srv.Put("orders", []byte(strconv.Itoa(hour)))
			d, err := r.Receive(ctx)
			require.NoError(t, err, "after %v", time.Since(start))
			require.Equal(t, strconv.Itoa(hour), string(d.Message.Body.Data[0]))
			require.NoError(t, d.Accept(ctx))
		}
		assert.Equal(t, 24*time.Hour, time.Since(start))
		assert.Zero(t, r.Stats().Recoveries, "the link was never detached for an expired token")
	})
}
