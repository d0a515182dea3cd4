package amqp091

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
)

// Topology declares exchanges, queues and bindings, and records the
// declarations that succeeded, in order, so that a new connection can declare
// them again: give it to Options.Topology and every Dial, including the
// recovery layer's re-dials after a failure, replays it before returning (what
// aio-pika calls a robust connection). Deletes and unbinds remove what they
// undo from the record; passive declarations and purges are never recorded.
//
// Each operation runs on a short-lived channel of its own, so a channel
// exception (404 for a missing entity, 406 for a declaration that does not match
// the existing one) costs that channel only: the connection and its sessions
// carry on. Errors are *errorpolicy.Error with the broker's reply code
// (errors.Is errorpolicy.ErrNotFound, ErrPreconditionFailed, …).
//
// A nil *Topology runs the same operations without recording them. A Topology is
// safe for concurrent use, and may be shared by several connections.
type Topology struct {
	// OnQueueRenamed, if set, is called after a replay declared a server-named
	// queue (QueueOptions.Name "") again and the broker named it anew: old is
	// the name it had, new the name it has now. The record, and the bindings
	// recorded for the queue, already use the new name. It is called from the
	// goroutine that dialed, after the replay; it must not block for long. Set it
	// before the Topology is used.
	OnQueueRenamed func(old, new string)

	mu      sync.Mutex
	records []record // in declaration order
}

// ExchangeOptions declares an exchange.
type ExchangeOptions struct {
	// Name is the exchange's name. Required: the default exchange cannot be
	// declared.
	Name string
	// Kind is the exchange type: "direct", "fanout", "topic", "headers", or a
	// plugin's (such as "x-delayed-message"). Default: "direct".
	Kind string
	// Durable exchanges survive a broker restart.
	Durable bool
	// AutoDelete exchanges are deleted when their last binding is removed.
	AutoDelete bool
	// Internal exchanges take messages only from other exchanges (through
	// exchange-to-exchange bindings), never from publishers.
	Internal bool
	// Passive only checks that the exchange exists (errorpolicy.ErrNotFound if
	// not); nothing is declared or recorded, and the other fields are ignored.
	Passive bool
	// Args are the exchange's arguments ("alternate-exchange", …). Values are
	// field-table values; an int is sent as a 64-bit integer.
	Args map[string]any
}

// DeleteExchangeOptions deletes an exchange.
type DeleteExchangeOptions struct {
	// Name is the exchange to delete. Required.
	Name string
	// IfUnused deletes it only when it has no bindings from it to queues or
	// exchanges; otherwise the broker refuses (errorpolicy.ErrPreconditionFailed).
	IfUnused bool
}

// ExchangeBinding routes messages from one exchange to another.
type ExchangeBinding struct {
	// Destination is the exchange that receives the messages. Required.
	Destination string
	// Source is the exchange the messages are published to. Required.
	Source string
	// Key is the binding key (a pattern for topic exchanges).
	Key string
	// Args are the binding's arguments (the headers to match on a headers
	// exchange, with "x-match").
	Args map[string]any
}

// QueueOptions declares a queue. The argument fields (MessageTTL,
// DeadLetterExchange, DeadLetterRoutingKey, MaxLength, Quorum) are shorthands
// for RabbitMQ's x- arguments; when set they take precedence over the same
// argument in Args.
type QueueOptions struct {
	// Name is the queue's name; "" asks the broker to name it (amq.gen-…), and
	// QueueInfo.Name is the name it chose. A server-named queue that a replay
	// declares again gets a new name (see Topology.OnQueueRenamed).
	Name string
	// Durable queues survive a broker restart (their persistent messages too).
	Durable bool
	// AutoDelete queues are deleted when their last consumer goes (not before
	// the first one has come).
	AutoDelete bool
	// Exclusive queues belong to the connection that declared them: only it may
	// use them, and they are deleted when it closes.
	Exclusive bool
	// Passive only checks that the queue exists (errorpolicy.ErrNotFound if not)
	// and returns its counts; nothing is declared or recorded, and the other
	// fields are ignored. Name is required.
	Passive bool
	// Args are the queue's arguments (x-message-ttl, x-expires, x-overflow, …).
	// Values are field-table values; an int is sent as a 64-bit integer.
	Args map[string]any

	// MessageTTL is how long a message may wait in the queue before it expires
	// (x-message-ttl, whole milliseconds); expired messages are dead-lettered if
	// the queue says where. Default: no limit.
	MessageTTL time.Duration
	// DeadLetterExchange is where rejected, expired and overflowing messages are
	// republished (x-dead-letter-exchange). Default: none; but see
	// DeadLetterRoutingKey.
	DeadLetterExchange string
	// DeadLetterRoutingKey replaces the routing key of dead-lettered messages
	// (x-dead-letter-routing-key). Set without DeadLetterExchange, it
	// dead-letters through the default exchange, that is to the queue it names.
	DeadLetterRoutingKey string
	// MaxLength caps the messages ready in the queue (x-max-length); by default
	// the oldest are dropped (or dead-lettered) to make room. Default: no limit
	// (a limit of 0 can be set through Args).
	MaxLength int
	// Quorum declares a quorum queue (x-queue-type "quorum"): replicated, always
	// durable (Durable is implied), never exclusive or auto-delete. Default: a
	// classic queue, or what the broker's default queue type says.
	Quorum bool
}

