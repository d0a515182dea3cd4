package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

// testTimeout bounds every wait in one test.
const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// rabbit connects to the test RabbitMQ and returns the client (closed at
// cleanup), the admin side channel and the URL. The protocol is AMQP 1.0, or
// AMQP 0-9-1 inside forEachProtocol's amqp091 subtest.
func rabbit(t *testing.T) (*amqplink.Client, *brokertest.Admin, string) {
	t.Helper()
	url := brokertest.RabbitMQ(t)
	admin := brokertest.NewAdmin(t, url)
	return dial(t, url), admin, url
}

// forEachProtocol runs f as a subtest per driver: the receiver and sender suites
// hold on both protocol families against the same RabbitMQ.
func forEachProtocol(t *testing.T, f func(t *testing.T)) {
	for _, p := range []amqplink.Protocol{amqplink.AMQP10, amqplink.AMQP091} {
		t.Run(protocolNames[p], f)
	}
}

var protocolNames = map[amqplink.Protocol]string{amqplink.AMQP10: "amqp10", amqplink.AMQP091: "amqp091"}

// protocolOf is the protocol forEachProtocol chose for t, found in its name.
func protocolOf(t *testing.T) amqplink.Protocol {
	for _, part := range strings.Split(t.Name(), "/") {
		if part == protocolNames[amqplink.AMQP091] {
			return amqplink.AMQP091
		}
	}
	return amqplink.AMQP10
}

func dial(t *testing.T, url string) *amqplink.Client {
	t.Helper()
	return dialWith(t, url, nil)
}

func dialWith(t *testing.T, url string, o *amqplink.Options) *amqplink.Client {
	t.Helper()
	ctx := testContext(t)
	o = cloneOptions(o)
	if o.Protocol == amqplink.AMQP10 {
		o.Protocol = protocolOf(t)
	}
	c, err := amqplink.Dial(ctx, url, o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

func newSession(t *testing.T, c *amqplink.Client) *session.Session {
	t.Helper()
	ctx := testContext(t)
	s, err := c.NewSession(ctx, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// queueAddress is the AMQP 1.0 address of an existing RabbitMQ queue.
func queueAddress(name string) string { return "/amq/queue/" + name }

// sendAll sends each message unsettled and requires an Accepted outcome.
func sendAll(t *testing.T, sess *session.Session, target string, msgs ...*message.Message) {
	t.Helper()
	ctx := testContext(t)
	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: target})
	require.NoError(t, err)
	defer snd.Close(ctx)
	for _, m := range msgs {
		r, err := snd.Send(ctx, m, false)
		require.NoError(t, err)
		out, err := r.Wait(ctx)
		require.NoError(t, err)
		require.Equal(t, message.Accepted{}, out)
	}
}

// receiveOne attaches a receiver, grants one credit and returns the delivery.
func receiveOne(t *testing.T, sess *session.Session, o link.ReceiverOptions) (link.ReceiverLink, *message.Delivery) {
	t.Helper()
	ctx := testContext(t)
	rcv, err := sess.NewReceiverLink(ctx, o)
	require.NoError(t, err)
	closeAtCleanup(t, rcv.Close)
	require.NoError(t, rcv.IssueCredit(1))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := rcv.Receive(rctx)
	require.NoError(t, err)
	return rcv, d
}

// closeAtCleanup closes a link when the test ends, before the queues it uses are
// deleted (cleanups run last-in first-out): RabbitMQ takes seconds to end a
// session whose consumer lost its queue.
func closeAtCleanup(t *testing.T, close func(context.Context) error) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = close(ctx)
	})
}

func cloneOptions(o *amqplink.Options) *amqplink.Options {
	if o == nil {
		return &amqplink.Options{}
	}
	c := *o
	return &c
}
