package tests

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

// What RabbitMQ 3.10's AMQP 1.0 plugin does wrong, and how the client copes: a
// clear typed error, links on other sessions unharmed, and no hang.

// requireWorks proves a session still moves messages.
func requireWorks(t *testing.T, sess *session.Session, admin *brokertest.Admin) {
	t.Helper()
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sendAll(t, sess, queueAddress(q.Name), message.NewText("still working"))
	_, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
	require.NoError(t, d.Accept(ctx))
}

func TestRabbitMQAttachToMissingQueue(t *testing.T) {
	client, admin, _ := rabbit(t)
	ctx := testContext(t)
	other := newSession(t, client)
	sess := newSession(t, client)
	q := admin.NewQueue(brokertest.QueueOptions{})
	busy, err := other.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
	require.NoError(t, err)
	closeAtCleanup(t, busy.Close)

	start := time.Now()
	_, err = sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress("amqplink-no-such-queue")})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.ErrorIs(t, err, errorpolicy.ErrNotFound)
	var e *errorpolicy.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, errorpolicy.Fatal, e.Class, "a missing address will not appear by retrying")
	assert.True(t, e.Remote)

	// The refusal ended the session on the broker's side; the session begins a new
	// one for the next attach, and the other session's link never noticed.
	requireWorks(t, sess, admin)
	sendAll(t, other, queueAddress(q.Name), message.NewText("other session"))
	require.NoError(t, busy.IssueCredit(1))
	d, err := busy.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, d.Accept(ctx))
}

func TestRabbitMQReceiverSettleSecondRefused(t *testing.T) {
	client, admin, _ := rabbit(t)
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	other := newSession(t, client)
	sess := newSession(t, client)

	_, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name), ReceiverSettle: link.ReceiverSecond})
	require.Error(t, err)
	assert.ErrorIs(t, err, errorpolicy.ErrNotImplemented)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err))

	requireWorks(t, sess, admin)
	requireWorks(t, other, admin)
}

// RabbitMQ answers the modified outcome by ending the session with
// amqp:invalid-field; the message returns to the queue.
func TestRabbitMQModifiedEndsSession(t *testing.T) {
	client, admin, _ := rabbit(t)
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	other := newSession(t, client)
	sess := newSession(t, client)
	sendAll(t, other, queueAddress(q.Name), message.NewText("modify me"))

	rcv, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
	require.NoError(t, d.Modify(ctx, message.Modified{DeliveryFailed: true}), "the disposition is written; the peer answers later")

	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := rcv.Receive(rctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidField)
	var e *errorpolicy.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, errorpolicy.ScopeSession, e.Scope)
	assert.True(t, e.Remote)
	assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "the message is back in the queue")

	requireWorks(t, other, admin)
}

// Delivery annotations on a sent message make RabbitMQ close the connection.
func TestRabbitMQDeliveryAnnotationsCloseConnection(t *testing.T) {
	_, admin, url := rabbit(t)
	ctx := testContext(t)
	victim := dialWith(t, url, &amqplink.Options{NoRecovery: true}) // to see it end
	bystander := dial(t, url)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sess := newSession(t, victim)

	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress(q.Name)})
	require.NoError(t, err)
	m := message.NewText("annotated")
	m.DeliveryAnnotations = message.Annotations{"x-opt-hop": "one"}
	r, err := snd.Send(ctx, m, false)
	if err == nil {
		_, err = r.Wait(ctx)
	}
	require.Error(t, err, "the send cannot succeed")
	select {
	case <-victim.Done():
	case <-ctx.Done():
		t.Fatal("the connection did not end")
	}
	var e *errorpolicy.Error
	require.ErrorAs(t, victim.Err(), &e)
	assert.Equal(t, errorpolicy.ScopeConn, e.Scope)
	assert.Equal(t, errorpolicy.RecoverConn, e.Class)
	assert.True(t, errorpolicy.IsRetriable(err) || errors.Is(err, errorpolicy.ErrOutcomeUnknown), "got %v", err)

	requireWorks(t, newSession(t, bystander), admin)
}

// RabbitMQ answers a closing detach with a non-closing one; go-amqp would wait out
// the whole deadline. The client must return promptly, and the link must be gone.
func TestRabbitMQLinkCloseIsPrompt(t *testing.T) {
	client, admin, _ := rabbit(t)
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sess := newSession(t, client)
	sendAll(t, sess, queueAddress(q.Name), message.NewText("held"))

	for _, shared := range []bool{false, true} {
		var keep link.SenderLink
		if shared { // another link on the same session keeps it open
			var err error
			keep, err = sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress(q.Name)})
			require.NoError(t, err)
		}
		rcv, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
		assert.Equal(t, 0, admin.Ready(q.Name))
		start := time.Now()
		require.NoError(t, rcv.Close(ctx))
		assert.Less(t, time.Since(start), 3*time.Second, "close returned promptly (shared session: %t)", shared)
		assert.False(t, d.Settled())
		if !shared {
			// The broker released the unsettled delivery when the link ended.
			assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1))
		}
		if keep != nil {
			start = time.Now()
			require.NoError(t, keep.Close(ctx))
			assert.Less(t, time.Since(start), 3*time.Second)
			assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "the last close ended the session, releasing the delivery")
		}
	}
	requireWorks(t, sess, admin)
}

// A sender to a missing /amq/queue/X has every message accepted and dropped by
// RabbitMQ 3.10: an accepted outcome is not proof of arrival there. The test pins
// that down, so that the docs' warning stays true.
func TestRabbitMQSenderToMissingQueueIsAcceptedAndDropped(t *testing.T) {
	client, admin, _ := rabbit(t)
	sess := newSession(t, client)
	name := "amqplink-missing-" + time.Now().Format("150405.000000")
	sendAll(t, sess, queueAddress(name), message.NewText("into the void"))
	assert.False(t, admin.Exists(name), "the queue was not created")
	requireWorks(t, sess, admin)
}

// RabbitMQ 3.x never answers a link's closing detach, so go-amqp keeps the
// closed link's name on its session while another link holds that session
// open. Attaching a link of the same name again (what a receiver's recovery
// does) must still work: the driver begins a new session for it.
func TestRabbitMQReattachSameNameWhileTheSessionLives(t *testing.T) {
	client, admin, _ := rabbit(t)
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sess := newSession(t, client)
	keep, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress(q.Name)})
	require.NoError(t, err)
	closeAtCleanup(t, keep.Close)

	o := link.ReceiverOptions{Name: link.UniqueName("reattach"), Source: queueAddress(q.Name)}
	first, err := sess.NewReceiverLink(ctx, o)
	require.NoError(t, err)
	require.NoError(t, first.Close(ctx))

	again, err := sess.NewReceiverLink(ctx, o)
	require.NoError(t, err, "a link of the same name attaches again")
	closeAtCleanup(t, again.Close)
	sendAll(t, sess, queueAddress(q.Name), message.NewText("after"))
	require.NoError(t, again.IssueCredit(1))
	d, err := again.Receive(ctx)
	require.NoError(t, err)
	text, err := d.Message.Text()
	require.NoError(t, err)
	assert.Equal(t, "after", text)
	require.NoError(t, d.Accept(ctx))

	// The sender on the first session still works, and closing everything
	// leaves no session behind that holds the delivery.
	r, err := keep.Send(ctx, message.NewText("still"), false)
	require.NoError(t, err)
	o2, err := r.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, message.Accepted{}, o2)
	require.NoError(t, keep.Close(ctx))
	require.NoError(t, again.Close(ctx))
	assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1))
}
