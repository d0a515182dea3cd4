package amqptest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
)

func TestDetachLinksWithACondition(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "q", 3)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: 3})
	require.NoError(t, err)
	_, err = rcv.Receive(ctx, nil)
	require.NoError(t, err)

	assert.Equal(t, 1, srv.DetachLinks("q", "amqp:link:detach-forced", "maintenance"))
	var le *amqp.LinkError
	for {
		_, err = rcv.Receive(ctx, nil) // buffered ones first, then the detach
		if err != nil {
			break
		}
	}
	require.ErrorAs(t, err, &le)
	require.NotNil(t, le.RemoteErr)
	assert.Equal(t, amqp.ErrCond("amqp:link:detach-forced"), le.RemoteErr.Condition)
	assert.Equal(t, "maintenance", le.RemoteErr.Description)
	require.Eventually(t, func() bool { return info(t, srv, "q").Ready == 3 }, 5*time.Second, time.Millisecond,
		"what the link held is back in the queue")
}

func TestCloseConnectionsWithACondition(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	c, s := dial(t, srv, nil)
	ctx := testCtx(t)
	rcv, err := s.NewReceiver(ctx, "q", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.CloseConnections("amqp:connection:forced", "going down"))
	_, err = rcv.Receive(ctx, nil)
	var ce *amqp.ConnError
	require.ErrorAs(t, err, &ce)
	require.NotNil(t, ce.RemoteErr)
	assert.Equal(t, amqp.ErrCondConnectionForced, ce.RemoteErr.Condition)
	<-c.Done()
}

func TestDropConnectionsWithoutAClose(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	rcv, err := s.NewReceiver(ctx, "q", nil)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.DropConnections())
	_, err = rcv.Receive(ctx, nil)
	var ce *amqp.ConnError
	require.ErrorAs(t, err, &ce)
	assert.Nil(t, ce.RemoteErr, "no close frame: the peer just went away")
}

func TestRefuseAttachUntilLifted(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	srv.RefuseAttach("busy", "com.microsoft:server-busy", "try later")
	_, err := s.NewSender(ctx, "busy", nil)
	var ae *amqp.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, amqp.ErrCond("com.microsoft:server-busy"), ae.Condition)
	srv.RefuseAttach("busy", "", "")
	_, err = s.NewSender(ctx, "busy", nil)
	require.NoError(t, err)
}

func TestIgnoredDrainLeavesTheClientWaiting(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	srv.IgnoreDrain(true)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: -1})
	require.NoError(t, err)
	require.NoError(t, rcv.IssueCredit(5))
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = rcv.DrainCredit(short, nil)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}

func TestWithheldCreditStallsSendersUntilResumed(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{LinkCredit: 4})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	srv.WithholdCredit(true)
	snd, err := s.NewSender(ctx, "q", nil)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = snd.Send(short, amqp.NewMessage([]byte("x")), nil)
	require.Error(t, err, "no credit: the send cannot go out")
	srv.WithholdCredit(false)
	require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("y")), nil))
	assert.Equal(t, 1, info(t, srv, "q").Ready)
}

func TestDelayedFrames(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	snd, err := s.NewSender(ctx, "q", nil)
	require.NoError(t, err)
	srv.DelayFrames(50 * time.Millisecond)
	start := time.Now()
	require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("x")), nil))
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "the outcome waited for the delay")
	srv.DelayFrames(0)
}

func TestFailedDeliveriesAreCountedAndDeadLettered(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("q", &amqptest.QueueOptions{MaxDeliveryCount: 2})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "q", 1)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: 1})
	require.NoError(t, err)

	m, err := rcv.Receive(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, uint32(0), deliveryCount(m))
	require.NoError(t, rcv.ModifyMessage(ctx, m, &amqp.ModifyMessageOptions{DeliveryFailed: true}))

	m, err = rcv.Receive(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), deliveryCount(m), "the header counts the failed delivery")
	require.NoError(t, rcv.ReleaseMessage(ctx, m))

	m, err = rcv.Receive(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, uint32(1), deliveryCount(m), "a release is not a failure")
	require.NoError(t, rcv.ModifyMessage(ctx, m, &amqp.ModifyMessageOptions{DeliveryFailed: true}))

	require.Eventually(t, func() bool {
		q, ok := srv.Queue("q" + amqptest.DeadLetterSuffix)
		return ok && q.Ready == 1
	}, 5*time.Second, time.Millisecond, "the second failure dead-letters it")
	assert.Equal(t, 0, info(t, srv, "q").Ready)
}

func deliveryCount(m *amqp.Message) uint32 {
	if m.Header == nil {
		return 0
	}
	return m.Header.DeliveryCount
}
