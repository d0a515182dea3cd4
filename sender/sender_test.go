package sender_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
	"github.com/amqplink/amqplink/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open opens a sender on q over a session on p, closed when the test ends.
func open(t *testing.T, p link.Conn, o *sender.Options) *sender.Sender {
	t.Helper()
	ctx := testCtx(t)
	sess, err := session.New(ctx, p, nil)
	require.NoError(t, err)
	s, err := sender.New(ctx, sess, "q", o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Close(ctx)
		_ = sess.Close(ctx)
	})
	return s
}

func msg(i int) *message.Message { return message.NewText(strconv.Itoa(i)) }

func TestSendAsyncKeepsAtMostMaxInFlightAwaitingOutcomes(t *testing.T) {
	p := newPeer()
	s := open(t, p, &sender.Options{MaxInFlight: 4})
	ctx := testCtx(t)
	var receipts []*sender.Receipt
	for i := range 4 {
		r, err := s.SendAsync(ctx, msg(i))
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	assert.Equal(t, 4, s.InFlight())

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := s.SendAsync(short, msg(4))
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded, "the fifth waits for room")
	assert.Equal(t, 4, p.count(), "and was never handed to the link")

	p.settle(0, message.Accepted{})
	r, err := s.SendAsync(ctx, msg(4))
	require.NoError(t, err, "an outcome makes room")
	o, err := receipts[0].Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, message.Accepted{}, o)
	for i := 1; i < 5; i++ {
		p.settle(i, message.Accepted{})
	}
	_, err = r.Wait(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.InFlight() == 0 }, time.Second, time.Millisecond)
}

func TestOutcomesOtherThanAcceptedAreTypedErrors(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	outcomes := []message.Outcome{
		message.Rejected{Condition: "amqp:resource-limit-exceeded", Description: "queue full"},
		message.Released{},
		message.Modified{DeliveryFailed: true},
		message.Accepted{},
	}
	var receipts []*sender.Receipt
	for i := range outcomes {
		r, err := s.SendAsync(ctx, msg(i))
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	for i, o := range outcomes {
		p.settle(i, o)
	}

	o, err := receipts[0].Wait(ctx)
	assert.Equal(t, outcomes[0], o, "the outcome comes with its error")
	require.ErrorIs(t, err, sender.ErrRejected)
	require.ErrorIs(t, err, errorpolicy.ErrResourceLimitExceeded, "the peer's condition")
	var oe *sender.OutcomeError
	require.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "queue full")

	_, err = receipts[1].Wait(ctx)
	assert.ErrorIs(t, err, sender.ErrReleased)
	_, err = receipts[2].Wait(ctx)
	assert.ErrorIs(t, err, sender.ErrModified)
	assert.NotErrorIs(t, err, sender.ErrRejected)
	o, err = receipts[3].Wait(ctx)
	assert.NoError(t, err)
	assert.Equal(t, message.Accepted{}, o)
}

func TestSendWaitsForTheOutcome(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	go func() {
		<-p.arrived
		p.settle(0, message.Rejected{Condition: "amqp:not-allowed"})
	}()
	o, err := s.Send(ctx, msg(0))
	assert.Equal(t, message.Rejected{Condition: "amqp:not-allowed"}, o)
	assert.ErrorIs(t, err, errorpolicy.ErrNotAllowed)
}

func TestReceiptsCompleteInSendOrder(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	r0, err := s.SendAsync(ctx, msg(0))
	require.NoError(t, err)
	r1, err := s.SendAsync(ctx, msg(1))
	require.NoError(t, err)
	p.settle(1, message.Accepted{}) // the peer answers the second first
	time.Sleep(20 * time.Millisecond)
	_, err = r1.Outcome()
	assert.ErrorIs(t, err, sender.ErrInFlight, "completed in order, behind the first")
	p.settle(0, message.Accepted{})
	_, err = r1.Wait(ctx)
	require.NoError(t, err)
	select {
	case <-r0.Done():
	default:
		t.Fatal("the first completes no later than the second")
	}
	text, err := r1.Message().Text()
	require.NoError(t, err)
	assert.Equal(t, "1", text, "the receipt knows its message")
}

