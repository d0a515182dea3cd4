package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Content types the body helpers set.
const (
	ContentTypeText = "text/plain; charset=utf-8"
	ContentTypeJSON = "application/json"
)

// ErrBodyKind is returned when a body accessor is used on a body of another kind.
var ErrBodyKind = errors.New("message: body is not of the requested kind")

// New returns a message with one data section holding data.
func New(data []byte) *Message {
	return &Message{Body: Body{Data: [][]byte{data}}}
}

// NewText returns a message whose body is s as one UTF-8 data section, with the
// content type set to text/plain. A data section, rather than an amqp-value, is what
// AMQP 0-9-1 consumers and other languages' clients read as plain bytes.
func NewText(s string) *Message {
	m := New([]byte(s))
	m.Properties = &Properties{ContentType: Ptr(ContentTypeText)}
	return m
}

// NewJSON returns a message whose body is v encoded as JSON in one data section, with
// the content type set to application/json.
func NewJSON(v any) (*Message, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("message: encoding JSON body: %w", err)
	}
	m := New(b)
	m.Properties = &Properties{ContentType: Ptr(ContentTypeJSON)}
	return m, nil
}

// Bytes returns the body's data sections joined into one slice. With a single data
// section it returns that section without copying. It returns ErrBodyKind for a body
// that holds an amqp-value or sequences.
func (m *Message) Bytes() ([]byte, error) {
	switch len(m.Body.Data) {
	case 0:
		if m.Body.Value != nil || m.Body.Sequence != nil {
			return nil, ErrBodyKind
		}
		return nil, nil
	case 1:
		return m.Body.Data[0], nil
	default:
		return bytes.Join(m.Body.Data, nil), nil
	}
}

// Text returns the body as a string: an amqp-value that is a string, or the data
// sections read as UTF-8.
func (m *Message) Text() (string, error) {
	if s, ok := m.Body.Value.(string); ok {
		return s, nil
	}
	b, err := m.Bytes()
	return string(b), err
}

// DecodeJSON decodes the data body (or a string amqp-value) as JSON into v.
func (m *Message) DecodeJSON(v any) error {
	s, err := m.Text()
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("message: decoding JSON body: %w", err)
	}
	return nil
}

// PayloadSize is the size in bytes of the body's data sections and of a string or
// binary amqp-value: what dominates a message's encoded size, known without
// encoding it. Other values and sequences count for nothing.
func (b *Body) PayloadSize() uint64 {
	var n uint64
	for _, d := range b.Data {
		n += uint64(len(d))
	}
	switch v := b.Value.(type) {
	case string:
		n += uint64(len(v))
	case []byte:
		n += uint64(len(v))
	}
	return n
}
