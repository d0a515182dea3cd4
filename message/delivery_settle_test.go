package message_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// recordingSettler counts settlements and can fail them.
type recordingSettler struct {
	calls atomic.Int32
	last  atomic.Value
	fail  atomic.Bool
}

func (s *recordingSettler) Settle(_ context.Context, _ *message.Delivery, o message.Outcome) error {
	s.calls.Add(1)
	s.last.Store(o)
	if s.fail.Load() {
		return errors.New("link gone")
	}
	return nil
}

func TestDeliverySettlesOnceThroughItsLink(t *testing.T) {
	ctx := context.Background()
	outcomes := map[string]func(*message.Delivery) error{
		"accept":  func(d *message.Delivery) error { return d.Accept(ctx) },
		"release": func(d *message.Delivery) error { return d.Release(ctx) },
		"reject":  func(d *message.Delivery) error { return d.Reject(ctx, "amqp:precondition-failed", "bad") },
		"modify":  func(d *message.Delivery) error { return d.Modify(ctx, message.Modified{DeliveryFailed: true}) },
	}
	want := map[string]message.Outcome{
		"accept":  message.Accepted{},
		"release": message.Released{},
		"reject":  message.Rejected{Condition: "amqp:precondition-failed", Description: "bad"},
		"modify":  message.Modified{DeliveryFailed: true},
	}
	for name, settle := range outcomes {
		t.Run(name, func(t *testing.T) {
			s := &recordingSettler{}
			d := message.NewDelivery(message.NewText("x"), message.DeliveryInfo{Tag: []byte{1}}, s)
			require.False(t, d.Settled())
			require.NoError(t, settle(d))
			assert.True(t, d.Settled())
			assert.Equal(t, want[name], s.last.Load())
			err := d.Accept(ctx)
			assert.ErrorIs(t, err, errorpolicy.ErrAlreadySettled)
			assert.Equal(t, int32(1), s.calls.Load(), "the second settle never reached the link")
		})
	}
}

func TestConcurrentSettlesReachTheLinkOnce(t *testing.T) {
	s := &recordingSettler{}
	d := message.NewDelivery(message.NewText("x"), message.DeliveryInfo{}, s)
	var wg sync.WaitGroup
	var ok, already atomic.Int32
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := d.Accept(context.Background()); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, errorpolicy.ErrAlreadySettled):
				already.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	assert.Equal(t, int32(15), already.Load())
	assert.Equal(t, int32(1), s.calls.Load())
}

func TestFailedSettleCanBeRetried(t *testing.T) {
	s := &recordingSettler{}
	s.fail.Store(true)
	d := message.NewDelivery(message.NewText("x"), message.DeliveryInfo{}, s)
	require.Error(t, d.Accept(context.Background()))
	assert.False(t, d.Settled())
	s.fail.Store(false)
	require.NoError(t, d.Accept(context.Background()))
	assert.True(t, d.Settled())
}

func TestPresettledAndHandBuiltDeliveries(t *testing.T) {
	s := &recordingSettler{}
	pre := message.NewDelivery(message.NewText("x"), message.DeliveryInfo{Presettled: true}, s)
	assert.True(t, pre.Settled())
	err := pre.Reject(context.Background(), "", "")
	assert.ErrorIs(t, err, errorpolicy.ErrAlreadySettled)
	assert.Contains(t, err.Error(), "receive-and-delete")
	assert.Zero(t, s.calls.Load())

	hand := &message.Delivery{Message: message.NewText("x")}
	assert.ErrorIs(t, hand.Accept(context.Background()), errorpolicy.ErrNotSettleable, "no panic, a typed error")
}

func TestLockTokens(t *testing.T) {
	// .NET writes Guid 00112233-4455-6677-8899-aabbccddeeff with its first three
	// groups little-endian.
	guidBytes := []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	want := "00112233-4455-6677-8899-aabbccddeeff"

	d := message.NewDelivery(message.NewText("x"), message.DeliveryInfo{Tag: guidBytes}, nil)
	require.NotNil(t, d.LockToken)
	assert.Equal(t, want, d.LockToken.String())
	back := d.LockToken.GUIDBytes()
	assert.Equal(t, guidBytes, back[:])

	annotated := message.NewText("x")
	token := message.UUID{0xfe, 1}
	annotated.Annotations = message.Annotations{message.LockTokenAnnotation: token}
	d = message.NewDelivery(annotated, message.DeliveryInfo{Tag: guidBytes}, nil)
	require.NotNil(t, d.LockToken)
	assert.Equal(t, token, *d.LockToken, "the annotation wins over the tag")

	d = message.NewDelivery(message.NewText("x"), message.DeliveryInfo{Tag: []byte{1, 2, 3, 4}}, nil)
	assert.Nil(t, d.LockToken, "a 4-byte tag is no lock token")
}

func TestDeliveryCountFromHeader(t *testing.T) {
	m := message.NewText("x")
	m.Header = &message.Header{DeliveryCount: 2}
	d := message.NewDelivery(m, message.DeliveryInfo{}, nil)
	assert.Equal(t, uint32(2), d.DeliveryCount)
	assert.True(t, d.Redelivered)
	d = message.NewDelivery(message.NewText("x"), message.DeliveryInfo{}, nil)
	assert.False(t, d.Redelivered)
}
