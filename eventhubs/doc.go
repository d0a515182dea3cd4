// Package eventhubs reads Azure Event Hubs style partitions over AMQP 1.0 with
// the neutral receiver: a partition receiver starts at a position (earliest,
// latest, an offset, a sequence number or an enqueued time, inclusive or not),
// may claim ownership with an owner level (epoch), and after a recovery resumes
// right after the last event it handed out, so nothing is replayed.
//
//	pr, err := eventhubs.NewPartitionReceiver(ctx, sess, "telemetry", "$Default", "0",
//		&eventhubs.PartitionOptions{StartPosition: eventhubs.StartPosition{Latest: true}})
//	...
//	events, err := pr.ReceiveEvents(ctx, 100)
//
// When a receiver with a higher owner level takes the partition, the one it
// replaced fails with an error matching ErrOwnershipLost, and does not retry.
package eventhubs
