package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Protocol headers.
var (
	ProtoAMQP = []byte{'A', 'M', 'Q', 'P', 0, 1, 0, 0}
	ProtoSASL = []byte{'A', 'M', 'Q', 'P', 3, 1, 0, 0}
)

// Frame types.
const (
	FrameAMQP uint8 = 0
	FrameSASL uint8 = 1
)

// MinMaxFrameSize is the smallest max-frame-size AMQP allows.
const MinMaxFrameSize = 512

// ErrFrameTooLarge is returned by ReadFrame for a frame over the limit; it is
// checked before anything is allocated.
var ErrFrameTooLarge = errors.New("amqp: frame larger than the negotiated max-frame-size")

// Frame is one AMQP or SASL frame.
type Frame struct {
	Type    uint8
	Channel uint16
	Body    any    // the performative (a *Described), or nil for an empty frame
	Payload []byte // what follows the performative (transfer payloads)
}

// ReadFrame reads one frame of at most maxSize bytes. It returns io.EOF only at
// a frame boundary; a frame cut short is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, maxSize uint32) (Frame, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Frame{}, err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	doff := uint32(hdr[4])
	f := Frame{Type: hdr[5], Channel: binary.BigEndian.Uint16(hdr[6:])}
	switch {
	case size < 8:
		return Frame{}, fmt.Errorf("wire: frame size %d is below 8: %w", size, ErrMalformed)
	case size > maxSize:
		return Frame{}, fmt.Errorf("wire: frame of %d bytes, limit %d: %w", size, maxSize, ErrFrameTooLarge)
	case doff < 2 || doff*4 > size:
		return Frame{}, fmt.Errorf("wire: data offset %d in a frame of %d bytes: %w", doff, size, ErrMalformed)
	}
	rest := make([]byte, size-8)
	if _, err := io.ReadFull(r, rest); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	body := rest[doff*4-8:] // skip the extended header
	if len(body) == 0 {
		return f, nil
	}
	v, n, err := Unmarshal(body)
	if err != nil {
		return Frame{}, err
	}
	f.Body = v
	if n < len(body) {
		f.Payload = body[n:]
	}
	return f, nil
}

// AppendFrame appends f, with a data offset of 2 (no extended header).
func AppendFrame(buf []byte, f Frame) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 2, f.Type, byte(f.Channel>>8), byte(f.Channel))
	if f.Body != nil {
		var err error
		if buf, err = Append(buf, f.Body); err != nil {
			return buf[:start], err
		}
	}
	buf = append(buf, f.Payload...)
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start))
	return buf, nil
}
