package amqptest_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
)

// Event hubs, driven with raw go-amqp the way the Azure SDKs drive the service.

const ehSelector = "amqp.annotation.x-opt-%s %s '%s'"

// ehPartition is the receive address of a partition in a consumer group.
func ehPartition(hub, group, id string) string {
	return hub + "/ConsumerGroups/" + group + "/Partitions/" + id
}

// ehReceiver attaches a partition receiver with manual credit, as the SDK
// does; expr is the selector ("" for none) and epoch the owner level (nil for
// none).
func ehReceiver(t *testing.T, s *amqp.Session, address, expr string, epoch *int64) (*amqp.Receiver, error) {
	t.Helper()
	o := &amqp.ReceiverOptions{Credit: 100}
	if expr != "" {
		o.Filters = []amqp.LinkFilter{amqp.NewSelectorFilter(expr)}
	}
	if epoch != nil {
		o.Properties = map[string]any{"com.microsoft:epoch": *epoch}
	}
	return s.NewReceiver(testCtx(t), address, o)
}

// ehReceive takes n events and returns their bodies.
func ehReceive(t *testing.T, r *amqp.Receiver, n int) []string {
	t.Helper()
	ctx := testCtx(t)
	var got []string
	for range n {
		m, err := r.Receive(ctx, nil)
		require.NoError(t, err)
		got = append(got, string(m.GetData()))
	}
	return got
}

// ehPublish puts events with bodies prefix0, prefix1, … in a partition.
func ehPublish(t *testing.T, srv *amqptest.Server, hub, id, prefix string, n int) []amqptest.EventInfo {
	t.Helper()
	var out []amqptest.EventInfo
	for i := range n {
		e, err := srv.PublishEvent(hub, id, []byte(prefix+strconv.Itoa(i)))
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

func ehCond(t *testing.T, err error) amqp.ErrCond {
	t.Helper()
	var ae *amqp.Error
	require.ErrorAs(t, err, &ae)
	return ae.Condition
}

func TestEventHubSendSpreadsOverPartitionsOrTargetsOne(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 2})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)

	sendN(t, s, "hub", 4) // no key: round robin
	sendN(t, s, "hub/Partitions/1", 1)
	keyed, err := s.NewSender(ctx, "hub", nil)
	require.NoError(t, err)
	for i := range 3 {
		m := amqp.NewMessage([]byte("k" + strconv.Itoa(i)))
		m.Annotations = amqp.Annotations{"x-opt-partition-key": "tenant-7"}
		require.NoError(t, keyed.Send(ctx, m, nil))
	}

	info, ok := srv.EventHub("hub")
	require.True(t, ok)
	require.Len(t, info.Partitions, 2)
	counts := []int{info.Partitions[0].Events, info.Partitions[1].Events}
	assert.Equal(t, 8, counts[0]+counts[1])
	assert.Contains(t, [][]int{{5, 3}, {2, 6}}, counts, "2+2 round robin, 1 to partition 1, 3 keyed ones together")

	keyedPart, n := "0", counts[0]
	if counts[1] == 6 {
		keyedPart, n = "1", counts[1]
	}
	r, err := ehReceiver(t, s, ehPartition("hub", "$Default", keyedPart), "", nil)
	require.NoError(t, err)
	assert.Subset(t, ehReceive(t, r, n), []string{"k0", "k1", "k2"}, "one key, one partition")
}

func TestEventHubEventsCarryTheServiceAnnotations(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	snd, err := s.NewSender(ctx, "hub", nil)
	require.NoError(t, err)
	m := amqp.NewMessage([]byte("first"))
	m.Annotations = amqp.Annotations{"x-opt-partition-key": "k", "custom": "kept"}
	require.NoError(t, snd.Send(ctx, m, nil))
	require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("second")), nil))

	r, err := ehReceiver(t, s, ehPartition("hub", "$Default", "0"), "", nil)
	require.NoError(t, err)
	first, err := r.Receive(ctx, nil)
	require.NoError(t, err)
	second, err := r.Receive(ctx, nil)
	require.NoError(t, err)

	assert.Equal(t, int64(0), first.Annotations["x-opt-sequence-number"])
	assert.Equal(t, "0", first.Annotations["x-opt-offset"], "offsets are strings, as the service sends them")
	assert.Equal(t, "k", first.Annotations["x-opt-partition-key"])
	assert.Equal(t, "kept", first.Annotations["custom"])
	assert.IsType(t, time.Time{}, first.Annotations["x-opt-enqueued-time"])
	assert.Equal(t, int64(1), second.Annotations["x-opt-sequence-number"])
	off, err := strconv.Atoi(second.Annotations["x-opt-offset"].(string))
	require.NoError(t, err)
	assert.Positive(t, off, "an offset is a byte position in the partition")
	assert.NotContains(t, second.Annotations, "x-opt-partition-key")
}

