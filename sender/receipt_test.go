package sender_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
)

// Done's channel is made only when someone asks before the outcome; every way
// of waiting sees the outcome however the calls and the completion interleave.
func TestReceiptDoneBeforeAndAfterTheOutcome(t *testing.T) {
	p := newPeer()
	s := open(t, p, nil)
	ctx := testCtx(t)
	early, err := s.SendAsync(ctx, msg(0))
	require.NoError(t, err)
	late, err := s.SendAsync(ctx, msg(1))
	require.NoError(t, err)

	done := early.Done()
	assert.True(t, done == early.Done(), "one channel per receipt")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-early.Done()
			o, err := early.Outcome()
			assert.NoError(t, err)
			assert.Equal(t, message.Accepted{}, o)
		}()
		go func() {
			defer wg.Done()
			o, err := early.Wait(ctx)
			assert.NoError(t, err)
			assert.Equal(t, message.Accepted{}, o)
		}()
	}
	select {
	case <-done:
		t.Fatal("done before the outcome")
	case <-time.After(10 * time.Millisecond):
	}
	_, err = early.Outcome()
	assert.ErrorIs(t, err, sender.ErrInFlight)

	p.settle(0, message.Accepted{})
	p.settle(1, message.Released{})
	wg.Wait()
	<-done
	_, err = late.Wait(ctx)
	require.Error(t, err, "released: an *OutcomeError, for a receipt nobody waited on before it completed")
	select {
	case <-late.Done():
	default:
		t.Fatal("a complete receipt's Done is closed")
	}
	o, _ := late.Outcome()
	assert.Equal(t, message.Released{}, o)
}
