package amqptest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Where an event hub receiver starts: the selector filter of its source, as
// the Event Hubs SDKs write it, for example
//
//	amqp.annotation.x-opt-offset > '-1'                 (earliest)
//	amqp.annotation.x-opt-offset > '@latest'            (only new events)
//	amqp.annotation.x-opt-sequence-number >= '42'
//	amqp.annotation.x-opt-enqueued-time > '1700000000000' (unix ms)

// The selector filter's key and descriptor.
const (
	selectorFilterName = wire.Symbol("apache.org:selector-filter:string")
	selectorFilterCode = uint64(0x0000468C00000004)
)

var selectorExpr = regexp.MustCompile(`(?i)^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$`)

// position is a parsed start position.
type position struct {
	field     string // offset, sequence-number or enqueued-time
	inclusive bool
	latest    bool
	value     int64
}

// earliest is where a receiver with no filter starts.
var earliest = position{field: "x-opt-offset", value: -1}

// selectorPosition reads the start position from a source's filter map.
func selectorPosition(filter *wire.Map) (position, error) {
	var expr any
	found := false
	if filter != nil {
		for _, e := range filter.Entries {
			d, described := e.Value.(*wire.Described)
			if e.Key == selectorFilterName || described && (d.Descriptor == selectorFilterCode || d.Descriptor == selectorFilterName) {
				if !described {
					return position{}, fmt.Errorf("the selector filter is a %T, not a described string", e.Value)
				}
				expr, found = d.Value, true
				break
			}
		}
	}
	if !found {
		return earliest, nil
	}
	text, ok := expr.(string)
	if !ok {
		return position{}, fmt.Errorf("the selector filter holds a %T, not a string", expr)
	}
	return parseSelector(text)
}

func parseSelector(text string) (position, error) {
	m := selectorExpr.FindStringSubmatch(text)
	if m == nil {
		return position{}, fmt.Errorf("cannot read the selector %q: want amqp.annotation.<x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time> <>|>=> '<value>'", text)
	}
	pos := position{field: strings.ToLower(m[1]), inclusive: m[2] == ">="}
	if m[3] == "@latest" {
		if pos.inclusive {
			return position{}, fmt.Errorf("the selector %q: @latest takes >, not >=", text)
		}
		pos.latest = true
		return pos, nil
	}
	v, err := strconv.ParseInt(m[3], 10, 64)
	if err != nil {
		return position{}, fmt.Errorf("the selector %q: %q is not a number", text, m[3])
	}
	pos.value = v
	return pos, nil
}

// index is the index of the first event of p a receiver from pos gets; an
// index past the end means the events still to come. A sequence number past
// the end is an error, as the service reports it.
func (pos position) index(p *partition) (int, error) {
	if pos.latest {
		return len(p.events), nil
	}
	after := func(n int64) bool { return n > pos.value || pos.inclusive && n == pos.value }
	var i int
	switch pos.field {
	case "x-opt-sequence-number":
		last := int64(len(p.events)) - 1
		if pos.value > last+1 || pos.value == last+1 && !pos.inclusive {
			return 0, fmt.Errorf("the supplied sequence number '%d' is invalid; the last sequence number in the system is '%d'", pos.value, last)
		}
		i = slices.IndexFunc(p.events, func(e *event) bool { return after(e.seq) })
	case "x-opt-enqueued-time":
		i = slices.IndexFunc(p.events, func(e *event) bool { return after(e.enqueued.UnixMilli()) })
	default:
		i = slices.IndexFunc(p.events, func(e *event) bool { return after(e.offset) })
	}
	if i < 0 {
		i = len(p.events)
	}
	return i, nil
}
