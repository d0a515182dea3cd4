package receiver_test

import (
	"context"
	"testing"

	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/session"
)

// BenchmarkReceiveAccept measures one delivery through the receiver's layer
// (ledger, loop, hand-out, settlement) over the in-process fake driver; run with
// -benchmem for the allocations the receiver adds per message.
func BenchmarkReceiveAccept(b *testing.B) {
	ctx := context.Background()
	br := newBroker(0)
	sess, err := session.New(ctx, br, nil)
	if err != nil {
		b.Fatal(err)
	}
	r, err := receiver.New(ctx, sess, "q", &receiver.Options{Prefetch: 300})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(ctx)
	b.ReportAllocs()
	for b.Loop() {
		br.put(1)
		d, err := r.Receive(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Accept(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
