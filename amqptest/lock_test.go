package amqptest_test

import (
	"strconv"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
)

// peekLock opens a receiver as Service Bus PeekLock does: rcv-settle-mode
// second, credit issued by hand.
func peekLock(t *testing.T, s *amqp.Session, address string, credit uint32) *amqp.Receiver {
	t.Helper()
	r, err := s.NewReceiver(testCtx(t), address, &amqp.ReceiverOptions{
		Credit: -1, SettlementMode: amqp.ReceiverSettleModeSecond.Ptr()})
	require.NoError(t, err)
	if credit > 0 {
		require.NoError(t, r.IssueCredit(credit))
	}
	return r
}

func receive(t *testing.T, r *amqp.Receiver) *amqp.Message {
	t.Helper()
	m, err := r.Receive(testCtx(t), nil)
	require.NoError(t, err)
	return m
}

// rfcToken turns a delivery tag (.NET GUID byte order) into the RFC 4122
// UUID that lock-tokens carry, as the Azure SDKs do.
func rfcToken(t *testing.T, tag []byte) amqp.UUID {
	t.Helper()
	require.Len(t, tag, 16)
	var u amqp.UUID
	copy(u[:], tag)
	u[0], u[1], u[2], u[3] = u[3], u[2], u[1], u[0]
	u[4], u[5] = u[5], u[4]
	u[6], u[7] = u[7], u[6]
	return u
}

func lockLost(t *testing.T, err error) {
	t.Helper()
	var ae *amqp.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, amqp.ErrCond("com.microsoft:message-lock-lost"), ae.Condition)
}