func TestEventHubBatchStoresEachMessage(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 3})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	var sections [][]byte
	for i := range 3 {
		b, err := amqp.NewMessage([]byte("b" + strconv.Itoa(i))).MarshalBinary()
		require.NoError(t, err)
		sections = append(sections, b)
	}
	batch := &amqp.Message{Format: 0x80013700, Data: sections,
		Annotations: amqp.Annotations{"x-opt-partition-key": "batch-key"}}
	snd, err := s.NewSender(ctx, "hub", nil)
	require.NoError(t, err)
	require.NoError(t, snd.Send(ctx, batch, nil))

	info, _ := srv.EventHub("hub")
	part := ""
	for _, p := range info.Partitions {
		if p.Events > 0 {
			assert.Equal(t, 3, p.Events, "a batch stays in one partition")
			part = p.ID
		}
	}
	require.NotEmpty(t, part)
	r, err := ehReceiver(t, s, ehPartition("hub", "$Default", part), "", nil)
	require.NoError(t, err)
	for i := range 3 {
		m, err := r.Receive(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, "b"+strconv.Itoa(i), string(m.GetData()))
		assert.Equal(t, int64(i), m.Annotations["x-opt-sequence-number"])
		assert.Equal(t, "batch-key", m.Annotations["x-opt-partition-key"])
	}
}

func TestEventHubStartPositions(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	early := ehPublish(t, srv, "hub", "0", "e", 3)
	srv.FastForward(time.Second)
	late := ehPublish(t, srv, "hub", "0", "l", 2)
	_, s := dial(t, srv, nil)
	addr := ehPartition("hub", "$Default", "0")

	for _, tc := range []struct {
		name, expr string
		want       []string
	}{
		{"no filter", "", []string{"e0", "e1", "e2", "l0", "l1"}},
		{"earliest", fmt.Sprintf(ehSelector, "offset", ">", "-1"), []string{"e0", "e1", "e2", "l0", "l1"}},
		{"offset exclusive", fmt.Sprintf(ehSelector, "offset", ">", early[1].Offset), []string{"e2", "l0", "l1"}},
		{"offset inclusive", fmt.Sprintf(ehSelector, "offset", ">=", early[1].Offset), []string{"e1", "e2", "l0", "l1"}},
		{"sequence number exclusive", fmt.Sprintf(ehSelector, "sequence-number", ">", "2"), []string{"l0", "l1"}},
		{"sequence number inclusive", fmt.Sprintf(ehSelector, "sequence-number", ">=", "2"), []string{"e2", "l0", "l1"}},
		{"enqueued time", fmt.Sprintf(ehSelector, "enqueued-time", ">", strconv.FormatInt(early[2].EnqueuedTime.UnixMilli(), 10)), []string{"l0", "l1"}},
		{"enqueued time inclusive", fmt.Sprintf(ehSelector, "enqueued-time", ">=", strconv.FormatInt(late[0].EnqueuedTime.UnixMilli(), 10)), []string{"l0", "l1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ehReceiver(t, s, addr, tc.expr, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ehReceive(t, r, len(tc.want)))
			require.NoError(t, r.Close(testCtx(t)))
		})
	}

	t.Run("latest", func(t *testing.T) {
		r, err := ehReceiver(t, s, addr, fmt.Sprintf(ehSelector, "offset", ">", "@latest"), nil)
		require.NoError(t, err)
		ehPublish(t, srv, "hub", "0", "new", 1)
		assert.Equal(t, []string{"new0"}, ehReceive(t, r, 1), "nothing from before the attach")
	})
}

func TestEventHubNewEventsWakeAWaitingReceiver(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", nil)
	_, s := dial(t, srv, nil)
	r, err := ehReceiver(t, s, ehPartition("hub", "$Default", "3"), "", nil)
	require.NoError(t, err)
	got := make(chan string, 1)
	go func() {
		m, err := r.Receive(testCtx(t), nil)
		if err == nil {
			got <- string(m.GetData())
		}
		close(got)
	}()
	_, err = srv.PublishEvent("hub", "3", []byte("wake"))
	require.NoError(t, err)
	assert.Equal(t, "wake", <-got)
}

