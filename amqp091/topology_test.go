package amqp091

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
)

// fakeDeclarer records what a replay declares, names server-named queues
// gen-1, gen-2, … and fails the declaration named in failOn.
type fakeDeclarer struct {
	calls  []string
	gen    int
	failOn string
}

func (f *fakeDeclarer) fail(call string) error {
	f.calls = append(f.calls, call)
	if call == f.failOn {
		return &amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no " + call, Server: true}
	}
	return nil
}

func (f *fakeDeclarer) ExchangeDeclare(name, kind string, durable, autoDelete, internal, _ bool, _ amqp.Table) error {
	return f.fail(fmt.Sprintf("exchange %s %s durable=%t auto-delete=%t internal=%t", name, kind, durable, autoDelete, internal))
}

func (f *fakeDeclarer) ExchangeBind(destination, key, source string, _ bool, _ amqp.Table) error {
	return f.fail(fmt.Sprintf("xbind %s->%s %s", source, destination, key))
}

func (f *fakeDeclarer) QueueDeclare(name string, durable, autoDelete, exclusive, _ bool, args amqp.Table) (amqp.Queue, error) {
	got := name
	if name == "" {
		f.gen++
		got = fmt.Sprintf("gen-%d", f.gen)
	}
	err := f.fail(fmt.Sprintf("queue %q durable=%t auto-delete=%t exclusive=%t args=%d", name, durable, autoDelete, exclusive, len(args)))
	return amqp.Queue{Name: got}, err
}

func (f *fakeDeclarer) QueueBind(name, key, exchange string, _ bool, _ amqp.Table) error {
	return f.fail(fmt.Sprintf("qbind %s->%s %s", exchange, name, key))
}

func TestQueueOptionsArguments(t *testing.T) {
	args, err := QueueOptions{
		Args:                 map[string]any{"x-overflow": "reject-publish", "x-max-length": 99, "x-expires": 60000},
		MessageTTL:           1500 * time.Millisecond,
		DeadLetterExchange:   "dlx",
		DeadLetterRoutingKey: "dead",
		MaxLength:            10,
		Quorum:               true,
	}.table()
	require.NoError(t, err)
	assert.Equal(t, amqp.Table{
		"x-overflow":                "reject-publish",
		"x-max-length":              int64(10), // the field wins over Args
		"x-expires":                 int64(60000),
		"x-message-ttl":             int64(1500),
		"x-dead-letter-exchange":    "dlx",
		"x-dead-letter-routing-key": "dead",
		"x-queue-type":              "quorum",
	}, args)

	args, err = QueueOptions{DeadLetterRoutingKey: "parking"}.table()
	require.NoError(t, err)
	assert.Equal(t, amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "parking"}, args,
		"a routing key alone dead-letters through the default exchange")

	args, err = QueueOptions{}.table()
	require.NoError(t, err)
	assert.Nil(t, args)

	for name, o := range map[string]QueueOptions{
		"negative TTL":        {MessageTTL: -time.Second},
		"TTL under 1 ms":      {MessageTTL: time.Microsecond},
		"negative max length": {MaxLength: -1},
		"unsupported value":   {Args: map[string]any{"x-bad": struct{}{}}},
	} {
		_, err := o.table()
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, name)
	}
}

func TestArgValuesWiden(t *testing.T) {
	tbl, err := toTable(map[string]any{
		"int": 1 << 40, "uint": uint(7), "nested": map[string]any{"n": 3}, "list": []any{1, "a"},
	})
	require.NoError(t, err)
	assert.Equal(t, amqp.Table{
		"int": int64(1 << 40), "uint": int64(7), "nested": amqp.Table{"n": int64(3)}, "list": []any{int64(1), "a"},
	}, tbl)
}

func TestOperationsCheckTheirOptions(t *testing.T) {
	ctx := context.Background()
	var topo *Topology // nil records nothing, and checks all the same
	c := &Conn{}       // never reached: the options are refused first
	_, err := topo.DeclareQueue(ctx, nil, QueueOptions{Name: "q"})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "nil conn")
	assert.ErrorIs(t, topo.DeclareExchange(ctx, c, ExchangeOptions{}), errorpolicy.ErrInvalidOption)
	assert.ErrorIs(t, topo.DeleteExchange(ctx, c, DeleteExchangeOptions{}), errorpolicy.ErrInvalidOption)
	assert.ErrorIs(t, topo.BindExchange(ctx, c, ExchangeBinding{Source: "a"}), errorpolicy.ErrInvalidOption)
	assert.ErrorIs(t, topo.BindQueue(ctx, c, QueueBinding{Queue: "q"}), errorpolicy.ErrInvalidOption)
	_, err = topo.DeclareQueue(ctx, c, QueueOptions{Passive: true})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "passive without a name")
	_, err = topo.DeclareQueue(ctx, c, QueueOptions{Name: "q", MaxLength: -1})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	_, err = topo.DeleteQueue(ctx, c, DeleteQueueOptions{})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	_, err = topo.PurgeQueue(ctx, c, "")
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
}