func TestLockTokenIsTheDeliveryTag(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.Put("q", []byte("a"))
	srv.Put("q", []byte("b"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 1)
	m := receive(t, r)

	token := rfcToken(t, m.DeliveryTag)
	assert.Equal(t, byte(0x40), token[6]&0xf0, "a version 4 UUID once converted to RFC order")
	peeked := srv.Peek("q", 10)
	require.Len(t, peeked, 2)
	held := peeked[0]
	assert.True(t, held.Locked)
	assert.Equal(t, [16]byte(token), held.LockToken)
	assert.Equal(t, int64(1), held.SequenceNumber)
	assert.Equal(t, "a", string(held.Data))
	assert.False(t, peeked[1].Locked, "b is ready, not locked")
	assert.Equal(t, int64(2), peeked[1].SequenceNumber)

	assert.Equal(t, int64(1), m.Annotations["x-opt-sequence-number"])
	until, ok := m.Annotations["x-opt-locked-until"].(time.Time)
	require.True(t, ok, "x-opt-locked-until is a timestamp")
	assert.Equal(t, held.LockedUntil.UnixMilli(), until.UnixMilli())
	enqueued, ok := m.Annotations["x-opt-enqueued-time"].(time.Time)
	require.True(t, ok, "x-opt-enqueued-time is a timestamp")
	assert.InDelta(t, 30*time.Second, until.Sub(enqueued), float64(2*time.Second), "locked for the default 30 s")
	require.NoError(t, r.AcceptMessage(testCtx(t), m))
}

func TestLockExpiryRequeuesAndALateSettleIsLockLost(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("q", &amqptest.QueueOptions{LockDuration: 10 * time.Second})
	srv.Put("q", []byte("a"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 1)
	m := receive(t, r)

	srv.FastForward(9 * time.Second)
	assert.Equal(t, 1, info(t, srv, "q").Unacked, "still locked")
	srv.FastForward(2 * time.Second)
	q := info(t, srv, "q")
	assert.Equal(t, 0, q.Unacked)
	assert.Equal(t, 1, q.Ready, "back in the queue")
	assert.Equal(t, uint32(1), srv.Peek("q", 1)[0].DeliveryCount, "counted as a failed delivery")

	lockLost(t, r.AcceptMessage(testCtx(t), m))

	require.NoError(t, r.IssueCredit(1))
	again := receive(t, r)
	assert.Equal(t, "a", string(again.GetData()))
	assert.Equal(t, uint32(1), again.Header.DeliveryCount)
	assert.NotEqual(t, m.DeliveryTag, again.DeliveryTag, "a new lock token")
	require.NoError(t, r.AcceptMessage(testCtx(t), again))
	assert.Equal(t, 0, info(t, srv, "q").Ready)
}

func TestLateSettleInModeFirstIsIgnored(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{LockDuration: 5 * time.Second})
	srv.Put("q", []byte("a"))
	_, s := dial(t, srv, nil)
	r, err := s.NewReceiver(testCtx(t), "q", &amqp.ReceiverOptions{Credit: -1})
	require.NoError(t, err)
	require.NoError(t, r.IssueCredit(1))
	m := receive(t, r)
	srv.FastForward(6 * time.Second)
	require.NoError(t, r.AcceptMessage(testCtx(t), m), "mode first expects no answer")
	require.NoError(t, r.IssueCredit(1))
	again := receive(t, r)
	assert.Equal(t, "a", string(again.GetData()), "the late accept did not remove it")
	require.NoError(t, r.AcceptMessage(testCtx(t), again))
	require.Eventually(t, func() bool { return info(t, srv, "q").Unacked == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 0, info(t, srv, "q").Ready)
}

func TestLockExpiryCountsTowardsMaxDeliveryCount(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("q", &amqptest.QueueOptions{LockDuration: time.Second, MaxDeliveryCount: 2})
	srv.Put("q", []byte("a"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 1)
	for range 2 {
		receive(t, r)
		srv.FastForward(2 * time.Second)
		require.NoError(t, r.IssueCredit(1))
	}
	assert.Equal(t, 0, info(t, srv, "q").Ready)
	dead := srv.Peek("q"+amqptest.DeadLetterSuffix, 10)
	require.Len(t, dead, 1)
	assert.Equal(t, "a", string(dead[0].Data))
	assert.Equal(t, uint32(2), dead[0].DeliveryCount)
}

func TestModeSecondEchoesTheOutcome(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	for i := range 3 {
		srv.Put("q", []byte(strconv.Itoa(i)))
	}
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 3)
	ctx := testCtx(t)
	require.NoError(t, r.AcceptMessage(ctx, receive(t, r)))
	require.NoError(t, r.RejectMessage(ctx, receive(t, r), &amqp.Error{Condition: "app:bad"}),
		"dead-lettering succeeds; the reason is not sent back as an error")
	require.NoError(t, r.ReleaseMessage(ctx, receive(t, r)))
	assert.Equal(t, 1, info(t, srv, "q").Ready)
	assert.Equal(t, 0, info(t, srv, "q").Unacked)
	assert.Equal(t, 1, info(t, srv, "q"+amqptest.DeadLetterSuffix).Ready)
}

func TestUndeliverableHereSkipsTheLink(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.Put("q", []byte("first"))
	_, s := dial(t, srv, nil)
	a := peekLock(t, s, "q", 1)
	b := peekLock(t, s, "q", 0)
	ctx := testCtx(t)
	m := receive(t, a)
	require.Equal(t, "first", string(m.GetData()))
	require.NoError(t, a.ModifyMessage(ctx, m, &amqp.ModifyMessageOptions{UndeliverableHere: true}))
	require.NoError(t, a.IssueCredit(1))

	srv.Put("q", []byte("second"))
	got := receive(t, a)
	assert.Equal(t, "second", string(got.GetData()), "a skips the message it refused")
	require.NoError(t, a.AcceptMessage(ctx, got))

	require.NoError(t, b.IssueCredit(1))
	got = receive(t, b)
	assert.Equal(t, "first", string(got.GetData()), "another link of the queue gets it")
	assert.Nil(t, got.Header, "not a failed delivery: no header with a delivery-count")
	require.NoError(t, b.AcceptMessage(ctx, got))
}

func TestSettlingUnknownDeliveriesIsHarmless(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.Put("q", []byte("a"))
	_, s := dial(t, srv, nil)
	r, err := s.NewReceiver(testCtx(t), "q", &amqp.ReceiverOptions{Credit: 1})
	require.NoError(t, err)
	m := receive(t, r)
	ctx := testCtx(t)
	require.NoError(t, r.AcceptMessage(ctx, m))
	require.NoError(t, r.AcceptMessage(ctx, m), "settled already: go-amqp sends nothing")
	require.Eventually(t, func() bool { return info(t, srv, "q").Unacked == 0 }, 5*time.Second, time.Millisecond)
	srv.Put("q", []byte("b"))
	assert.Equal(t, "b", string(receive(t, r).GetData()), "the server carries on")
}
