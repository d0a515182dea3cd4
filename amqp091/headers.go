package amqp091

import amqp "github.com/rabbitmq/amqp091-go"

// fromHeaders turns a 0-9-1 header table into application properties: nested
// tables become map[string]any, the rest keep amqp091-go's Go types.
func fromHeaders(t amqp.Table) map[string]any {
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = fromTableValue(v)
	}
	return out
}

func fromTableValue(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		return fromHeaders(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = fromTableValue(e)
		}
		return out
	}
	return v
}
