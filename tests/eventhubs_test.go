package tests

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/eventhubs"
	"github.com/amqplink/amqplink/session"
)

// Event Hubs style partitions against amqptest: start positions, owner levels
// and resuming after a recovery.

func hub(t *testing.T, events int) (*amqptest.Server, *session.Session) {
	t.Helper()
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("telemetry", &amqptest.EventHubOptions{Partitions: 2})
	for i := range events {
		_, err := srv.PublishEvent("telemetry", "0", []byte(fmt.Sprintf("e%d", i)))
		require.NoError(t, err)
	}
	return srv, newSession(t, dial(t, srv.URL()))
}

func partitionReceiver(t *testing.T, sess *session.Session, o *eventhubs.PartitionOptions) *eventhubs.PartitionReceiver {
	t.Helper()
	pr, err := eventhubs.NewPartitionReceiver(testContext(t), sess, "telemetry", "$Default", "0", o)
	require.NoError(t, err)
	closeAtCleanup(t, pr.Close)
	return pr
}

// readN reads exactly n events and returns their bodies.
func readN(t *testing.T, pr *eventhubs.PartitionReceiver, n int) []string {
	t.Helper()
	ctx := testContext(t)
	var got []string
	for len(got) < n {
		events, err := pr.ReceiveEvents(ctx, n-len(got))
		require.NoError(t, err)
		for _, e := range events {
			got = append(got, string(e.Message.Body.Data[0]))
		}
	}
	return got
}

func TestPartitionReceiverStartPositions(t *testing.T) {
	_, sess := hub(t, 5)
	seq := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name string
		pos  eventhubs.StartPosition
		want []string
	}{
		{"earliest", eventhubs.StartPosition{}, []string{"e0", "e1", "e2", "e3", "e4"}},
		{"after sequence 2", eventhubs.StartPosition{SequenceNumber: seq(2)}, []string{"e3", "e4"}},
		{"at sequence 2", eventhubs.StartPosition{SequenceNumber: seq(2), Inclusive: true}, []string{"e2", "e3", "e4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := partitionReceiver(t, sess, &eventhubs.PartitionOptions{StartPosition: tc.pos})
			assert.Equal(t, tc.want, readN(t, pr, len(tc.want)))
			ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
			defer cancel()
			_, err := pr.ReceiveEvents(ctx, 1)
			require.ErrorIs(t, err, context.DeadlineExceeded, "nothing beyond the log")
		})
	}
}

func TestPartitionReceiverFromLatestSeesOnlyNewEvents(t *testing.T) {
	srv, sess := hub(t, 3)
	pr := partitionReceiver(t, sess, &eventhubs.PartitionOptions{StartPosition: eventhubs.StartPosition{Latest: true}})
	_, err := srv.PublishEvent("telemetry", "0", []byte("new"))
	require.NoError(t, err)
	events, err := pr.ReceiveEvents(testContext(t), 10)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, "new", string(events[0].Message.Body.Data[0]))
	assert.EqualValues(t, 3, events[0].SequenceNumber)
	assert.False(t, events[0].EnqueuedTime.IsZero())
}

func TestPartitionReceiverResumesAfterTheLastEventOnRecovery(t *testing.T) {
	var transfers atomic.Int64 // events the server sent
	srv := amqptest.NewTestServer(t, &amqptest.Options{Trace: func(f amqptest.Frame) {
		if f.Sent && strings.HasPrefix(f.Performative, "transfer") {
			transfers.Add(1)
		}
	}})
	srv.CreateEventHub("telemetry", &amqptest.EventHubOptions{Partitions: 2})
	for i := range 4 {
		_, err := srv.PublishEvent("telemetry", "0", []byte(fmt.Sprintf("e%d", i)))
		require.NoError(t, err)
	}
	sess := newSession(t, dial(t, srv.URL()))
	pr := partitionReceiver(t, sess, nil)
	assert.Equal(t, []string{"e0", "e1"}, readN(t, pr, 2))
	last, ok := pr.LastSequenceNumber()
	require.True(t, ok)
	require.EqualValues(t, 1, last)

	// e2 and e3 are in the receiver's buffer now; the recovery drops them and
	// the new link must start after e1, not at the beginning or after e3.
	require.Equal(t, 1, srv.DetachLinks("telemetry/ConsumerGroups/$Default/Partitions/0", "amqp:link:detach-forced", "test"))
	require.Eventually(t, func() bool { return transfers.Load() == 4+2 }, 5*time.Second, time.Millisecond,
		"the new link starts after e1: the server sends e2 and e3 again, not e0 and e1")
	_, err := srv.PublishEvent("telemetry", "0", []byte("e4"))
	require.NoError(t, err)
	assert.Equal(t, []string{"e2", "e3", "e4"}, readN(t, pr, 3))
	assert.EqualValues(t, 4+3, transfers.Load())
}

func TestHigherOwnerLevelStealsThePartition(t *testing.T) {
	_, sess := hub(t, 1)
	low, high := int64(1), int64(2)
	first := partitionReceiver(t, sess, &eventhubs.PartitionOptions{OwnerLevel: &low})
	assert.Equal(t, []string{"e0"}, readN(t, first, 1))

	second := partitionReceiver(t, sess, &eventhubs.PartitionOptions{OwnerLevel: &high})
	assert.Equal(t, []string{"e0"}, readN(t, second, 1))

	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the lower owner level was not detached")
	}
	require.ErrorIs(t, first.Err(), eventhubs.ErrOwnershipLost)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(first.Err()), "no retry")

	_, err := eventhubs.NewPartitionReceiver(testContext(t), sess, "telemetry", "$Default", "0",
		&eventhubs.PartitionOptions{OwnerLevel: &low})
	require.ErrorIs(t, err, eventhubs.ErrOwnershipLost, "a lower owner level is refused")
}

func TestEventHubProperties(t *testing.T) {
	_, sess := hub(t, 3)
	ctx := testContext(t)
	hp, err := eventhubs.GetHubProperties(ctx, sess, "telemetry")
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "1"}, hp.PartitionIDs)
	pp, err := eventhubs.GetPartitionProperties(ctx, sess, "telemetry", "0")
	require.NoError(t, err)
	assert.EqualValues(t, 2, pp.LastEnqueuedSequenceNumber)
	assert.False(t, pp.IsEmpty)
	_, err = eventhubs.GetPartitionProperties(ctx, sess, "telemetry", "9")
	require.ErrorIs(t, err, &errorpolicy.Error{Condition: errorpolicy.CondArgumentOutOfRange})
}
