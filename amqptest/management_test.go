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

// mgmt is a request/response link pair on a queue's $management node, as the
// Azure SDKs open one.
type mgmt struct {
	t   *testing.T
	snd *amqp.Sender
	rcv *amqp.Receiver
	n   int
}

func newMgmt(t *testing.T, s *amqp.Session, queue string) *mgmt {
	t.Helper()
	ctx := testCtx(t)
	address := queue + "/$management"
	snd, err := s.NewSender(ctx, address, nil)
	require.NoError(t, err)
	rcv, err := s.NewReceiver(ctx, address, &amqp.ReceiverOptions{TargetAddress: "mgmt-replies", Credit: 10})
	require.NoError(t, err)
	return &mgmt{t: t, snd: snd, rcv: rcv}
}

// call sends one operation and returns the response's status and body.
func (m *mgmt) call(operation string, body map[string]any) (int32, map[string]any, *amqp.Message) {
	m.t.Helper()
	ctx := testCtx(m.t)
	m.n++
	replyTo := "mgmt-replies"
	req := &amqp.Message{
		Properties:            &amqp.MessageProperties{MessageID: "req-" + strconv.Itoa(m.n), ReplyTo: &replyTo},
		ApplicationProperties: map[string]any{"operation": operation},
		Value:                 body,
	}
	require.NoError(m.t, m.snd.Send(ctx, req, nil))
	resp, err := m.rcv.Receive(ctx, nil)
	require.NoError(m.t, err)
	require.NoError(m.t, m.rcv.AcceptMessage(ctx, resp))
	assert.Equal(m.t, req.Properties.MessageID, resp.Properties.CorrelationID, "correlation-id is the request's message-id")
	status, ok := resp.ApplicationProperties["statusCode"].(int32)
	require.True(m.t, ok, "statusCode, camel case, is an int: %v", resp.ApplicationProperties)
	assert.Contains(m.t, resp.ApplicationProperties, "statusDescription")
	out, _ := resp.Value.(map[string]any)
	return status, out, resp
}