func TestEventHubConsumerGroupsReadIndependently(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 2})
	ehPublish(t, srv, "hub", "1", "e", 3)
	_, s := dial(t, srv, nil)

	a, err := ehReceiver(t, s, ehPartition("hub", "$Default", "1"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"e0", "e1", "e2"}, ehReceive(t, a, 3))
	b, err := ehReceiver(t, s, ehPartition("hub", "analytics", "1"), "", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"e0", "e1", "e2"}, ehReceive(t, b, 3), "reading in one group takes nothing from another")

	info, _ := srv.EventHub("hub")
	assert.Equal(t, []string{"$Default", "analytics"}, info.ConsumerGroups)
	assert.Equal(t, 3, info.Partitions[1].Events, "events are never removed")
	assert.Equal(t, 2, info.Partitions[1].Receivers)
}

func TestEventHubFixedConsumerGroups(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{ConsumerGroups: []string{"known"}})
	_, s := dial(t, srv, nil)
	_, err := ehReceiver(t, s, ehPartition("hub", "known", "0"), "", nil)
	require.NoError(t, err)
	_, err = ehReceiver(t, s, ehPartition("hub", "unknown", "0"), "", nil)
	assert.Equal(t, amqp.ErrCondNotFound, ehCond(t, err))
}

func TestEventHubReattachResumesAfterTheLastEvent(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	ehPublish(t, srv, "hub", "0", "a", 3)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	addr := ehPartition("hub", "$Default", "0")

	r, err := ehReceiver(t, s, addr, "", nil)
	require.NoError(t, err)
	m, err := r.Receive(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, r.AcceptMessage(ctx, m))
	last := m.Annotations["x-opt-sequence-number"].(int64)
	m, err = r.Receive(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, r.ReleaseMessage(ctx, m), "settlement does not touch the log")
	last = m.Annotations["x-opt-sequence-number"].(int64)
	require.NoError(t, r.Close(ctx))
	ehPublish(t, srv, "hub", "0", "b", 2)

	// As the Go SDK does after a receive: resume at sequence-number > last.
	r, err = ehReceiver(t, s, addr, fmt.Sprintf(ehSelector, "sequence-number", ">", strconv.FormatInt(last, 10)), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a2", "b0", "b1"}, ehReceive(t, r, 3))
	ehPublish(t, srv, "hub", "0", "c", 1)
	assert.Equal(t, []string{"c0"}, ehReceive(t, r, 1), "nothing released comes back")
	info, _ := srv.EventHub("hub")
	assert.Equal(t, 6, info.Partitions[0].Events)
}

func TestEventHubSettlementModes(t *testing.T) {
	var mu sync.Mutex
	var transfers []string
	srv := amqptest.NewTestServer(t, &amqptest.Options{Trace: func(f amqptest.Frame) {
		if f.Sent && strings.HasPrefix(f.Performative, "transfer(") {
			mu.Lock()
			transfers = append(transfers, f.Performative)
			mu.Unlock()
		}
	}})
	taken := func() []string { // the transfers sent since the last call
		mu.Lock()
		defer mu.Unlock()
		out := transfers
		transfers = nil
		return out
	}
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	ehPublish(t, srv, "hub", "0", "e", 2)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	addr := ehPartition("hub", "$Default", "0")
	settledMode := amqp.SenderSettleModeSettled
	r, err := s.NewReceiver(ctx, addr, &amqp.ReceiverOptions{Credit: 10, RequestedSenderSettleMode: &settledMode})
	require.NoError(t, err)
	assert.Equal(t, []string{"e0", "e1"}, ehReceive(t, r, 2))
	sent := taken()
	require.Len(t, sent, 2)
	for _, tr := range sent {
		assert.Contains(t, tr, "settled", "snd-settle-mode settled: sent settled")
	}

	r, err = ehReceiver(t, s, addr, "", nil)
	require.NoError(t, err)
	for range 2 {
		m, err := r.Receive(ctx, nil)
		require.NoError(t, err)
		require.NoError(t, r.RejectMessage(ctx, m, nil))
	}
	sent = taken()
	require.Len(t, sent, 2)
	for _, tr := range sent {
		assert.NotContains(t, tr, "settled", "snd-settle-mode mixed: sent unsettled")
	}
	_, dead := srv.Queue(addr + amqptest.DeadLetterSuffix)
	assert.False(t, dead, "a rejected event goes nowhere")
	info, _ := srv.EventHub("hub")
	assert.Equal(t, 2, info.Partitions[0].Events, "and stays in the log")
}

func TestEventHubDrain(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	ehPublish(t, srv, "hub", "0", "e", 2)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	r, err := s.NewReceiver(ctx, ehPartition("hub", "$Default", "0"), &amqp.ReceiverOptions{Credit: -1})
	require.NoError(t, err)
	require.NoError(t, r.IssueCredit(5))
	assert.Equal(t, []string{"e0", "e1"}, ehReceive(t, r, 2))
	require.NoError(t, r.DrainCredit(ctx, nil), "the rest of the credit is used up and answered")
	ehPublish(t, srv, "hub", "0", "late", 1)
	require.NoError(t, r.IssueCredit(1))
	assert.Equal(t, []string{"late0"}, ehReceive(t, r, 1))
}

func TestEventHubEpochs(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	addr := ehPartition("hub", "$Default", "0")
	epoch := func(n int64) *int64 { return &n }

	plain, err := ehReceiver(t, s, addr, "", nil)
	require.NoError(t, err)
	low, err := ehReceiver(t, s, addr, "", epoch(1))
	require.NoError(t, err)
	_, err = plain.Receive(ctx, nil)
	assert.Equal(t, amqp.ErrCond("amqp:link:stolen"), ehCond(t, err), "an epoch receiver takes over from one with none")
	var le *amqp.LinkError
	assert.ErrorAs(t, err, &le)

	_, err = ehReceiver(t, s, addr, "", nil)
	assert.Equal(t, amqp.ErrCond("amqp:link:stolen"), ehCond(t, err), "no epoch while an epoch receiver reads")

	high, err := ehReceiver(t, s, addr, "", epoch(5))
	require.NoError(t, err)
	_, err = low.Receive(ctx, nil)
	require.ErrorAs(t, err, &le)
	require.NotNil(t, le.RemoteErr)
	assert.Equal(t, amqp.ErrCond("amqp:link:stolen"), le.RemoteErr.Condition)

	_, err = ehReceiver(t, s, addr, "", epoch(4))
	assert.Equal(t, amqp.ErrCond("amqp:link:stolen"), ehCond(t, err), "a lower epoch is refused")

	same, err := ehReceiver(t, s, addr, "", epoch(5))
	require.NoError(t, err, "an equal epoch takes over")
	_, err = high.Receive(ctx, nil)
	assert.Equal(t, amqp.ErrCond("amqp:link:stolen"), ehCond(t, err))

	other, err := ehReceiver(t, s, ehPartition("hub", "other", "0"), "", nil)
	require.NoError(t, err, "epochs are per consumer group")
	ehPublish(t, srv, "hub", "0", "e", 1)
	assert.Equal(t, []string{"e0"}, ehReceive(t, same, 1))
	assert.Equal(t, []string{"e0"}, ehReceive(t, other, 1))
}

func TestEventHubPlainReceiversShareUpToFive(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 1})
	_, s := dial(t, srv, nil)
	addr := ehPartition("hub", "$Default", "0")
	for range 5 {
		_, err := ehReceiver(t, s, addr, "", nil)
		require.NoError(t, err)
	}
	_, err := ehReceiver(t, s, addr, "", nil)
	assert.Equal(t, amqp.ErrCondResourceLimitExceeded, ehCond(t, err))
}