// QueueInfo is the broker's answer to a queue declaration.
type QueueInfo struct {
	// Name is the queue's name: the one asked for, or the one the broker chose.
	Name string
	// Messages is the number of messages ready for delivery (not counting those
	// delivered and not yet acknowledged).
	Messages int
	// Consumers is the number of consumers on the queue.
	Consumers int
}

// QueueBinding routes messages from an exchange to a queue.
type QueueBinding struct {
	// Queue is the queue that receives the messages. Required.
	Queue string
	// Exchange is the exchange the messages are published to. Required: every
	// queue is bound to the default exchange already, by its name.
	Exchange string
	// Key is the binding key (a pattern for topic exchanges).
	Key string
	// Args are the binding's arguments (the headers to match on a headers
	// exchange, with "x-match").
	Args map[string]any
}

// DeleteQueueOptions deletes a queue, and the messages in it.
type DeleteQueueOptions struct {
	// Name is the queue to delete. Required.
	Name string
	// IfUnused deletes it only when it has no consumers; otherwise the broker
	// refuses (errorpolicy.ErrPreconditionFailed).
	IfUnused bool
	// IfEmpty deletes it only when it holds no messages; otherwise the broker
	// refuses (errorpolicy.ErrPreconditionFailed).
	IfEmpty bool
}

// DeclareExchange declares an exchange (or, with Passive, checks that it exists)
// and records the declaration.
func (t *Topology) DeclareExchange(ctx context.Context, c *Conn, o ExchangeOptions) error {
	if err := checkConn(c); err != nil {
		return err
	}
	if o.Name == "" {
		return errorpolicy.InvalidOption("amqp091: ExchangeOptions.Name is required (the default exchange cannot be declared)")
	}
	if o.Passive {
		_, err := onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) {
			return struct{}{}, ch.ExchangeDeclarePassive(o.Name, o.kind(), false, false, false, false, nil)
		})
		return err
	}
	o.Args = maps.Clone(o.Args)
	if _, err := toTable(o.Args); err != nil {
		return err
	}
	_, err := onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) { return struct{}{}, declareExchange(ch, o) })
	if err == nil {
		t.record(record{kind: kindExchange, ex: o})
	}
	return err
}

// DeleteExchange deletes an exchange, and with it the bindings from it and to
// it; they leave the record too.
func (t *Topology) DeleteExchange(ctx context.Context, c *Conn, o DeleteExchangeOptions) error {
	if err := checkConn(c); err != nil {
		return err
	}
	if o.Name == "" {
		return errorpolicy.InvalidOption("amqp091: DeleteExchangeOptions.Name is required")
	}
	_, err := onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) {
		return struct{}{}, ch.ExchangeDelete(o.Name, o.IfUnused, false)
	})
	if err == nil {
		t.forgetExchange(o.Name)
	}
	return err
}

// BindExchange binds one exchange to another and records the binding.
func (t *Topology) BindExchange(ctx context.Context, c *Conn, b ExchangeBinding) error {
	if err := checkConn(c); err != nil {
		return err
	}
	if b.Destination == "" || b.Source == "" {
		return errorpolicy.InvalidOption("amqp091: ExchangeBinding needs a Source and a Destination")
	}
	b.Args = maps.Clone(b.Args)
	if _, err := toTable(b.Args); err != nil {
		return err
	}
	_, err := onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) { return struct{}{}, bindExchange(ch, b) })
	if err == nil {
		t.record(record{kind: kindExchangeBinding, xb: b})
	}
	return err
}

