package cbs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// RPC is a request/response client for a service node such as $cbs or an
// entity's $management: a sender link to the node and a receiver link from it
// on one session, responses matched to requests by correlation id. It is safe
// for concurrent use; one reader goroutine, stopped by Close, routes responses.
type RPC struct {
	address string
	replyTo string
	snd     link.SenderLink
	rcv     link.ReceiverLink

	ids     atomic.Uint64
	mu      sync.Mutex
	waiting map[string]chan *message.Message // by request message id
	err     error                            // why the reader stopped

	stop   context.CancelFunc
	done   chan struct{} // closed when the reader has stopped
	closed sync.Once
}

// rpcCredit is how many responses the reader lets the node send ahead.
const rpcCredit = 16

// NewRPC attaches the two links of a request/response client for the node at
// address on sess.
func NewRPC(ctx context.Context, sess link.Session, address string) (*RPC, error) {
	name := link.UniqueName("amqplink-rpc")
	replyTo := name + "-reply"
	snd, err := sess.NewSender(ctx, link.SenderOptions{Name: name + "-snd", Target: address})
	if err != nil {
		return nil, err
	}
	rcv, err := sess.NewReceiver(ctx, link.ReceiverOptions{Name: name + "-rcv", Source: address, TargetAddress: replyTo})
	if err == nil {
		err = rcv.IssueCredit(rpcCredit)
	}
	if err != nil {
		_ = snd.Close(ctx)
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	r := &RPC{address: address, replyTo: replyTo, snd: snd, rcv: rcv,
		waiting: map[string]chan *message.Message{}, stop: stop, done: make(chan struct{})}
	go r.read(rctx)
	return r, nil
}

// read routes each response to its waiting request until the link ends.
func (r *RPC) read(ctx context.Context) {
	defer close(r.done)
	for {
		d, err := r.rcv.Receive(ctx)
		if err != nil {
			r.mu.Lock()
			r.err = err
			for id, ch := range r.waiting {
				close(ch) // the request fails with r.err
				delete(r.waiting, id)
			}
			r.mu.Unlock()
			return
		}
		_ = d.Accept(ctx)
		_ = r.rcv.IssueCredit(1)
		var id string
		if p := d.Message.Properties; p != nil {
			id = fmt.Sprint(p.CorrelationID)
		}
		r.mu.Lock()
		ch := r.waiting[id]
		delete(r.waiting, id)
		r.mu.Unlock()
		if ch != nil {
			ch <- d.Message // buffered: never blocks
		}
	}
}

// Done is closed when the RPC can no longer be used (its links ended, or Close).
func (r *RPC) Done() <-chan struct{} { return r.done }

// Request sends m to the node and waits within ctx for the response. It sets
// m's message id and reply-to. A response whose status code is not 2xx fails
// with an *errorpolicy.Error wrapping a *StatusError.
func (r *RPC) Request(ctx context.Context, m *message.Message) (*message.Message, error) {
	id := strconv.FormatUint(r.ids.Add(1), 10)
	if m.Properties == nil {
		m.Properties = &message.Properties{}
	}
	m.Properties.MessageID = id
	m.Properties.ReplyTo = &r.replyTo
	ch := make(chan *message.Message, 1)
	r.mu.Lock()
	if r.err != nil {
		err := r.err
		r.mu.Unlock()
		return nil, err
	}
	r.waiting[id] = ch
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.waiting, id)
		r.mu.Unlock()
	}

	receipt, err := r.snd.Send(ctx, m, false)
	if err == nil {
		_, err = receipt.Wait(ctx)
	}
	if err != nil {
		forget()
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			r.mu.Lock()
			defer r.mu.Unlock()
			return nil, r.err
		}
		return resp, statusOf(resp)
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
}

// Close detaches both links and stops the reader.
func (r *RPC) Close(ctx context.Context) error {
	var err error
	r.closed.Do(func() {
		err = errors.Join(r.snd.Close(ctx), r.rcv.Close(ctx))
		r.stop()
		<-r.done
	})
	return err
}

// StatusError is a node's answer with a status code other than 2xx.
type StatusError struct {
	Code        int
	Description string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("status %d: %s", e.Code, e.Description)
}

// statusOf reads a response's status (status-code or statusCode, and its
// description): nil for 2xx.
func statusOf(m *message.Message) error {
	code, desc := -1, ""
	for _, k := range []string{"status-code", "statusCode"} {
		if v, ok := m.ApplicationProperties[k]; ok {
			code = toInt(v)
		}
	}
	for _, k := range []string{"status-description", "statusDescription"} {
		if v, ok := m.ApplicationProperties[k].(string); ok {
			desc = v
		}
	}
	if code >= 200 && code < 300 {
		return nil
	}
	cond := errorpolicy.CondInternalError
	switch {
	case code == 401 || code == 403:
		cond = errorpolicy.CondUnauthorizedAccess
	case code == 404:
		cond = errorpolicy.CondNotFound
	case code == 400:
		cond = errorpolicy.CondInvalidField
	case code == 410:
		cond = errorpolicy.CondMessageLockLost // Service Bus: the lock is gone
	case code == 503 || code == 429:
		cond = errorpolicy.CondServerBusy
	case code == 408:
		cond = errorpolicy.CondTimeout
	}
	// A service that names its condition knows better than the status code.
	switch c := m.ApplicationProperties["error-condition"].(type) {
	case string:
		cond = errorpolicy.Condition(c)
	case message.Symbol:
		cond = errorpolicy.Condition(c)
	}
	se := &StatusError{Code: code, Description: desc}
	return &errorpolicy.Error{Condition: cond, Description: se.Error(), Class: errorpolicy.DefaultClass(cond), Remote: true, Err: se}
}

func toInt(v any) int {
	switch n := v.(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case int:
		return n
	case uint32:
		return int(n)
	case int16:
		return int(n)
	}
	return -1
}

// putToken puts tok for audience on a $cbs RPC, within ctx.
func putToken(ctx context.Context, r *RPC, audience string, tok Token) error {
	m := &message.Message{
		ApplicationProperties: map[string]any{
			"operation":  "put-token",
			"type":       tok.Type,
			"name":       audience,
			"expiration": tok.Expiry.Unix(), // unix seconds
		},
		Body: message.Body{Value: tok.Value},
	}
	_, err := r.Request(ctx, m)
	return err
}
