package amqptest_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/amqplink/amqplink/amqptest"
)

// These tests drive the server with raw go-amqp, independent of amqplink's own
// layers.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, srv *amqptest.Server, o *amqp.ConnOptions) (*amqp.Conn, *amqp.Session) {
	t.Helper()
	ctx := testCtx(t)
	c, err := amqp.Dial(ctx, srv.URL(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.NewSession(ctx, nil)
	require.NoError(t, err)
	return c, s
}

func sendN(t *testing.T, s *amqp.Session, address string, n int) {
	t.Helper()
	ctx := testCtx(t)
	snd, err := s.NewSender(ctx, address, nil)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte(strconv.Itoa(i))), nil))
	}
	require.NoError(t, snd.Close(ctx))
}

func info(t *testing.T, srv *amqptest.Server, name string) amqptest.QueueInfo {
	t.Helper()
	q, ok := srv.Queue(name)
	require.True(t, ok, "queue %s exists", name)
	return q
}

func TestSendThenPeekLockReceiveAndAccept(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "orders", 3)
	assert.Equal(t, 3, info(t, srv, "orders").Ready)

	rcv, err := s.NewReceiver(ctx, "/queues/orders", &amqp.ReceiverOptions{Credit: 10})
	require.NoError(t, err)
	for i := range 3 {
		m, err := rcv.Receive(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(i), string(m.GetData()), "in order")
	}
	q := info(t, srv, "orders")
	assert.Equal(t, 0, q.Ready)
	assert.Equal(t, 3, q.Unacked, "held until settled")
}

func TestOutcomes(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "q", 4)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: -1})
	require.NoError(t, err)
	require.NoError(t, rcv.IssueCredit(4))
	var ms []*amqp.Message
	for range 4 {
		m, err := rcv.Receive(ctx, nil)
		require.NoError(t, err)
		ms = append(ms, m)
	}
	require.NoError(t, rcv.AcceptMessage(ctx, ms[0]))
	require.NoError(t, rcv.ReleaseMessage(ctx, ms[1]))
	require.NoError(t, rcv.ModifyMessage(ctx, ms[2], &amqp.ModifyMessageOptions{DeliveryFailed: true}))
	require.NoError(t, rcv.RejectMessage(ctx, ms[3], &amqp.Error{Condition: "app:bad", Description: "no"}))
	require.Eventually(t, func() bool { return info(t, srv, "q").Unacked == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 2, info(t, srv, "q").Ready, "released and modified are back")
	assert.Equal(t, 1, info(t, srv, "q"+amqptest.DeadLetterSuffix).Ready, "rejected is dead-lettered")

	require.NoError(t, rcv.IssueCredit(2))
	for _, want := range []string{"1", "2"} {
		m, err := rcv.Receive(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, want, string(m.GetData()), "offered again, in their old order")
		require.NoError(t, rcv.AcceptMessage(ctx, m))
	}
}

func TestReceiveAndDeleteForgetsOnSend(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "q", 5)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{
		Credit: 5, RequestedSenderSettleMode: amqp.SenderSettleModeSettled.Ptr()})
	require.NoError(t, err)
	for range 5 {
		_, err := rcv.Receive(ctx, nil)
		require.NoError(t, err)
	}
	q := info(t, srv, "q")
	assert.Equal(t, 0, q.Ready)
	assert.Equal(t, 0, q.Unacked)
}

func TestCreditIsExactAndDrainIsAnswered(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "q", 20)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: -1})
	require.NoError(t, err)
	require.NoError(t, rcv.IssueCredit(5))
	require.Eventually(t, func() bool { return info(t, srv, "q").Unacked == 5 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, 15, info(t, srv, "q").Ready, "not one more than the credit")

	for range 5 {
		m, err := rcv.Receive(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, rcv.AcceptMessage(ctx, m))
	}
	require.Eventually(t, func() bool { return info(t, srv, "q").Unacked == 0 }, 5*time.Second, time.Millisecond)

	// Drain on an empty queue: the server uses up the credit and answers.
	_, s2 := dial(t, srv, nil)
	other, err := s2.NewReceiver(ctx, "empty", &amqp.ReceiverOptions{Credit: -1})
	require.NoError(t, err)
	require.NoError(t, other.IssueCredit(10))
	require.NoError(t, other.DrainCredit(ctx, nil))
}

