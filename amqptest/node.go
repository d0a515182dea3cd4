package amqptest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// A service node ($cbs, a queue's $management) answers request messages on its own links: the client
// sends requests to the node's address and receives responses on a link whose
// source is the same address. Each receiving link gets a private queue, so the
// ordinary credit, delivery and settlement machinery carries the responses.

// nodeHandler answers one request sent on conn c; it returns the response and
// the delivery state for the request.
type nodeHandler func(c *conn, req request) (response, any)

// request is the part of a request message a node reads.
type request struct {
	messageID any
	replyTo   string
	props     *wire.Map // application properties
	body      any       // the amqp-value body
}

// response is what a node answers.
type response struct {
	status      int32
	description string
	condition   wire.Symbol // sent as the error-condition property, when set
	body        any
	camelCase   bool // statusCode/statusDescription, as $management spells them
}

// nodeFor returns the queue object that stands for a node address when the
// client sends to it (receiving is false), or a private reply queue when the
// client receives from it; nil when address is not a node.
func (s *Server) nodeFor(address string, receiving bool, replyAddress string) *queue {
	var h nodeHandler
	switch entity, isMgmt := strings.CutSuffix(address, managementSuffix); {
	case address == "$cbs":
		h = s.putToken
	case address == eventHubManagement:
		h = s.manageEventHubs
	case isMgmt && entity != "":
		h = s.management(entity)
	default:
		return nil
	}
	if receiving {
		return &queue{name: address, replyTo: replyAddress, reply: true}
	}
	return &queue{name: address, node: h}
}

// handleRequest runs the node behind q for a request message and sends the
// response to the connection's reply link.
func (c *conn) handleRequest(q *queue, data []byte) any {
	req, err := parseRequest(data)
	if err != nil {
		return &wire.Rejected{Error: &wire.Error{Condition: condDecodeError, Description: err.Error()}}
	}
	resp, state := q.node(c, req)
	reply := c.replyQueue(q.name, req.replyTo)
	if reply == nil {
		return &wire.Rejected{Error: &wire.Error{Condition: condNotFound, Description: "no link receives from " + q.name}}
	}
	reply.push(&message{data: encodeResponse(req.messageID, req.replyTo, resp)})
	reply.dispatch()
	return state
}

// replyQueue finds the private queue of the connection's link receiving from
// node, preferring the one whose target is replyTo.
func (c *conn) replyQueue(node, replyTo string) *queue {
	var any *queue
	for _, s := range c.sessions {
		for _, l := range s.links {
			if !l.receiving || !l.q.reply || l.q.name != node {
				continue
			}
			if l.q.replyTo == replyTo {
				return l.q
			}
			any = l.q
		}
	}
	return any
}

// parseRequest reads the properties, application properties and amqp-value
// body of a request.
func parseRequest(data []byte) (request, error) {
	var req request
	for len(data) > 0 {
		v, n, err := wire.Unmarshal(data)
		if err != nil {
			return req, err
		}
		data = data[n:]
		d, ok := v.(*wire.Described)
		if !ok {
			return req, errors.New("a message section that is not described")
		}
		switch d.Descriptor {
		case wire.DescProperties:
			if f, ok := d.Value.([]any); ok {
				if len(f) > 0 {
					req.messageID = f[0]
				}
				if len(f) > 4 {
					req.replyTo, _ = addressString(f[4])
				}
			}
		case wire.DescApplicationProperties:
			req.props, _ = d.Value.(*wire.Map)
		case wire.DescAMQPValue:
			req.body = d.Value
		}
	}
	return req, nil
}

func addressString(v any) (string, bool) {
	switch a := v.(type) {
	case string:
		return a, true
	case wire.Symbol:
		return string(a), true
	}
	return "", false
}

// prop returns an application property as a string.
func (r request) prop(name string) string {
	v, _ := r.props.Get(name)
	s, _ := addressString(v)
	return s
}

// encodeResponse builds a response message: properties (to, correlation-id),
// application properties (status-code, status-description or their camel-case
// spellings, error-condition) and the body.
func encodeResponse(correlationID any, to string, r response) []byte {
	props := make([]any, 6)
	if to != "" {
		props[2] = to
	}
	props[5] = correlationID
	app := &wire.Map{}
	if r.camelCase {
		app.Set("statusCode", r.status)
		app.Set("statusDescription", r.description)
	} else {
		app.Set("status-code", r.status)
		app.Set("status-description", r.description)
	}
	if r.condition != "" {
		app.Set("error-condition", r.condition)
	}
	var out []byte
	var err error
	for _, section := range []any{
		&wire.Described{Descriptor: wire.DescProperties, Value: props},
		&wire.Described{Descriptor: wire.DescApplicationProperties, Value: app},
		&wire.Described{Descriptor: wire.DescAMQPValue, Value: r.body},
	} {
		if out, err = wire.Append(out, section); err != nil {
			panic(fmt.Sprintf("amqptest: encoding a response: %v", err)) // our own values always encode
		}
	}
	return out
}
