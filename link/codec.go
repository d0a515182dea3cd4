package link

import (
	"sync"

	"github.com/amqplink/amqplink/message"
)

// MessageCodec encodes and decodes whole messages in a protocol's own
// encoding. Service nodes carry encoded messages inside their responses (a
// Service Bus peek returns each message as AMQP 1.0 bytes), so a package that
// talks to them needs the codec without importing a driver.
type MessageCodec interface {
	Encode(m *message.Message) ([]byte, error)
	Decode(b []byte) (*message.Message, error)
}

// CodecAMQP10 is the name the AMQP 1.0 driver registers its codec under.
const CodecAMQP10 = "amqp-1.0"

var (
	codecsMu sync.RWMutex
	codecs   = map[string]MessageCodec{}
)

// RegisterCodec makes a driver's codec available by name, as database/sql
// drivers register themselves: a driver calls it from init.
func RegisterCodec(name string, c MessageCodec) {
	codecsMu.Lock()
	defer codecsMu.Unlock()
	codecs[name] = c
}

// Codec returns the codec registered under name, if the driver that provides
// it is linked into the program.
func Codec(name string) (MessageCodec, bool) {
	codecsMu.RLock()
	defer codecsMu.RUnlock()
	c, ok := codecs[name]
	return c, ok
}
