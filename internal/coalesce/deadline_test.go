package coalesce_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/internal/coalesce"
)

// A write deadline set while the flusher is stuck in a write that has none (or
// a later one) bounds the caller's Write, as it would on the wrapped
// net.Conn.
func TestALaterSetDeadlineBoundsAWriteStuckBehindAFullPeer(t *testing.T) {
	client, server := pair(t)
	defer server.Close() // never reads
	c := coalesce.New(client)
	defer c.Close()
	// No deadline yet: fill the socket buffers and MaxPending.
	filled := make(chan struct{})
	go func() {
		chunk := make([]byte, 256<<10)
		for i := 0; i < 64; i++ {
			if _, err := c.Write(chunk); err != nil {
				break
			}
		}
		close(filled)
	}()
	select {
	case <-filled:
		t.Fatal("the socket buffers took 16 MiB: the test cannot stall the peer")
	case <-time.After(500 * time.Millisecond): // a Write is now waiting for room
	}
	_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	res := make(chan error, 1)
	go func() { _, err := c.Write(make([]byte, 1<<20)); res <- err }()
	select {
	case err := <-res:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(3 * time.Second):
		t.Fatal("Write blocked 3s past a 200ms write deadline")
	}
}