// sample records, as the operations would after the broker said yes.
func sampleTopology() *Topology {
	t := &Topology{}
	t.record(record{kind: kindExchange, ex: ExchangeOptions{Name: "orders", Kind: "topic", Durable: true}})
	t.record(record{kind: kindExchange, ex: ExchangeOptions{Name: "audit", Kind: "fanout"}})
	t.record(record{kind: kindExchangeBinding, xb: ExchangeBinding{Destination: "audit", Source: "orders", Key: "#"}})
	t.record(record{kind: kindQueue, q: QueueOptions{Name: "work", Durable: true, MaxLength: 5}})
	t.record(record{kind: kindQueueBinding, qb: QueueBinding{Queue: "work", Exchange: "orders", Key: "order.*"}})
	t.record(record{kind: kindQueue, q: QueueOptions{Name: "amq.gen-1", Exclusive: true}, serverNamed: true})
	t.record(record{kind: kindQueueBinding, qb: QueueBinding{Queue: "amq.gen-1", Exchange: "audit"}})
	return t
}

func TestReplayDeclaresInOrderAndRenamesServerNamedQueues(t *testing.T) {
	topo := sampleTopology()
	var f fakeDeclarer
	renames, _, err := topo.replayOn(context.Background(), &f)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"exchange orders topic durable=true auto-delete=false internal=false",
		"exchange audit fanout durable=false auto-delete=false internal=false",
		"xbind orders->audit #",
		`queue "work" durable=true auto-delete=false exclusive=false args=1`,
		"qbind orders->work order.*",
		`queue "" durable=false auto-delete=false exclusive=true args=0`,
		"qbind audit->gen-1 ",
	}, f.calls)
	assert.Equal(t, [][2]string{{"amq.gen-1", "gen-1"}}, renames)

	// The record took the new name: the next replay renames gen-1.
	f = fakeDeclarer{gen: 1}
	renames, _, err = topo.replayOn(context.Background(), &f)
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"gen-1", "gen-2"}}, renames)
	assert.Equal(t, "qbind audit->gen-2 ", f.calls[len(f.calls)-1])
}

func TestReplayStopsAtTheFirstRefusal(t *testing.T) {
	topo := sampleTopology()
	f := fakeDeclarer{failOn: "xbind orders->audit #"}
	_, what, err := topo.replayOn(context.Background(), &f)
	require.Error(t, err)
	assert.Len(t, f.calls, 3)
	assert.Equal(t, `binding exchange audit to orders with key "#"`, what)
	err = replayError(translate(err, errorpolicy.ScopeSession), what)
	assert.ErrorIs(t, err, errorpolicy.ErrNotFound)
	var e *errorpolicy.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, errorpolicy.ScopeConn, e.Scope, "the dial failed")
	assert.Contains(t, e.Description, "replaying the topology: binding exchange audit to orders")
	assert.Equal(t, uint16(404), e.ReplyCode)
}

func TestDeletesAndUnbindsLeaveTheRecord(t *testing.T) {
	kinds := func(topo *Topology) []string {
		var out []string
		for _, r := range topo.records {
			switch r.kind {
			case kindExchange:
				out = append(out, "x:"+r.ex.Name)
			case kindQueue:
				out = append(out, "q:"+r.q.Name)
			case kindExchangeBinding:
				out = append(out, "xb:"+r.xb.Source+">"+r.xb.Destination)
			case kindQueueBinding:
				out = append(out, "qb:"+r.qb.Exchange+">"+r.qb.Queue)
			}
		}
		return out
	}

	topo := sampleTopology()
	// Declaring again replaces in place; a binding with other arguments is another binding.
	topo.record(record{kind: kindExchange, ex: ExchangeOptions{Name: "orders", Kind: "topic", Durable: true}})
	topo.record(record{kind: kindQueueBinding, qb: QueueBinding{Queue: "work", Exchange: "orders", Key: "order.*", Args: map[string]any{}}})
	topo.record(record{kind: kindQueueBinding, qb: QueueBinding{Queue: "work", Exchange: "audit", Args: map[string]any{"n": 1}}})
	assert.Equal(t, []string{"x:orders", "x:audit", "xb:orders>audit", "q:work", "qb:orders>work", "q:amq.gen-1", "qb:audit>amq.gen-1", "qb:audit>work"}, kinds(topo))

	// Unbinding removes the binding with equal arguments only (int and int64 alike).
	topo.remove(func(r *record) bool {
		return r.kind == kindQueueBinding && r.qb.same(QueueBinding{Queue: "work", Exchange: "audit", Args: map[string]any{"n": int64(1)}})
	})
	assert.Equal(t, []string{"x:orders", "x:audit", "xb:orders>audit", "q:work", "qb:orders>work", "q:amq.gen-1", "qb:audit>amq.gen-1"}, kinds(topo))

	// Deleting the queue takes its bindings; deleting an exchange takes the
	// bindings from it and to it.
	topo.forgetQueue("work")
	assert.Equal(t, []string{"x:orders", "x:audit", "xb:orders>audit", "q:amq.gen-1", "qb:audit>amq.gen-1"}, kinds(topo))
	topo.forgetExchange("audit")
	assert.Equal(t, []string{"x:orders", "q:amq.gen-1"}, kinds(topo))

	var nilTopo *Topology
	nilTopo.record(record{kind: kindExchange, ex: ExchangeOptions{Name: "x"}}) // no panic, nothing kept
	nilTopo.remove(func(*record) bool { return true })
	assert.NoError(t, nilTopo.replay(context.Background(), nil))
}