// UnbindExchange removes an exchange-to-exchange binding, and its record.
func (t *Topology) UnbindExchange(ctx context.Context, c *Conn, b ExchangeBinding) error {
	if err := checkConn(c); err != nil {
		return err
	}
	args, err := toTable(b.Args)
	if err != nil {
		return err
	}
	_, err = onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) {
		return struct{}{}, ch.ExchangeUnbind(b.Destination, b.Key, b.Source, false, args)
	})
	if err == nil {
		t.remove(func(r *record) bool { return r.kind == kindExchangeBinding && r.xb.same(b) })
	}
	return err
}

// DeclareQueue declares a queue (or, with Passive, checks that it exists),
// records the declaration and returns the queue's name and counts.
func (t *Topology) DeclareQueue(ctx context.Context, c *Conn, o QueueOptions) (QueueInfo, error) {
	if err := checkConn(c); err != nil {
		return QueueInfo{}, err
	}
	if o.Passive {
		if o.Name == "" {
			return QueueInfo{}, errorpolicy.InvalidOption("amqp091: a passive queue declaration needs a Name")
		}
		q, err := onChannel(ctx, c, func(ch *amqp.Channel) (amqp.Queue, error) {
			return ch.QueueDeclarePassive(o.Name, false, false, false, false, nil)
		})
		return queueInfo(q), err
	}
	o.Args = maps.Clone(o.Args)
	if _, err := o.table(); err != nil {
		return QueueInfo{}, err
	}
	q, err := onChannel(ctx, c, func(ch *amqp.Channel) (amqp.Queue, error) { return declareQueue(ch, o) })
	if err != nil {
		return QueueInfo{}, err
	}
	serverNamed := o.Name == ""
	o.Name = q.Name
	t.record(record{kind: kindQueue, q: o, serverNamed: serverNamed})
	return queueInfo(q), nil
}

func queueInfo(q amqp.Queue) QueueInfo {
	return QueueInfo{Name: q.Name, Messages: q.Messages, Consumers: q.Consumers}
}

// BindQueue binds a queue to an exchange and records the binding.
func (t *Topology) BindQueue(ctx context.Context, c *Conn, b QueueBinding) error {
	if err := checkConn(c); err != nil {
		return err
	}
	if b.Queue == "" || b.Exchange == "" {
		return errorpolicy.InvalidOption("amqp091: QueueBinding needs a Queue and an Exchange")
	}
	b.Args = maps.Clone(b.Args)
	if _, err := toTable(b.Args); err != nil {
		return err
	}
	_, err := onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) { return struct{}{}, bindQueue(ch, b) })
	if err == nil {
		t.record(record{kind: kindQueueBinding, qb: b})
	}
	return err
}

// UnbindQueue removes a queue's binding, and its record.
func (t *Topology) UnbindQueue(ctx context.Context, c *Conn, b QueueBinding) error {
	if err := checkConn(c); err != nil {
		return err
	}
	args, err := toTable(b.Args)
	if err != nil {
		return err
	}
	_, err = onChannel(ctx, c, func(ch *amqp.Channel) (struct{}, error) {
		return struct{}{}, ch.QueueUnbind(b.Queue, b.Key, b.Exchange, args)
	})
	if err == nil {
		t.remove(func(r *record) bool { return r.kind == kindQueueBinding && r.qb.same(b) })
	}
	return err
}

// PurgeQueue removes the messages ready in a queue (not those delivered and
// not yet acknowledged) and returns how many it removed.
func (t *Topology) PurgeQueue(ctx context.Context, c *Conn, name string) (int, error) {
	if err := checkConn(c); err != nil {
		return 0, err
	}
	if name == "" {
		return 0, errorpolicy.InvalidOption("amqp091: PurgeQueue needs a queue name")
	}
	return onChannel(ctx, c, func(ch *amqp.Channel) (int, error) { return ch.QueuePurge(name, false) })
}

// DeleteQueue deletes a queue, and with it its bindings; they leave the record
// too. It returns the number of messages deleted with the queue.
func (t *Topology) DeleteQueue(ctx context.Context, c *Conn, o DeleteQueueOptions) (int, error) {
	if err := checkConn(c); err != nil {
		return 0, err
	}
	if o.Name == "" {
		return 0, errorpolicy.InvalidOption("amqp091: DeleteQueueOptions.Name is required")
	}
	n, err := onChannel(ctx, c, func(ch *amqp.Channel) (int, error) {
		return ch.QueueDelete(o.Name, o.IfUnused, o.IfEmpty, false)
	})
	if err == nil {
		t.forgetQueue(o.Name)
	}
	return n, err
}