func TestEventHubRefusedAttaches(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 2})
	ehPublish(t, srv, "hub", "0", "e", 2)
	_, s := dial(t, srv, nil)
	ctx := testCtx(t)
	addr := ehPartition("hub", "$Default", "0")

	for _, expr := range []string{
		"amqp.annotation.x-opt-offset < '5'",
		"amqp.annotation.x-opt-color > '5'",
		"amqp.annotation.x-opt-offset > 'five'",
		"amqp.annotation.x-opt-offset >= '@latest'",
	} {
		_, err := ehReceiver(t, s, addr, expr, nil)
		assert.Equal(t, amqp.ErrCond("amqp:invalid-field"), ehCond(t, err), expr)
	}
	_, err := ehReceiver(t, s, addr, fmt.Sprintf(ehSelector, "sequence-number", ">", "7"), nil)
	assert.Equal(t, amqp.ErrCond("com.microsoft:argument-out-of-range"), ehCond(t, err), "past the last sequence number")
	_, err = ehReceiver(t, s, ehPartition("hub", "$Default", "9"), "", nil)
	assert.Equal(t, amqp.ErrCond("com.microsoft:argument-out-of-range"), ehCond(t, err), "no such partition")
	_, err = s.NewReceiver(ctx, "hub", nil)
	assert.Equal(t, amqp.ErrCondNotAllowed, ehCond(t, err), "receive from a partition")
	_, err = s.NewSender(ctx, "hub/Partitions/2", nil)
	assert.Equal(t, amqp.ErrCond("com.microsoft:argument-out-of-range"), ehCond(t, err))

	r, err := ehReceiver(t, s, addr, "", nil)
	require.NoError(t, err, "the session goes on after refusals")
	assert.Equal(t, []string{"e0", "e1"}, ehReceive(t, r, 2))
}

