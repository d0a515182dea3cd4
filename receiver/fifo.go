package receiver

import "github.com/amqplink/amqplink/message"

// fifo is the receiver's buffer: a ring that grows as needed. The ledger keeps
// it within the prefetch plus whatever surplus the peer sends.
type fifo struct {
	ring       []*message.Delivery
	head, size int
}

func (f *fifo) len() int { return f.size }

func (f *fifo) push(d *message.Delivery) {
	if f.size == len(f.ring) {
		grown := make([]*message.Delivery, max(16, 2*len(f.ring)))
		for i := range f.size {
			grown[i] = f.ring[(f.head+i)%len(f.ring)]
		}
		f.ring, f.head = grown, 0
	}
	f.ring[(f.head+f.size)%len(f.ring)] = d
	f.size++
}

func (f *fifo) front() *message.Delivery { return f.ring[f.head] }

func (f *fifo) pop() *message.Delivery {
	d := f.ring[f.head]
	f.ring[f.head] = nil
	f.head = (f.head + 1) % len(f.ring)
	f.size--
	return d
}

// filter keeps, in order, the deliveries for which keep returns true.
func (f *fifo) filter(keep func(*message.Delivery) bool) {
	n := f.size
	for range n {
		if d := f.pop(); keep(d) {
			f.push(d)
		}
	}
}

// unshift puts ds, in order, in front of what the buffer holds.
func (f *fifo) unshift(ds []*message.Delivery) {
	if len(ds) == 0 {
		return
	}
	rest := make([]*message.Delivery, 0, f.size)
	for f.size > 0 {
		rest = append(rest, f.pop())
	}
	for _, d := range append(ds, rest...) {
		f.push(d)
	}
}