// replay declares the recorded topology on c, in order, on one channel. A
// server-named queue is declared anew and gets a new name, which the record and
// the bindings recorded after it take on; OnQueueRenamed hears of it. The first
// failure ends the replay: the error, connection-scoped since the connection is
// not handed out, names the declaration.
func (t *Topology) replay(ctx context.Context, c *Conn) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if len(t.records) == 0 {
		t.mu.Unlock()
		return nil
	}
	ch, err := openChannel(ctx, c)
	if err != nil {
		t.mu.Unlock()
		return err
	}
	n := len(t.records)
	renames, what, err := t.replayOn(ctx, ch.Channel)
	t.mu.Unlock()
	if err != nil {
		err = ch.error(c, err)
	}
	ch.close(ctx)
	if hook := t.OnQueueRenamed; hook != nil {
		for _, r := range renames {
			hook(r[0], r[1])
		}
	}
	if err != nil {
		return replayError(err, what)
	}
	c.log.Debug("amqp091: topology replayed", "declarations", n, "renamed", renames)
	return nil
}

// replayOn runs the replay on ch. t.mu is held throughout, so that the replay
// sees one consistent record (operations on other connections wait to record
// theirs); each declaration works on a copy, since call may leave it running
// when ctx ends. It returns the queues renamed (old, new) and, on failure, what
// failed.
func (t *Topology) replayOn(ctx context.Context, ch declarer) (renames [][2]string, what string, err error) {
	for i := range t.records {
		r := t.records[i]
		switch r.kind {
		case kindExchange:
			what = "declaring exchange " + r.ex.Name
			_, err = call(ctx, func() (struct{}, error) { return struct{}{}, declareExchange(ch, r.ex) })
		case kindExchangeBinding:
			what = fmt.Sprintf("binding exchange %s to %s with key %q", r.xb.Destination, r.xb.Source, r.xb.Key)
			_, err = call(ctx, func() (struct{}, error) { return struct{}{}, bindExchange(ch, r.xb) })
		case kindQueueBinding:
			what = fmt.Sprintf("binding queue %s to %s with key %q", r.qb.Queue, r.qb.Exchange, r.qb.Key)
			_, err = call(ctx, func() (struct{}, error) { return struct{}{}, bindQueue(ch, r.qb) })
		case kindQueue:
			what = "declaring queue " + r.q.Name
			o := r.q
			if r.serverNamed {
				o.Name = ""
			}
			var q amqp.Queue
			if q, err = call(ctx, func() (amqp.Queue, error) { return declareQueue(ch, o) }); err == nil && q.Name != r.q.Name {
				renames = append(renames, [2]string{r.q.Name, q.Name})
				t.rename(r.q.Name, q.Name)
			}
		}
		if err != nil {
			return renames, what, err
		}
	}
	return renames, "", nil
}

// rename gives a server-named queue's record, and its bindings, the queue's new
// name; t.mu is held.
func (t *Topology) rename(old, new string) {
	for i := range t.records {
		r := &t.records[i]
		if r.kind == kindQueue && r.q.Name == old {
			r.q.Name = new
		}
		if r.kind == kindQueueBinding && r.qb.Queue == old {
			r.qb.Queue = new
		}
	}
}

func replayError(err error, what string) error {
	var e *errorpolicy.Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	out.Scope = errorpolicy.ScopeConn
	out.Description = "replaying the topology: " + what + ": " + e.Description
	return &out
}

// Record keeping.

type recordKind uint8

const (
	kindExchange recordKind = iota + 1
	kindQueue
	kindExchangeBinding
	kindQueueBinding
)

// record is one recorded declaration; the field of its kind is set.
type record struct {
	kind        recordKind
	ex          ExchangeOptions
	q           QueueOptions // Name is the queue's current name
	serverNamed bool         // q was declared with Name ""
	xb          ExchangeBinding
	qb          QueueBinding
}

// record adds r, or replaces the record it declares again in place, so that
// the replay keeps the order of first declaration.
func (t *Topology) record(r record) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.records {
		if t.records[i].declaresSame(&r) {
			t.records[i] = r
			return
		}
	}
	t.records = append(t.records, r)
}

// remove drops the records that match.
func (t *Topology) remove(match func(*record) bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.records = slices.DeleteFunc(t.records, func(r record) bool { return match(&r) })
}