func TestRenewLockKeepsTheMessageLocked(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("q", &amqptest.QueueOptions{LockDuration: 10 * time.Second})
	srv.Put("q", []byte("a"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 1)
	mg := newMgmt(t, s, "q")
	m := receive(t, r)
	first := srv.Peek("q", 1)[0].LockedUntil

	srv.FastForward(8 * time.Second)
	status, body, _ := mg.call("com.microsoft:renew-lock",
		map[string]any{"lock-tokens": []amqp.UUID{rfcToken(t, m.DeliveryTag)}})
	require.Equal(t, int32(200), status)
	exps, ok := body["expirations"].([]time.Time)
	require.True(t, ok, "expirations is an array of timestamps: %#v", body["expirations"])
	require.Len(t, exps, 1)
	assert.InDelta(t, 8*time.Second, exps[0].Sub(first), float64(500*time.Millisecond), "10 s from the renewal")

	srv.FastForward(8 * time.Second) // past the first expiry, within the renewed one
	assert.Equal(t, 1, info(t, srv, "q").Unacked, "still locked")
	require.NoError(t, r.AcceptMessage(testCtx(t), m))
	q := info(t, srv, "q")
	assert.Equal(t, 0, q.Ready+q.Unacked, "accepted and gone")
}

func TestRenewLockOfAnUnknownTokenIs410(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.Put("q", []byte("a"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 1)
	mg := newMgmt(t, s, "q")
	m := receive(t, r)

	status, _, resp := mg.call("com.microsoft:renew-lock",
		map[string]any{"lock-tokens": []amqp.UUID{rfcToken(t, m.DeliveryTag), {1, 2, 3}}})
	assert.Equal(t, int32(410), status)
	assert.Equal(t, "com.microsoft:message-lock-lost", resp.ApplicationProperties["error-condition"])
	assert.NotEmpty(t, resp.ApplicationProperties["statusDescription"])

	status, _, _ = mg.call("com.microsoft:renew-lock",
		map[string]any{"lock-tokens": []amqp.UUID{amqp.UUID(m.DeliveryTag)}})
	assert.Equal(t, int32(410), status, "the tag's own byte order is not the token's")
}

func TestPeekReturnsMessagesWithoutLockingThem(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	for _, b := range []string{"a", "b", "c"} {
		srv.Put("q", []byte(b))
	}
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 1)
	mg := newMgmt(t, s, "q")
	locked := receive(t, r)
	require.Equal(t, "a", string(locked.GetData()))

	status, body, _ := mg.call("com.microsoft:peek-message",
		map[string]any{"from-sequence-number": int64(1), "message-count": int32(10)})
	require.Equal(t, int32(200), status)
	list, ok := body["messages"].([]any)
	require.True(t, ok, "messages is a list: %#v", body["messages"])
	require.Len(t, list, 3, "the locked message too")
	for i, e := range list {
		entry, ok := e.(map[string]any)
		require.True(t, ok)
		raw, ok := entry["message"].([]byte)
		require.True(t, ok)
		var pm amqp.Message
		require.NoError(t, pm.UnmarshalBinary(raw))
		assert.Equal(t, string(rune('a'+i)), string(pm.GetData()))
		assert.Equal(t, int64(i+1), pm.Annotations["x-opt-sequence-number"])
	}
	q := info(t, srv, "q")
	assert.Equal(t, 2, q.Ready, "peek locks nothing")
	assert.Equal(t, 1, q.Unacked)

	status, body, _ = mg.call("com.microsoft:peek-message",
		map[string]any{"from-sequence-number": int64(3), "message-count": int32(1)})
	require.Equal(t, int32(200), status)
	require.Len(t, body["messages"], 1)

	status, _, _ = mg.call("com.microsoft:peek-message",
		map[string]any{"from-sequence-number": int64(4), "message-count": int32(10)})
	assert.Equal(t, int32(204), status, "nothing from there on")
	require.NoError(t, r.AcceptMessage(testCtx(t), locked))
}

func TestUpdateDispositionSettlesLockedMessages(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.Put("q", []byte("done"))
	srv.Put("q", []byte("again"))
	srv.Put("q", []byte("dead"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 3)
	mg := newMgmt(t, s, "q")
	done, again, dead := receive(t, r), receive(t, r), receive(t, r)

	update := func(status string, m *amqp.Message) int32 {
		code, _, _ := mg.call("com.microsoft:update-disposition", map[string]any{
			"disposition-status": status, "lock-tokens": []amqp.UUID{rfcToken(t, m.DeliveryTag)}})
		return code
	}
	require.Equal(t, int32(200), update("completed", done))
	assert.Equal(t, 0, info(t, srv, "q").Ready, "completed is gone")
	lockLost(t, r.AcceptMessage(testCtx(t), done))

	require.Equal(t, int32(200), update("abandoned", again))
	back := srv.Peek("q", 10)
	require.Len(t, back, 2)
	assert.Equal(t, "again", string(back[0].Data))
	assert.False(t, back[0].Locked, "abandoned is back in the queue")
	assert.Equal(t, uint32(1), back[0].DeliveryCount)

	require.Equal(t, int32(200), update("suspended", dead))
	assert.Equal(t, 1, info(t, srv, "q"+amqptest.DeadLetterSuffix).Ready, "suspended is dead-lettered")

	assert.Equal(t, int32(410), update("completed", done), "no longer locked")
	assert.Equal(t, int32(400), update("defered", again))
	assert.Equal(t, int32(0), int32(info(t, srv, "q").Unacked))
}

func TestUnknownManagementOperationIs400(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	mg := newMgmt(t, s, "q")
	status, _, _ := mg.call("com.microsoft:no-such-thing", map[string]any{})
	assert.Equal(t, int32(400), status)
	status, _, _ = mg.call("com.microsoft:renew-lock", map[string]any{"lock-tokens": "not an array"})
	assert.Equal(t, int32(400), status)
}

func TestALockOutlivesItsModeSecondLink(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("q", &amqptest.QueueOptions{LockDuration: 10 * time.Second})
	srv.Put("q", []byte("settled later"))
	srv.Put("q", []byte("expires"))
	_, s := dial(t, srv, nil)
	r := peekLock(t, s, "q", 2)
	mg := newMgmt(t, s, "q")
	first, second := receive(t, r), receive(t, r)
	require.NoError(t, r.Close(testCtx(t)))
	q := info(t, srv, "q")
	assert.Equal(t, 2, q.Unacked, "still locked with the link gone")
	assert.Equal(t, 0, q.Ready)

	code, _, _ := mg.call("com.microsoft:update-disposition", map[string]any{
		"disposition-status": "completed", "lock-tokens": []amqp.UUID{rfcToken(t, first.DeliveryTag)}})
	require.Equal(t, int32(200), code, "settled through $management while the lock holds")

	srv.FastForward(11 * time.Second)
	left := srv.Peek("q", 10)
	require.Len(t, left, 1)
	assert.Equal(t, "expires", string(left[0].Data))
	assert.False(t, left[0].Locked, "back in the queue once the lock ran out")
	assert.Equal(t, uint32(1), left[0].DeliveryCount)
	code, _, _ = mg.call("com.microsoft:renew-lock",
		map[string]any{"lock-tokens": []amqp.UUID{rfcToken(t, second.DeliveryTag)}})
	assert.Equal(t, int32(410), code)
}
