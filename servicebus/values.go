package servicebus

import (
	"time"

	"github.com/amqplink/amqplink/message"
)

// field reads key from a map body as the drivers decode it: a map with string
// keys, or one with symbol or string keys typed any.
func field(body any, key string) (any, bool) {
	switch m := body.(type) {
	case map[string]any:
		v, ok := m[key]
		return v, ok
	case map[any]any:
		if v, ok := m[key]; ok {
			return v, true
		}
		v, ok := m[message.Symbol(key)]
		return v, ok
	case message.Annotations:
		v, ok := m[key]
		return v, ok
	}
	return nil, false
}

// times reads an array of timestamps.
func times(v any) []time.Time {
	switch ts := v.(type) {
	case []time.Time:
		return ts
	case []any:
		out := make([]time.Time, 0, len(ts))
		for _, t := range ts {
			if t, ok := t.(time.Time); ok {
				out = append(out, t)
			}
		}
		return out
	}
	return nil
}

// int64Of reads a signed integer of any width.
func int64Of(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case int:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint32:
		return int64(n), true
	}
	return 0, false
}
