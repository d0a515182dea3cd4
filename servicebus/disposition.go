package servicebus

import (
	"context"
	"fmt"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// Settle settles the message with the given lock token through the
// $management node (update-disposition), which works while the lock holds even
// when the link that received the message is gone: Accepted completes it,
// Released and Modified abandon it (it is offered again), Rejected moves it to
// the dead-letter queue with the condition and description as reason.
func (m *Management) Settle(ctx context.Context, token message.UUID, o message.Outcome) error {
	body := map[string]any{"lock-tokens": []message.UUID{token}}
	switch o := o.(type) {
	case message.Accepted:
		body["disposition-status"] = "completed"
	case message.Released, message.Modified:
		body["disposition-status"] = "abandoned"
	case message.Rejected:
		body["disposition-status"] = "suspended"
		if o.Condition != "" {
			body["deadletter-reason"] = o.Condition
		}
		if o.Description != "" {
			body["deadletter-description"] = o.Description
		}
	default:
		return errorpolicy.InvalidOption(fmt.Sprintf("servicebus: cannot settle with %T through management", o))
	}
	_, err := m.request(ctx, "com.microsoft:update-disposition", body)
	return err
}