// forgetExchange drops an exchange's record and those of the bindings from it
// and to it, which the broker deletes with it.
func (t *Topology) forgetExchange(name string) {
	t.remove(func(r *record) bool {
		switch r.kind {
		case kindExchange:
			return r.ex.Name == name
		case kindExchangeBinding:
			return r.xb.Source == name || r.xb.Destination == name
		case kindQueueBinding:
			return r.qb.Exchange == name
		}
		return false
	})
}

// forgetQueue drops a queue's record and those of its bindings.
func (t *Topology) forgetQueue(name string) {
	t.remove(func(r *record) bool {
		return r.kind == kindQueue && r.q.Name == name || r.kind == kindQueueBinding && r.qb.Queue == name
	})
}

// declaresSame reports whether r and o declare the same entity or binding.
func (r *record) declaresSame(o *record) bool {
	if r.kind != o.kind {
		return false
	}
	switch r.kind {
	case kindExchange:
		return r.ex.Name == o.ex.Name
	case kindQueue:
		return r.q.Name == o.q.Name
	case kindExchangeBinding:
		return r.xb.same(o.xb)
	case kindQueueBinding:
		return r.qb.same(o.qb)
	}
	return false
}

// same reports whether two bindings are one: the broker tells bindings apart by
// source, destination, key and arguments.
func (b ExchangeBinding) same(o ExchangeBinding) bool {
	return b.Source == o.Source && b.Destination == o.Destination && b.Key == o.Key && sameArgs(b.Args, o.Args)
}

func (b QueueBinding) same(o QueueBinding) bool {
	return b.Queue == o.Queue && b.Exchange == o.Exchange && b.Key == o.Key && sameArgs(b.Args, o.Args)
}

func sameArgs(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	ta, errA := toTable(a)
	tb, errB := toTable(b)
	return errA == nil && errB == nil && reflect.DeepEqual(ta, tb)
}

// The declarations themselves, shared by the operations and the replay.

// declarer is what declaring needs of a channel; *amqp.Channel has it.
type declarer interface {
	ExchangeDeclare(name, kind string, durable, autoDelete, internal, noWait bool, args amqp.Table) error
	ExchangeBind(destination, key, source string, noWait bool, args amqp.Table) error
	QueueDeclare(name string, durable, autoDelete, exclusive, noWait bool, args amqp.Table) (amqp.Queue, error)
	QueueBind(name, key, exchange string, noWait bool, args amqp.Table) error
}

func declareExchange(ch declarer, o ExchangeOptions) error {
	args, err := toTable(o.Args)
	if err != nil {
		return err
	}
	return ch.ExchangeDeclare(o.Name, o.kind(), o.Durable, o.AutoDelete, o.Internal, false, args)
}

func declareQueue(ch declarer, o QueueOptions) (amqp.Queue, error) {
	args, err := o.table()
	if err != nil {
		return amqp.Queue{}, err
	}
	return ch.QueueDeclare(o.Name, o.Durable || o.Quorum, o.AutoDelete, o.Exclusive, false, args)
}

func bindExchange(ch declarer, b ExchangeBinding) error {
	args, err := toTable(b.Args)
	if err != nil {
		return err
	}
	return ch.ExchangeBind(b.Destination, b.Key, b.Source, false, args)
}

func bindQueue(ch declarer, b QueueBinding) error {
	args, err := toTable(b.Args)
	if err != nil {
		return err
	}
	return ch.QueueBind(b.Queue, b.Key, b.Exchange, false, args)
}

func (o ExchangeOptions) kind() string {
	if o.Kind == "" {
		return amqp.ExchangeDirect
	}
	return o.Kind
}

// table is the queue's arguments: Args with the shorthand fields applied.
func (o QueueOptions) table() (amqp.Table, error) {
	args, err := toTable(o.Args)
	if err != nil {
		return nil, err
	}
	set := func(k string, v any) {
		if args == nil {
			args = amqp.Table{}
		}
		args[k] = v
	}
	switch {
	case o.MessageTTL < 0:
		return nil, errorpolicy.InvalidOption("amqp091: QueueOptions.MessageTTL is negative")
	case o.MessageTTL > 0 && o.MessageTTL < time.Millisecond:
		return nil, errorpolicy.InvalidOption("amqp091: QueueOptions.MessageTTL is under a millisecond")
	case o.MessageTTL > 0:
		set(amqp.QueueMessageTTLArg, o.MessageTTL.Milliseconds())
	}
	if o.DeadLetterExchange != "" || o.DeadLetterRoutingKey != "" {
		set("x-dead-letter-exchange", o.DeadLetterExchange)
	}
	if o.DeadLetterRoutingKey != "" {
		set("x-dead-letter-routing-key", o.DeadLetterRoutingKey)
	}
	switch {
	case o.MaxLength < 0:
		return nil, errorpolicy.InvalidOption("amqp091: QueueOptions.MaxLength is negative")
	case o.MaxLength > 0:
		set(amqp.QueueMaxLenArg, int64(o.MaxLength))
	}
	if o.Quorum {
		set(amqp.QueueTypeArg, amqp.QueueTypeQuorum)
	}
	return args, nil
}

