package amqp091

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/message"
)

// consumingLink is a receiver link whose consumer is the channel it returns,
// without a broker: what the tests send there is what amqp091-go would hand
// over.
func consumingLink(t testing.TB, noAck bool) (*receiverLink, chan amqp.Delivery) {
	t.Helper()
	ch := &channel{dead: make(chan struct{}), cancelled: map[string]bool{}, cancelSignal: make(chan struct{})}
	r := &receiverLink{ch: ch, queue: "q", noAck: noAck, wake: make(chan struct{}, 1)}
	deliveries := make(chan amqp.Delivery, 16)
	r.mu.Lock()
	r.consumer = &consumer{tag: "ctag", deliveries: deliveries}
	r.setLive()
	r.mu.Unlock()
	return r, deliveries
}

func tagOf(t testing.TB, d *message.Delivery) uint64 {
	t.Helper()
	tag, ok := DeliveryTag(d)
	require.True(t, ok)
	return tag
}

func shortly(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

func TestReceiveHandsOutNoMoreThanTheCredit(t *testing.T) {
	r, deliveries := consumingLink(t, false)
	for i := range 5 {
		deliveries <- amqp.Delivery{DeliveryTag: uint64(i + 1), RoutingKey: "q", Body: []byte{byte(i)}}
	}
	require.NoError(t, r.IssueCredit(3))
	for want := uint64(1); want <= 3; want++ {
		d, err := r.Receive(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want, tagOf(t, d))
	}
	_, err := r.Receive(shortly(t))
	require.ErrorIs(t, err, context.DeadlineExceeded, "no credit left: the next delivery waits")
	_, err = r.Receive(doneCtx())
	require.ErrorIs(t, err, context.Canceled, "an ended context takes nothing beyond the credit either")

	require.NoError(t, r.IssueCredit(2))
	for want := uint64(4); want <= 5; want++ {
		d, err := r.Receive(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want, tagOf(t, d))
	}
	assert.Equal(t, int64(0), r.credit.Load())
}

func TestReceiveWakesWhenCreditArrives(t *testing.T) {
	r, deliveries := consumingLink(t, true)
	deliveries <- amqp.Delivery{DeliveryTag: 1}
	got := make(chan *message.Delivery)
	go func() {
		d, err := r.Receive(context.Background())
		assert.NoError(t, err)
		got <- d
	}()
	select {
	case <-got:
		t.Fatal("a delivery was handed out without credit")
	case <-time.After(20 * time.Millisecond):
	}
	require.NoError(t, r.IssueCredit(1))
	select {
	case d := <-got:
		assert.Equal(t, uint64(1), tagOf(t, d))
		assert.True(t, d.Presettled)
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not wake for the credit")
	}
}

// doneCtx is an ended context, as the receiver passes to take what is buffered.
func doneCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestReceiveReturnsWhatIsBufferedEvenWhenCtxHasEnded(t *testing.T) {
	r, deliveries := consumingLink(t, false)
	require.NoError(t, r.IssueCredit(10))
	deliveries <- amqp.Delivery{DeliveryTag: 1}
	d, err := r.Receive(doneCtx())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), tagOf(t, d))
	_, err = r.Receive(doneCtx())
	assert.ErrorIs(t, err, context.Canceled)
}

func TestReceiveHandsOutTheStashFirst(t *testing.T) {
	r, deliveries := consumingLink(t, false)
	r.mu.Lock()
	r.stash = []amqp.Delivery{{DeliveryTag: 1}, {DeliveryTag: 2}}
	r.setLive()
	r.mu.Unlock()
	require.Nil(t, r.live.Load(), "with a stash Receive goes the long way")
	deliveries <- amqp.Delivery{DeliveryTag: 3}
	deliveries <- amqp.Delivery{DeliveryTag: 4}
	require.NoError(t, r.IssueCredit(4))
	for want := uint64(1); want <= 4; want++ {
		d, err := r.Receive(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want, tagOf(t, d))
		if want == 2 {
			assert.NotNil(t, r.live.Load(), "the stash is empty: the consumer is live again")
		}
	}
}

func TestReceiveAfterTheConsumerWasCancelledByThisClient(t *testing.T) {
	r, deliveries := consumingLink(t, false)
	require.NoError(t, r.IssueCredit(5))
	c := r.live.Load()
	require.NotNil(t, c)
	deliveries <- amqp.Delivery{DeliveryTag: 1}
	r.mu.Lock()
	r.draining = true // as Drain does; it starts the next consumer, if any, itself
	r.mu.Unlock()
	c.cancelled.Store(true)
	close(deliveries)
	d, err := r.Receive(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uint64(1), tagOf(t, d), "what the consumer sent within the credit is still handed out")
	_, err = r.Receive(shortly(t))
	require.ErrorIs(t, err, context.DeadlineExceeded, "a drained consumer is gone; Receive waits for the next")
	assert.Nil(t, r.live.Load())
	r.mu.Lock()
	assert.Nil(t, r.consumer)
	r.mu.Unlock()
}

func TestReceiveWhenTheChannelClosed(t *testing.T) {
	r, deliveries := consumingLink(t, false)
	require.NoError(t, r.IssueCredit(5))
	r.ch.err = errors.New("channel closed")
	close(r.ch.dead)
	close(deliveries)
	_, err := r.Receive(context.Background())
	require.Error(t, err)
	assert.Equal(t, r.ch.err, err)
	_, err = r.Receive(context.Background())
	assert.Equal(t, r.ch.err, err, "the link's end is sticky")
	assert.Nil(t, r.live.Load())
}