func TestSASL(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{Users: map[string]string{"alice": "secret"}})
	ctx := testCtx(t)
	c, err := amqp.Dial(ctx, srv.URL(), &amqp.ConnOptions{SASLType: amqp.SASLTypePlain("alice", "secret")})
	require.NoError(t, err)
	require.NoError(t, c.Close())

	_, err = amqp.Dial(ctx, srv.URL(), &amqp.ConnOptions{SASLType: amqp.SASLTypePlain("alice", "wrong")})
	require.Error(t, err, "a wrong password is refused")
	_, err = amqp.Dial(ctx, srv.URL(), &amqp.ConnOptions{SASLType: amqp.SASLTypeAnonymous()})
	require.Error(t, err, "anonymous is refused when users are configured")
	_, err = amqp.Dial(ctx, srv.URL(), nil)
	require.Error(t, err, "no SASL at all is refused too")
}

func TestRequireQueuesRefusesUnknownAddresses(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{RequireQueues: true})
	srv.CreateQueue("known", nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	_, err := s.NewReceiver(ctx, "unknown", nil)
	var ae *amqp.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, amqp.ErrCondNotFound, ae.Condition)
	_, err = s.NewSender(ctx, "known", nil)
	require.NoError(t, err)
}

func TestFullQueueRejectsSends(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateQueue("small", &amqptest.QueueOptions{MaxLength: 2})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	snd, err := s.NewSender(ctx, "small", nil)
	require.NoError(t, err)
	require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("1")), nil))
	require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("2")), nil))
	err = snd.Send(ctx, amqp.NewMessage([]byte("3")), nil)
	var ae *amqp.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, amqp.ErrCondResourceLimitExceeded, ae.Condition)
	assert.Equal(t, 2, info(t, srv, "small").Ready)
}

func TestLargeMessagesCrossInManyFrames(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, &amqp.ConnOptions{MaxFrameSize: 512})
	ctx := testCtx(t)
	big := bytes.Repeat([]byte("0123456789"), 20000) // 200 kB over 512-byte frames
	snd, err := s.NewSender(ctx, "big", nil)
	require.NoError(t, err)
	require.NoError(t, snd.Send(ctx, amqp.NewMessage(big), nil))
	rcv, err := s.NewReceiver(ctx, "big", nil)
	require.NoError(t, err)
	m, err := rcv.Receive(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, big, m.GetData())
	require.NoError(t, rcv.AcceptMessage(ctx, m))
}

func TestDetachAndDropReturnUnsettledMessages(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	sendN(t, s, "q", 6)
	rcv, err := s.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: 3})
	require.NoError(t, err)
	_, err = rcv.Receive(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, rcv.Close(ctx))
	require.Eventually(t, func() bool { return info(t, srv, "q").Ready == 6 }, 5*time.Second, time.Millisecond,
		"a detached link's deliveries go back")

	c2, s2 := dial(t, srv, nil)
	rcv2, err := s2.NewReceiver(ctx, "q", &amqp.ReceiverOptions{Credit: 4})
	require.NoError(t, err)
	_, err = rcv2.Receive(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, c2.Close())
	require.Eventually(t, func() bool { return info(t, srv, "q").Ready == 6 }, 5*time.Second, time.Millisecond,
		"so do a closed connection's")
}

func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, good := dial(t, srv, nil)

	nc, err := net.Dial("tcp", srv.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte("AMQP\x00\x01\x00\x00"))
	require.NoError(t, err)
	_, err = nc.Write([]byte{0, 0, 0, 12, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}) // a frame of nonsense
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, _ := io.ReadAll(nc)
	assert.True(t, bytes.HasPrefix(got, []byte("AMQP\x00\x01\x00\x00")), "the header is answered")
	assert.Contains(t, string(got), "amqp:connection:framing-error", "then a close with framing-error")

	sendN(t, good, "still-fine", 1)
	assert.Equal(t, 1, info(t, srv, "still-fine").Ready)
}

func TestOversizedFrameLengthIsRefusedWithoutAllocating(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	nc, err := net.Dial("tcp", srv.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte("AMQP\x00\x01\x00\x00"))
	require.NoError(t, err)
	_, err = nc.Write([]byte{0xff, 0xff, 0xff, 0xf0, 2, 0, 0, 0}) // claims a 4 GiB frame
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, _ := io.ReadAll(nc)
	assert.Contains(t, string(got), "amqp:connection:framing-error")
}

func TestPutAndCloseWithClientsConnected(t *testing.T) {
	srv := amqptest.NewServer(nil)
	srv.Put("q", []byte("hello"))
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	rcv, err := s.NewReceiver(ctx, "q", nil)
	require.NoError(t, err)
	m, err := rcv.Receive(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(m.GetData()))
	srv.Close() // drops the client; goleak checks nothing is left running
	_, err = rcv.Receive(ctx, nil)
	assert.Error(t, err)
}
