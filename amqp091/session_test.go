package amqp091

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/link"
)

// A channel exception reaches the channel's watcher a moment after the call
// that caused it returns; a link attached in that moment gets a new channel.
func TestTheLinkAfterAChannelExceptionGetsANewChannel(t *testing.T) {
	b := newFakeBroker(t)
	b.on(50, 10, func(fc *fbConn, ch uint16, args []byte) {
		q, _ := shortstrAt(args, 2)
		if q == "missing" {
			fc.method(ch, 20, 40, func(e *enc) { e.u16(404); e.short("NOT_FOUND - no queue 'missing'"); e.u16(50); e.u16(10) })
			return
		}
		fc.method(ch, 50, 11, func(e *enc) { e.short(q); e.u32(0); e.u32(0) })
	})
	b.on(20, 41, func(*fbConn, uint16, []byte) {})
	c := dialFake(t, b)
	failed := 0
	const runs = 100
	for range runs {
		s, err := c.NewSession(bg(t), link.SessionOptions{})
		require.NoError(t, err)
		_, err = s.NewReceiver(bg(t), link.ReceiverOptions{Source: "missing"})
		require.Error(t, err)
		if _, err = s.NewReceiver(bg(t), link.ReceiverOptions{Source: "q"}); err != nil {
			if failed == 0 {
				t.Logf("second attach: %v (%#v)", err, err)
			}
			failed++
		}
		_ = s.Close(bg(t))
	}
	assert.Zero(t, failed, "of %d attaches right after another link's channel exception failed", runs)
}