func TestDeliveriesKeepTheirOwnAnnotationsAndTag(t *testing.T) {
	r, deliveries := consumingLink(t, true)
	require.NoError(t, r.IssueCredit(100))
	keys := []string{"a", "a", "a", "b", "a", "b", "b", "b"}
	for i, k := range keys {
		deliveries <- amqp.Delivery{DeliveryTag: uint64(i + 1), Exchange: "x", RoutingKey: k, ConsumerTag: "ctag"}
	}
	var got []*message.Delivery
	for range keys {
		d, err := r.Receive(context.Background())
		require.NoError(t, err)
		got = append(got, d)
	}
	for i, d := range got {
		assert.Equal(t, message.Annotations{AnnotationExchange: "x", AnnotationRoutingKey: keys[i]}, d.Message.Annotations, "delivery %d", i)
	}
	got[0].Message.Annotations["mine"] = true
	got[0].Message.Annotations[AnnotationRoutingKey] = "changed"
	assert.Equal(t, message.Annotations{AnnotationExchange: "x", AnnotationRoutingKey: "a"}, got[1].Message.Annotations,
		"a delivery's annotations are its own")
	deliveries <- amqp.Delivery{DeliveryTag: 99, Exchange: "x", RoutingKey: "b"}
	d, err := r.Receive(context.Background())
	require.NoError(t, err)
	assert.Equal(t, message.Annotations{AnnotationExchange: "x", AnnotationRoutingKey: "b"}, d.Message.Annotations)

	d.Tag[7] = 0 // a caller scribbling on Tag does not change what is settled
	assert.Equal(t, uint64(99), tagOf(t, d))
	ctag, _ := ConsumerTag(d)
	assert.Equal(t, "", ctag)
	ctag, _ = ConsumerTag(got[0])
	assert.Equal(t, "ctag", ctag)
}

func TestAnnotationCacheFollowsTheRoutingKeys(t *testing.T) {
	var c annotationCache
	for i := range 3 * annotationRefresh {
		key := "k" + string(rune('a'+i%2)) // alternating: the cache cannot help
		assert.Equal(t, message.Annotations{AnnotationExchange: "", AnnotationRoutingKey: key}, c.annotations("", key))
	}
	for range 2 * annotationRefresh { // settles on a steady key within a refresh period
		assert.Equal(t, message.Annotations{AnnotationExchange: "e", AnnotationRoutingKey: "steady"}, c.annotations("e", "steady"))
	}
	tmpl := c.last.Load()
	require.NotNil(t, tmpl)
	assert.Equal(t, "steady", tmpl.key)
	a := c.annotations("e", "steady")
	a[AnnotationExchange] = "scribbled"
	assert.Equal(t, "e", tmpl.ann[AnnotationExchange], "the cached map is never handed out")
}

func TestDeliveryPropertiesPointToTheirValues(t *testing.T) {
	ts := time.Unix(1_700_000_000, 0)
	m := fromDelivery(&amqp.Delivery{Priority: 3, ReplyTo: "r", ContentType: "text/plain", Timestamp: ts, Body: []byte("b")})
	require.NotNil(t, m.Header.Priority)
	assert.Equal(t, uint8(3), *m.Header.Priority)
	assert.Equal(t, "r", *m.Properties.ReplyTo)
	assert.Equal(t, "text/plain", *m.Properties.ContentType)
	assert.Nil(t, m.Properties.ContentEncoding)
	assert.True(t, ts.Equal(*m.Properties.CreationTime))
	bare := fromDelivery(&amqp.Delivery{Body: []byte("b")})
	require.NotNil(t, bare.Header)
	require.NotNil(t, bare.Properties)
	assert.Nil(t, bare.Header.Priority)
	assert.Nil(t, bare.Properties.ReplyTo)
	assert.Nil(t, bare.Properties.ContentType)
	assert.Nil(t, bare.Properties.CreationTime)
	assert.Equal(t, [][]byte{[]byte("b")}, bare.Body.Data)
}

func TestConsumerTagsAreShortAndUniqueOnTheChannel(t *testing.T) {
	ch := &channel{}
	seen := map[string]bool{}
	for range 100 {
		tag := consumerTag(ch, "amqplink-rcv-0123456789abcdef")
		assert.False(t, seen[tag], tag)
		seen[tag] = true
		assert.LessOrEqual(t, len(tag), 32, tag)
	}
}

// BenchmarkNewDelivery is the driver's cost per delivery: the neutral message
// and the delivery around it (raw amqp091-go has neither).
func BenchmarkNewDelivery(b *testing.B) {
	d := &amqp.Delivery{Body: []byte("1234"), RoutingKey: "amqplink-queue-1234567890", ConsumerTag: "ctag-1", DeliveryTag: 7}
	var names annotationCache
	b.ReportAllocs()
	for b.Loop() {
		_ = newDelivery(d, nil, true, nil, &names)
	}
}

// BenchmarkReceive takes deliveries through Receive as the receiver's pump
// does, from a goroutine that hands them over one at a time as amqp091-go's
// consumer buffer does.
func BenchmarkReceive(b *testing.B) {
	r, _ := consumingLink(b, true)
	deliveries := make(chan amqp.Delivery)
	r.consumer.deliveries = deliveries
	r.setLive()
	r.credit.Store(1 << 62)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := uint64(1); ; i++ {
			select {
			case deliveries <- amqp.Delivery{DeliveryTag: i, RoutingKey: "amqplink-queue-1234567890", ConsumerTag: "ctag-1", Body: []byte("1234")}:
			case <-stop:
				return
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
