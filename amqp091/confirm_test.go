package amqp091

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// A settled publish sent while another sender's confirm.select waits for its
// answer would be counted by the broker and not by amqp091-go, putting every
// later receipt off by one: publishes wait for confirm.select to be answered.
func TestAPublishRacingConfirmSelectLeavesReceiptsInStep(t *testing.T) {
	b := newFakeBroker(t)
	selectSeen := make(chan struct{})
	var brokerSeq uint64 // counts publishes after confirm.select, as RabbitMQ does
	confirming := false  // the fake's handlers run on its one reading goroutine
	b.on(85, 10, func(fc *fbConn, ch uint16, _ []byte) {
		confirming = true
		close(selectSeen)
		go func() { // answered late: a publish sent meanwhile would be counted
			time.Sleep(50 * time.Millisecond)
			fc.method(ch, 85, 11, nil)
		}()
	})
	b.on(60, 40, func(fc *fbConn, ch uint16, _ []byte) {
		if !confirming {
			return
		}
		brokerSeq++
		fc.ack(ch, brokerSeq, false) // the broker confirms every publish
	})
	c := dialFake(t, b)
	s, err := c.NewSession(bg(t), link.SessionOptions{})
	require.NoError(t, err)
	fire, err := s.NewSender(bg(t), link.SenderOptions{Target: "q", SettleMode: link.SenderSettled})
	require.NoError(t, err)
	type res struct {
		l   link.SenderLink
		err error
	}
	made := make(chan res)
	go func() {
		l, err := s.NewSender(bg(t), link.SenderOptions{Target: "q"})
		made <- res{l, err}
	}()
	<-selectSeen
	_, err = fire.Send(bg(t), &message.Message{Body: message.Body{Data: [][]byte{[]byte("a")}}}, true)
	require.NoError(t, err)
	m := <-made
	require.NoError(t, m.err)
	rc, err := m.l.Send(bg(t), &message.Message{Body: message.Body{Data: [][]byte{[]byte("b")}}}, false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out, err := rc.Wait(ctx)
	assert.NoError(t, err, "the broker acked the message (seq 2); outcome %v", out)
}
