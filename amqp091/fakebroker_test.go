package amqp091

// fakeBroker is a scripted AMQP 0-9-1 broker over TCP, just enough for
// amqp091-go's client: handshake, channel open/close, queue.declare,
// basic.qos/consume/cancel/publish/deliver/ack/nack, confirm.select. A test
// replaces any reply with its own (on), and waits for what the client sent
// (wait), to stage the interleavings a real broker makes only now and then.

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

type fbEvent struct {
	ch            uint16
	class, method uint16
	args          []byte
}

type fbConn struct {
	c   net.Conn
	wmu sync.Mutex
}

type fakeBroker struct {
	t  testing.TB
	ln net.Listener

	mu       sync.Mutex
	handlers map[[2]uint16]func(fc *fbConn, ch uint16, args []byte) // override default replies
	events   chan fbEvent
}

func newFakeBroker(t testing.TB) *fakeBroker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{t: t, ln: ln, handlers: map[[2]uint16]func(*fbConn, uint16, []byte){}, events: make(chan fbEvent, 10000)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(&fbConn{c: c})
		}
	}()
	return b
}

func (b *fakeBroker) url() string { return "amqp://guest:guest@" + b.ln.Addr().String() + "/" }

func (b *fakeBroker) on(class, method uint16, f func(fc *fbConn, ch uint16, args []byte)) {
	b.mu.Lock()
	b.handlers[[2]uint16{class, method}] = f
	b.mu.Unlock()
}

// wait returns the next event with class/method, within d.
func (b *fakeBroker) wait(class, method uint16, d time.Duration) (fbEvent, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case e := <-b.events:
			if e.class == class && e.method == method {
				return e, true
			}
		case <-timer.C:
			return fbEvent{}, false
		}
	}
}

// --- encoding helpers ---

type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) short(s string) {
	e.u8(uint8(len(s)))
	e.b = append(e.b, s...)
}
func (e *enc) long(s string) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func shortstrAt(b []byte, off int) (string, int) {
	n := int(b[off])
	return string(b[off+1 : off+1+n]), off + 1 + n
}

func frameBytes(typ uint8, ch uint16, payload []byte) []byte {
	var e enc
	e.u8(typ)
	e.u16(ch)
	e.u32(uint32(len(payload)))
	e.b = append(e.b, payload...)
	e.u8(0xCE)
	return e.b
}

func (fc *fbConn) write(b []byte) {
	fc.wmu.Lock()
	_, _ = fc.c.Write(b)
	fc.wmu.Unlock()
}

func (fc *fbConn) frame(typ uint8, ch uint16, payload []byte) { fc.write(frameBytes(typ, ch, payload)) }

func (fc *fbConn) method(ch, class, method uint16, args func(e *enc)) {
	var e enc
	e.u16(class)
	e.u16(method)
	if args != nil {
		args(&e)
	}
	fc.frame(1, ch, e.b)
}

// deliver sends basic.deliver with an empty body to consumer tag.
func (fc *fbConn) deliver(ch uint16, ctag string, dtag uint64) {
	var m enc
	m.u16(60)
	m.u16(60)
	m.short(ctag)
	m.u64(dtag)
	m.u8(0)
	m.short("")
	m.short("q")
	var h enc
	h.u16(60)
	h.u16(0)
	h.u64(0)
	h.u16(0)
	fc.write(append(frameBytes(1, ch, m.b), frameBytes(2, ch, h.b)...))
}

func (fc *fbConn) ack(ch uint16, tag uint64, multiple bool) {
	fc.method(ch, 60, 80, func(e *enc) {
		e.u64(tag)
		if multiple {
			e.u8(1)
		} else {
			e.u8(0)
		}
	})
}

func (b *fakeBroker) serve(fc *fbConn) {
	r := bufio.NewReader(fc.c)
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return
	}
	fc.method(0, 10, 10, func(e *enc) {
		e.u8(0)
		e.u8(9)
		e.u32(0) // server properties: empty table
		e.long("PLAIN")
		e.long("en_US")
	})
	for {
		h := make([]byte, 7)
		if _, err := io.ReadFull(r, h); err != nil {
			return
		}
		typ, ch, size := h[0], binary.BigEndian.Uint16(h[1:3]), binary.BigEndian.Uint32(h[3:7])
		payload := make([]byte, size+1)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		payload = payload[:size]
		if typ != 1 {
			continue // header, body, heartbeat
		}
		class, method := binary.BigEndian.Uint16(payload[0:2]), binary.BigEndian.Uint16(payload[2:4])
		args := payload[4:]
		b.events <- fbEvent{ch: ch, class: class, method: method, args: args}
		b.mu.Lock()
		hf := b.handlers[[2]uint16{class, method}]
		b.mu.Unlock()
		if hf != nil {
			hf(fc, ch, args)
			continue
		}
		b.defaultReply(fc, ch, class, method, args)
	}
}

func (b *fakeBroker) defaultReply(fc *fbConn, ch, class, method uint16, args []byte) {
	switch [2]uint16{class, method} {
	case [2]uint16{10, 11}: // start-ok
		fc.method(0, 10, 30, func(e *enc) { e.u16(2047); e.u32(131072); e.u16(0) })
	case [2]uint16{10, 40}: // connection.open
		fc.method(0, 10, 41, func(e *enc) { e.short("") })
	case [2]uint16{10, 50}: // connection.close
		fc.method(0, 10, 51, nil)
		time.Sleep(10 * time.Millisecond)
		fc.c.Close()
	case [2]uint16{20, 10}: // channel.open
		fc.method(ch, 20, 11, func(e *enc) { e.long("") })
	case [2]uint16{20, 40}: // channel.close
		fc.method(ch, 20, 41, nil)
	case [2]uint16{50, 10}: // queue.declare
		q, _ := shortstrAt(args, 2)
		if q == "" {
			q = "amq.gen-1"
		}
		fc.method(ch, 50, 11, func(e *enc) { e.short(q); e.u32(0); e.u32(0) })
	case [2]uint16{50, 20}: // queue.bind
		fc.method(ch, 50, 21, nil)
	case [2]uint16{50, 40}: // queue.delete
		fc.method(ch, 50, 41, func(e *enc) { e.u32(0) })
	case [2]uint16{60, 10}: // basic.qos
		fc.method(ch, 60, 11, nil)
	case [2]uint16{60, 20}: // basic.consume
		_, off := shortstrAt(args, 2)
		tag, _ := shortstrAt(args, off)
		fc.method(ch, 60, 21, func(e *enc) { e.short(tag) })
	case [2]uint16{60, 30}: // basic.cancel
		tag, _ := shortstrAt(args, 0)
		fc.method(ch, 60, 31, func(e *enc) { e.short(tag) })
	case [2]uint16{85, 10}: // confirm.select
		fc.method(ch, 85, 11, nil)
	}
}

func dialFake(t testing.TB, b *fakeBroker) *Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, b.url(), &Options{NoWriteCoalescing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}
