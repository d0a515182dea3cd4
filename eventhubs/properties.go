package eventhubs

import (
	"context"
	"fmt"
	"time"

	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

// HubProperties describes an event hub.
type HubProperties struct {
	Name         string
	CreatedOn    time.Time
	PartitionIDs []string
}

// PartitionProperties describes one partition's contents.
type PartitionProperties struct {
	Hub                        string
	PartitionID                string
	BeginningSequenceNumber    int64
	LastEnqueuedSequenceNumber int64
	LastEnqueuedOffset         string
	LastEnqueuedTime           time.Time
	IsEmpty                    bool
}

// GetHubProperties reads hub's properties from the service's $management node.
func GetHubProperties(ctx context.Context, sess *session.Session, hub string) (*HubProperties, error) {
	body, err := read(ctx, sess, map[string]any{"name": hub, "type": "com.microsoft:eventhub"})
	if err != nil {
		return nil, err
	}
	p := &HubProperties{Name: hub}
	p.CreatedOn, _ = body["created_at"].(time.Time)
	switch ids := body["partition_ids"].(type) {
	case []string:
		p.PartitionIDs = ids
	case []any:
		for _, id := range ids {
			if s, ok := id.(string); ok {
				p.PartitionIDs = append(p.PartitionIDs, s)
			}
		}
	}
	return p, nil
}

// GetPartitionProperties reads one partition's properties from the service's
// $management node. An unknown partition fails with an error whose condition
// is com.microsoft:argument-out-of-range.
func GetPartitionProperties(ctx context.Context, sess *session.Session, hub, partitionID string) (*PartitionProperties, error) {
	body, err := read(ctx, sess, map[string]any{"name": hub, "type": "com.microsoft:partition", "partition": partitionID})
	if err != nil {
		return nil, err
	}
	p := &PartitionProperties{Hub: hub, PartitionID: partitionID}
	p.BeginningSequenceNumber, _ = body["begin_sequence_number"].(int64)
	p.LastEnqueuedSequenceNumber, _ = body["last_enqueued_sequence_number"].(int64)
	p.LastEnqueuedOffset, _ = body["last_enqueued_offset"].(string)
	p.LastEnqueuedTime, _ = body["last_enqueued_time_utc"].(time.Time)
	p.IsEmpty, _ = body["is_partition_empty"].(bool)
	return p, nil
}

// read sends one READ request to $management over a client attached for it.
func read(ctx context.Context, sess *session.Session, props map[string]any) (map[string]any, error) {
	rpc, err := cbs.NewRPC(ctx, sess.Links(), "$management")
	if err != nil {
		return nil, err
	}
	defer rpc.Close(context.WithoutCancel(ctx))
	props["operation"] = "READ"
	resp, err := rpc.Request(ctx, &message.Message{ApplicationProperties: props})
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	switch m := resp.Body.Value.(type) {
	case map[string]any:
		body = m
	case map[any]any:
		for k, v := range m {
			body[fmt.Sprint(k)] = v
		}
	default:
		return nil, errorpolicy.New(errorpolicy.CondProtocol, fmt.Sprintf("eventhubs: $management answered a %T, not a map", resp.Body.Value), nil)
	}
	return body, nil
}
