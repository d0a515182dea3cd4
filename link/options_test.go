package link_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

func TestDefaults(t *testing.T) {
	r1 := link.ReceiverOptions{Source: "q"}.WithDefaults()
	r2 := link.ReceiverOptions{Source: "q"}.WithDefaults()
	assert.True(t, strings.HasPrefix(r1.Name, "amqplink-rcv-"))
	assert.NotEqual(t, r1.Name, r2.Name, "names are unique")
	assert.Equal(t, uint64(link.DefaultMaxMessageSize), r1.MaxMessageSize)
	assert.Equal(t, uint64(1<<20), r1.MaxMessageSize)

	kept := link.ReceiverOptions{Source: "q", Name: "mine", MaxMessageSize: 10}.WithDefaults()
	assert.Equal(t, "mine", kept.Name)
	assert.Equal(t, uint64(10), kept.MaxMessageSize)

	s := link.SenderOptions{Target: "q"}.WithDefaults()
	assert.True(t, strings.HasPrefix(s.Name, "amqplink-snd-"))
	assert.Equal(t, uint64(1<<20), s.MaxMessageSize)
	assert.Equal(t, link.SenderUnsettled, s.SettleMode, "senders wait for outcomes by default")
}

func TestValidate(t *testing.T) {
	for _, err := range []error{
		link.ReceiverOptions{}.Validate(),
		link.ReceiverOptions{Source: "q", SenderSettle: 7}.Validate(),
		link.ReceiverOptions{Source: "q", ReceiverSettle: 7}.Validate(),
		link.SenderOptions{}.Validate(),
		link.SenderOptions{Target: "q", SettleMode: 7}.Validate(),
		link.SenderOptions{Target: "q", ReceiverSettle: 7}.Validate(),
	} {
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	}
	assert.NoError(t, link.ReceiverOptions{Source: "q"}.Validate())
	assert.NoError(t, link.SenderOptions{Target: "q", SettleMode: link.SenderMixed}.Validate())
}

func TestNamesAndFilters(t *testing.T) {
	assert.Equal(t, "mixed", link.SenderMixed.String())
	assert.Equal(t, "second", link.ReceiverSecond.String())
	assert.Equal(t, "SenderSettleMode(9)", link.SenderSettleMode(9).String())
	f := link.SelectorFilter("color = 'red'")
	assert.Equal(t, "apache.org:selector-filter:string", f.Key)
	assert.Equal(t, uint64(0x0000468C00000004), f.Code)
	assert.Equal(t, "color = 'red'", f.Value)
}