// ehManagement sends one request to $management and returns the response.
func ehManagement(t *testing.T, s *amqp.Session, props map[string]any) *amqp.Message {
	t.Helper()
	ctx := testCtx(t)
	snd, err := s.NewSender(ctx, "$management", nil)
	require.NoError(t, err)
	defer snd.Close(ctx)
	rcv, err := s.NewReceiver(ctx, "$management", &amqp.ReceiverOptions{TargetAddress: "reply-1", Credit: 1})
	require.NoError(t, err)
	defer rcv.Close(ctx)
	replyTo := "reply-1"
	req := &amqp.Message{Properties: &amqp.MessageProperties{MessageID: "req-1", ReplyTo: &replyTo},
		ApplicationProperties: props, Value: nil}
	require.NoError(t, snd.Send(ctx, req, nil))
	resp, err := rcv.Receive(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, rcv.AcceptMessage(ctx, resp))
	assert.Equal(t, "req-1", resp.Properties.CorrelationID)
	return resp
}

func TestEventHubManagementRead(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 2})
	events := ehPublish(t, srv, "hub", "1", "e", 3)
	_, s := dial(t, srv, nil)

	resp := ehManagement(t, s, map[string]any{"operation": "READ", "type": "com.microsoft:eventhub", "name": "hub"})
	assert.Equal(t, int32(200), resp.ApplicationProperties["status-code"])
	body := resp.Value.(map[string]any)
	assert.Equal(t, "hub", body["name"])
	assert.Equal(t, int32(2), body["partition_count"])
	assert.Equal(t, []string{"0", "1"}, body["partition_ids"])
	info, _ := srv.EventHub("hub")
	assert.True(t, info.CreatedAt.Equal(body["created_at"].(time.Time)))

	resp = ehManagement(t, s, map[string]any{"operation": "READ", "type": "com.microsoft:partition", "name": "hub", "partition": "1"})
	assert.Equal(t, int32(200), resp.ApplicationProperties["status-code"])
	body = resp.Value.(map[string]any)
	assert.Equal(t, "1", body["partition"])
	assert.Equal(t, int64(0), body["begin_sequence_number"])
	assert.Equal(t, int64(2), body["last_enqueued_sequence_number"])
	assert.Equal(t, events[2].Offset, body["last_enqueued_offset"])
	assert.True(t, events[2].EnqueuedTime.Equal(body["last_enqueued_time_utc"].(time.Time)))
	assert.Equal(t, false, body["is_partition_empty"])

	resp = ehManagement(t, s, map[string]any{"operation": "READ", "type": "com.microsoft:partition", "name": "hub", "partition": "0"})
	body = resp.Value.(map[string]any)
	assert.Equal(t, true, body["is_partition_empty"])
	assert.Equal(t, int64(-1), body["last_enqueued_sequence_number"])

	resp = ehManagement(t, s, map[string]any{"operation": "READ", "type": "com.microsoft:partition", "name": "hub", "partition": "7"})
	assert.Equal(t, int32(400), resp.ApplicationProperties["status-code"])
	assert.Equal(t, "com.microsoft:argument-out-of-range", resp.ApplicationProperties["error-condition"])

	resp = ehManagement(t, s, map[string]any{"operation": "READ", "type": "com.microsoft:eventhub", "name": "nohub"})
	assert.Equal(t, int32(404), resp.ApplicationProperties["status-code"])
}

func TestPublishEventErrors(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	srv.CreateEventHub("hub", &amqptest.EventHubOptions{Partitions: 2})
	_, err := srv.PublishEvent("nohub", "0", nil)
	assert.Error(t, err)
	_, err = srv.PublishEvent("hub", "2", nil)
	assert.Error(t, err)
	a, err := srv.PublishEvent("hub", "", nil)
	require.NoError(t, err)
	b, err := srv.PublishEvent("hub", "", nil)
	require.NoError(t, err)
	assert.NotEqual(t, a.Partition, b.Partition, "round robin")
	_, ok := srv.EventHub("nohub")
	assert.False(t, ok)
}