// toTable turns arguments into a field table, or says which is unusable
// (errorpolicy.ErrInvalidOption). Nil stays nil.
func toTable(m map[string]any) (amqp.Table, error) {
	if m == nil {
		return nil, nil
	}
	t := make(amqp.Table, len(m))
	for k, v := range m {
		t[k] = argValue(v)
	}
	if err := t.Validate(); err != nil {
		return nil, errorpolicy.InvalidOption("amqp091: arguments: " + err.Error())
	}
	return t, nil
}

// argValue widens Go's int types, which amqp091-go would send as 32 bits or not
// at all, and converts nested maps and slices.
func argValue(v any) any {
	switch v := v.(type) {
	case int:
		return int64(v)
	case uint:
		if uint64(v) <= math.MaxInt64 {
			return int64(v)
		}
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v)
		}
	case map[string]any:
		t := make(amqp.Table, len(v))
		for k, e := range v {
			t[k] = argValue(e)
		}
		return t
	case amqp.Table:
		t := make(amqp.Table, len(v))
		for k, e := range v {
			t[k] = argValue(e)
		}
		return t
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = argValue(e)
		}
		return out
	}
	return v
}

// Channels for one operation.

// opChannel is a channel opened for one operation or transaction, closed after
// it, with the broker's reason when the broker closed it.
type opChannel struct {
	*amqp.Channel
	closes chan *amqp.Error

	mu     sync.Mutex
	reason *amqp.Error // the broker's, once seen
}

func checkConn(c *Conn) error {
	if c == nil {
		return errorpolicy.InvalidOption("amqp091: nil *Conn")
	}
	return nil
}

// openChannel opens a channel on c.
func openChannel(ctx context.Context, c *Conn) (*opChannel, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	wire, err := call(ctx, c.wire.Channel)
	if err != nil {
		return nil, translate(err, errorpolicy.ScopeConn)
	}
	return &opChannel{Channel: wire, closes: wire.NotifyClose(make(chan *amqp.Error, 1))}, nil
}

// onChannel runs f on a channel of its own and closes the channel after it.
// Errors are translated: a channel exception ends only that channel
// (ScopeSession), a connection failure is ScopeConn.
func onChannel[T any](ctx context.Context, c *Conn, f func(*amqp.Channel) (T, error)) (T, error) {
	ch, err := openChannel(ctx, c)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := call(ctx, func() (T, error) { return f(ch.Channel) })
	if err != nil {
		err = ch.error(c, err)
	}
	ch.close(ctx)
	return v, err
}

// error translates the error of an operation on ch, preferring the broker's
// reason for closing the channel (a call made after the close learns only that
// the channel is closed). The scope is the connection's when it has ended.
func (ch *opChannel) error(c *Conn, err error) error {
	var local *errorpolicy.Error
	if errors.As(err, &local) && local.Condition == errorpolicy.CondInvalidOption {
		return err // refused before anything was sent
	}
	ch.mu.Lock()
	if ch.reason == nil {
		select {
		case reason := <-ch.closes:
			ch.reason = reason // nil if closes was closed without one
		default:
			// A call on a channel the broker has just closed fails with ErrClosed
			// before amqp091-go has delivered the close's reason: wait a moment.
			if errors.Is(err, amqp.ErrClosed) {
				timer := time.NewTimer(time.Second)
				defer timer.Stop()
				select {
				case reason := <-ch.closes:
					ch.reason = reason
				case <-timer.C:
				}
			}
		}
	}
	if ch.reason != nil {
		err = ch.reason
	}
	ch.mu.Unlock()
	scope := errorpolicy.ScopeSession
	if c.wire.IsClosed() {
		scope = errorpolicy.ScopeConn
	}
	return translate(err, scope)
}

// close closes ch, waiting for the broker's answer at most until ctx ends.
func (ch *opChannel) close(ctx context.Context) {
	_, _ = call(ctx, func() (struct{}, error) { return struct{}{}, ch.Close() })
}
