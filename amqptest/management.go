package amqptest

import (
	"fmt"
	"slices"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// A queue's $management node, at "<queue>/$management", answers the Service
// Bus operations a PeekLock client needs: renew-lock, peek-message and
// update-disposition. Responses spell their status keys statusCode and
// statusDescription, as Service Bus does there (unlike $cbs).

const managementSuffix = "/$management"

// Management operations (the request's "operation" property).
const (
	opRenewLock         = "com.microsoft:renew-lock"
	opPeekMessage       = "com.microsoft:peek-message"
	opUpdateDisposition = "com.microsoft:update-disposition"
)

// management is the $management node of the queue called entity.
func (s *Server) management(entity string) nodeHandler {
	return func(_ *conn, req request) (response, any) {
		r := s.manage(entity, req)
		r.camelCase = true
		return r, &wire.Accepted{}
	}
}

func (s *Server) manage(entity string, req request) response {
	q := s.queueFor(entity)
	if q == nil {
		return response{status: 404, description: fmt.Sprintf("no queue %q", entity), condition: condNotFound}
	}
	body, _ := req.body.(*wire.Map)
	switch op := req.prop("operation"); op {
	case opRenewLock:
		return s.renewLocks(q, body)
	case opPeekMessage:
		return s.peekMessages(q, body)
	case opUpdateDisposition:
		return s.updateDisposition(q, body)
	default:
		return response{status: 400, description: fmt.Sprintf("unknown operation %q", op)}
	}
}

// renewLocks extends each lock by the queue's lock duration from now. One
// token not locked (settled, expired, unknown) fails the whole request, and
// no lock is renewed.
func (s *Server) renewLocks(q *queue, body *wire.Map) response {
	held, bad := heldLocks(q, body)
	if bad != nil {
		return *bad
	}
	until := s.now().Add(s.lockDuration(q))
	expirations := &wire.Array{Elems: make([]any, len(held))}
	for i, od := range held {
		s.lockUntil(od, until)
		expirations.Elems[i] = until
	}
	out := &wire.Map{}
	out.Set("expirations", expirations)
	return response{status: 200, description: "OK", body: out}
}

// peekMessages returns the queue's messages, ready or locked, from a sequence
// number on, without locking them.
func (s *Server) peekMessages(q *queue, body *wire.Map) response {
	from, ok1 := integer(field(body, "from-sequence-number"))
	count, ok2 := integer(field(body, "message-count"))
	if !ok1 || !ok2 || count <= 0 {
		return response{status: 400, description: "peek-message needs from-sequence-number and a positive message-count"}
	}
	var list []any
	for _, e := range s.peek(q, from, int(min(count, 1<<20))) {
		m := &wire.Map{}
		m.Set("message", e.data)
		list = append(list, m)
	}
	if len(list) == 0 {
		return response{status: 204, description: "No Content"}
	}
	out := &wire.Map{}
	out.Set("messages", list)
	return response{status: 200, description: "OK", body: out}
}

// updateDisposition settles locked deliveries as their links would, so a
// later settle on the link is told the lock was lost.
func (s *Server) updateDisposition(q *queue, body *wire.Map) response {
	var state any
	switch status, _ := addressString(field(body, "disposition-status")); status {
	case "completed":
		state = &wire.Accepted{}
	case "abandoned":
		state = &wire.Modified{DeliveryFailed: true}
	case "suspended":
		state = &wire.Rejected{}
	case "defered":
		return response{status: 400, description: "deferral is not supported here"}
	default:
		return response{status: 400, description: fmt.Sprintf("unknown disposition-status %q", status)}
	}
	held, bad := heldLocks(q, body)
	if bad != nil {
		return *bad
	}
	for _, od := range held {
		s.endDelivery(od)
		s.settle(od, state)
	}
	q.dispatch()
	return response{status: 200, description: "OK"}
}

// heldLocks finds the deliveries the request's lock-tokens name; the response
// to send instead when the tokens are missing (400) or one is not locked (410).
func heldLocks(q *queue, body *wire.Map) ([]*outDelivery, *response) {
	tokens, ok := uuids(field(body, "lock-tokens"))
	if !ok || len(tokens) == 0 {
		return nil, &response{status: 400, description: "lock-tokens must be a non-empty array of uuid"}
	}
	var held []*outDelivery
	for _, t := range tokens {
		od := q.locks[t]
		if od == nil {
			return nil, &response{status: 410, condition: condLockLost,
				description: fmt.Sprintf("the lock %s is not held: settled, expired or unknown", uuidString(t))}
		}
		if !slices.Contains(held, od) {
			held = append(held, od)
		}
	}
	return held, nil
}

// field is a request body's entry, keyed by string or symbol.
func field(m *wire.Map, key string) any {
	if v, ok := m.Get(key); ok {
		return v
	}
	v, _ := m.Get(wire.Symbol(key))
	return v
}

// integer reads any AMQP integer.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n <= 1<<63-1 {
			return int64(n), true
		}
	}
	return 0, false
}

// uuids reads an array (or list) of uuid.
func uuids(v any) ([]wire.UUID, bool) {
	var elems []any
	switch a := v.(type) {
	case *wire.Array:
		elems = a.Elems
	case []any:
		elems = a
	default:
		return nil, false
	}
	out := make([]wire.UUID, len(elems))
	for i, e := range elems {
		u, ok := e.(wire.UUID)
		if !ok {
			return nil, false
		}
		out[i] = u
	}
	return out, true
}

// uuidString formats u in the usual 8-4-4-4-12 form.
func uuidString(u wire.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
