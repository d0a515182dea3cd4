package servicebus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

// Management is a request/response client for one entity's $management node.
// It is safe for concurrent use. Its links are attached again on the next
// request after they fail (a reconnect, a detach), so one Management outlives
// recoveries of its session's connection.
type Management struct {
	sess    *session.Session
	entity  string
	address string

	mu     sync.Mutex // guards rpc and closed; held while attaching
	rpc    *cbs.RPC
	closed bool
}

// NewManagement attaches a request/response client to entity's $management
// node (address "<entity>/$management") on sess.
func NewManagement(ctx context.Context, sess *session.Session, entity string) (*Management, error) {
	entity = strings.TrimSuffix(entity, "/")
	if entity == "" {
		return nil, errorpolicy.InvalidOption("servicebus: the entity name is empty")
	}
	m := &Management{sess: sess, entity: entity, address: entity + "/$management"}
	if _, err := m.current(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Entity is the entity whose node m talks to.
func (m *Management) Entity() string { return m.entity }

// current returns a live RPC, attaching one if there is none.
func (m *Management) current(ctx context.Context) (*cbs.RPC, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errorpolicy.New(errorpolicy.CondClosed, "servicebus: the management client is closed", nil)
	}
	if m.rpc != nil {
		select {
		case <-m.rpc.Done():
			_ = m.rpc.Close(ctx)
			m.rpc = nil
		default:
			return m.rpc, nil
		}
	}
	rpc, err := cbs.NewRPC(ctx, m.sess.Links(), m.address)
	if err != nil {
		return nil, err
	}
	m.rpc = rpc
	return rpc, nil
}

// request sends operation with body to the node and returns the response's body
// value. A request whose links died under it is sent once more on new ones:
// management operations on locks are idempotent.
func (m *Management) request(ctx context.Context, operation string, body map[string]any) (any, error) {
	for attempt := 0; ; attempt++ {
		rpc, err := m.current(ctx)
		if err != nil {
			return nil, err
		}
		req := &message.Message{
			ApplicationProperties: map[string]any{"operation": operation},
			Body:                  message.Body{Value: body},
		}
		if deadline, ok := ctx.Deadline(); ok {
			// The service gives up when the caller would, instead of working on.
			req.ApplicationProperties["com.microsoft:server-timeout"] = uint32(max(0, time.Until(deadline).Milliseconds()))
		}
		resp, err := rpc.Request(ctx, req)
		if err != nil {
			if attempt == 0 && ctx.Err() == nil && isDone(rpc.Done()) && !isStatus(err) {
				continue
			}
			return nil, err
		}
		return resp.Body.Value, nil
	}
}

func isStatus(err error) bool {
	var se *cbs.StatusError
	return errors.As(err, &se)
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Close detaches the client's links. The session stays open.
func (m *Management) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.rpc == nil {
		return nil
	}
	err := m.rpc.Close(ctx)
	m.rpc = nil
	return err
}
