package eventhubs

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/session"
)

// ErrOwnershipLost matches the error of a partition receiver whose partition a
// receiver with a higher owner level took (amqp:link:stolen), or whose own
// owner level was too low to attach. It is fatal: the receiver does not retry.
var ErrOwnershipLost = errorpolicy.ErrLinkStolen

// Link properties Event Hubs reads on a receiver's attach.
const (
	epochProperty    = "com.microsoft:epoch"
	identityProperty = "com.microsoft:receiver-name"
)

// PartitionOptions configures a PartitionReceiver. The zero value (or nil)
// reads from the earliest event, with no owner level.
type PartitionOptions struct {
	// StartPosition is where reading starts. Default: the earliest event.
	StartPosition StartPosition
	// OwnerLevel, if set, claims the partition for this consumer group: a
	// receiver with a higher or equal level takes it from receivers with lower
	// ones, which fail with ErrOwnershipLost. Default: none.
	OwnerLevel *int64
	// Identity names the receiver to the service (and in its errors).
	// Default: none.
	Identity string
	// Prefetch is the receiver's credit window. Default: receiver.DefaultPrefetch.
	Prefetch int
	// Policy decides recovery; see receiver.Options.Policy.
	Policy *errorpolicy.Policy
	// Logger receives diagnostics. Default: none.
	Logger *slog.Logger
}

// PartitionReceiver reads the events of one partition for one consumer group.
// Events are settled as they are sent (Event Hubs keeps them; readers keep
// their position), so there is nothing to settle. After a recovery it resumes
// right after the last event it returned.
type PartitionReceiver struct {
	rcv         *receiver.Receiver
	partitionID string

	readMu sync.Mutex // one ReceiveEvents at a time, so events come out in order
	mu     sync.Mutex // guards last and hasLast, read by the re-attach hook
	last   int64
	got    bool
}

// NewPartitionReceiver attaches a receiver to partition partitionID of hub for
// consumerGroup ("$Default" is every hub's default group).
func NewPartitionReceiver(ctx context.Context, sess *session.Session, hub, consumerGroup, partitionID string, o *PartitionOptions) (*PartitionReceiver, error) {
	var opts PartitionOptions
	if o != nil {
		opts = *o
	}
	if hub == "" || consumerGroup == "" || partitionID == "" {
		return nil, errorpolicy.InvalidOption("eventhubs: hub, consumer group and partition id are all needed")
	}
	start, err := opts.StartPosition.filter()
	if err != nil {
		return nil, err
	}
	props := map[string]any{}
	if opts.OwnerLevel != nil {
		props[epochProperty] = *opts.OwnerLevel
	}
	if opts.Identity != "" {
		props[identityProperty] = opts.Identity
	}
	p := &PartitionReceiver{partitionID: partitionID}
	address := hub + "/ConsumerGroups/" + consumerGroup + "/Partitions/" + partitionID
	p.rcv, err = receiver.New(ctx, sess, address, &receiver.Options{
		Prefetch:   opts.Prefetch,
		Mode:       receiver.ReceiveAndDelete,
		Filters:    []link.Filter{start},
		Properties: props,
		Policy:     opts.Policy,
		Logger:     opts.Logger,
		OnReattach: p.resume,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// resume moves the start filter of a new link past the last event returned.
func (p *PartitionReceiver) resume(o *link.ReceiverOptions) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.got {
		o.Filters = []link.Filter{after(p.last)}
	}
}

// PartitionID is the partition the receiver reads.
func (p *PartitionReceiver) PartitionID() string { return p.partitionID }

// LastSequenceNumber is the sequence number of the last event returned, to
// checkpoint; false before the first.
func (p *PartitionReceiver) LastSequenceNumber() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.got
}

// ReceiveEvents waits within ctx for the next events and returns between 1 and
// max of them, in partition order. Calls are serialized.
func (p *PartitionReceiver) ReceiveEvents(ctx context.Context, max int) ([]*Event, error) {
	if max <= 0 {
		return nil, errorpolicy.InvalidOption("eventhubs: ReceiveEvents of no events")
	}
	p.readMu.Lock()
	defer p.readMu.Unlock()
	for {
		ds, err := p.rcv.ReceiveBatch(ctx, max, nil)
		events, cerr := p.accept(ds)
		if err = errors.Join(err, cerr); len(events) > 0 || err != nil {
			return events, err
		}
	}
}

// accept turns deliveries into events, dropping any at or before the last one
// returned: a recovery may race a delivery that was already handed out. An
// event the service sent without its annotations is reported, not dropped
// silently.
func (p *PartitionReceiver) accept(ds []*message.Delivery) ([]*Event, error) {
	events := make([]*Event, 0, len(ds))
	var errs []error
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range ds {
		e, err := eventOf(d.Message)
		if err != nil {
			errs = append(errs, errorpolicy.New(errorpolicy.CondProtocol, err.Error(), nil))
			continue
		}
		if p.got && e.SequenceNumber <= p.last {
			continue
		}
		p.last, p.got = e.SequenceNumber, true
		events = append(events, e)
	}
	return events, errors.Join(errs...)
}

// Done is closed when the receiver has stopped; Err then says why.
func (p *PartitionReceiver) Done() <-chan struct{} { return p.rcv.Done() }

// Err is why the receiver stopped, such as an error matching ErrOwnershipLost.
func (p *PartitionReceiver) Err() error { return p.rcv.Err() }

// Close detaches the receiver.
func (p *PartitionReceiver) Close(ctx context.Context) error { return p.rcv.Close(ctx) }