func TestCloseWaitsForOutcomesThenReportsWhatStaysUnknown(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	var receipts []*sender.Receipt
	for i := range 3 {
		r, err := s.SendAsync(ctx, msg(i))
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		p.settle(0, message.Accepted{}) // settled while Close waits
	}()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := s.Close(short)
	require.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "2 messages")

	o, err := receipts[0].Outcome()
	require.NoError(t, err, "the outcome that came while Close waited")
	assert.Equal(t, message.Accepted{}, o)
	pending := s.Pending()
	require.Len(t, pending, 2)
	for i, r := range pending {
		assert.Same(t, receipts[i+1], r)
		_, err := r.Outcome()
		assert.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown)
	}

	_, err = s.SendAsync(ctx, msg(9))
	assert.ErrorIs(t, err, errorpolicy.ErrClosed)
	assert.ErrorIs(t, s.Close(ctx), errorpolicy.ErrOutcomeUnknown, "a second Close repeats the first")
}

func TestCloseWithEverythingSettledIsClean(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	r, err := s.SendAsync(ctx, msg(0))
	require.NoError(t, err)
	go p.settle(0, message.Accepted{})
	require.NoError(t, s.Close(ctx))
	o, err := r.Outcome()
	require.NoError(t, err)
	assert.Equal(t, message.Accepted{}, o)
	assert.Empty(t, s.Pending())
}

func TestLinkEndingCompletesEveryReceiptAsUnknown(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	var receipts []*sender.Receipt
	for i := range 10 {
		r, err := s.SendAsync(ctx, msg(i))
		require.NoError(t, err)
		receipts = append(receipts, r)
	}
	close(p.linkDone)
	for _, r := range receipts {
		_, err := r.Wait(ctx)
		assert.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown)
	}
	require.Eventually(t, func() bool { return s.InFlight() == 0 }, time.Second, time.Millisecond,
		"their slots are free again")
}

func TestTimeoutBoundsTheWaitForAnOutcome(t *testing.T) {
	p := newPeer()
	s := open(t, p, &sender.Options{Timeout: 50 * time.Millisecond})
	ctx := testCtx(t)
	r, err := s.SendAsync(ctx, msg(0))
	require.NoError(t, err)
	_, err = r.Wait(ctx)
	assert.ErrorIs(t, err, errorpolicy.ErrTimeout)
	assert.Equal(t, 0, s.InFlight())
}

func TestSendErrorsFreeTheSlot(t *testing.T) {
	p := newPeer()
	s := open(t, p, &sender.Options{MaxInFlight: 1})
	ctx := testCtx(t)
	p.sendErr = errorpolicy.New(errorpolicy.CondMessageSizeExceeded, "too big", nil)
	_, err := s.SendAsync(ctx, msg(0))
	require.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded)
	assert.Equal(t, 0, s.InFlight())
	p.sendErr = nil
	go func() {
		<-p.arrived // the refused one never reached the peer
		p.settle(0, message.Accepted{})
	}()
	_, err = s.Send(ctx, msg(1))
	require.NoError(t, err)
}

func TestSettledModeNeedsNoOutcome(t *testing.T) {
	p := newPeer()
	s := open(t, p, &sender.Options{Mode: sender.Settled})
	ctx := testCtx(t)
	o, err := s.Send(ctx, msg(0))
	require.NoError(t, err)
	assert.Equal(t, message.Accepted{}, o)
	require.NoError(t, s.SendSettled(ctx, msg(1)))
	assert.Equal(t, 0, p.count(), "nothing awaits an outcome")
	p.mu.Lock()
	assert.Len(t, p.settled, 2)
	p.mu.Unlock()

	u := open(t, newPeer(), nil)
	assert.ErrorIs(t, u.SendSettled(ctx, msg(2)), errorpolicy.ErrInvalidOption)
}

func TestOptionsAreValidated(t *testing.T) {
	ctx := testCtx(t)
	sess, err := session.New(ctx, newPeer(), nil)
	require.NoError(t, err)
	defer sess.Close(ctx)
	for _, o := range []*sender.Options{{Mode: 9}, {MaxInFlight: -1}, {Timeout: -time.Second}} {
		_, err := sender.New(ctx, sess, "q", o)
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "%+v", o)
	}
	_, err = sender.New(ctx, sess, "", nil)
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "a target is required")
}
