// Package amqptest is an in-process AMQP 1.0 broker for tests, in the manner of
// net/http/httptest and miniredis: a real server, on a real loopback socket, in
// the test's own process.
//
//	srv := amqptest.NewTestServer(t, nil) // closed when the test ends
//	client, err := amqplink.Dial(ctx, srv.URL(), nil)
//
// It speaks AMQP 1.0 with its own codec: SASL (ANONYMOUS, PLAIN against
// Options.Users), sessions, links, credit and drain, pre-settled and unsettled
// transfers, multi-frame transfers, and the outcomes: accepted deletes a
// message, released puts it back, modified puts it back (counting a failed
// delivery), rejected moves it to the dead-letter queue "<queue>/$deadletterqueue".
// Queues are created on first use unless Options.RequireQueues is set; a queue
// made with CreateQueue may have a maximum length, past which sends are
// rejected with amqp:resource-limit-exceeded. Tests inspect queues with Queue
// and put messages in them with Put.
//
// Queues lock messages as Azure Service Bus PeekLock does. An unsettled
// delivery's tag is its lock token, a random UUID in .NET GUID byte order, and
// its message carries x-opt-sequence-number, x-opt-enqueued-time and
// x-opt-locked-until. A lock lasts QueueOptions.LockDuration (default
// Options.LockDuration, else 30 s); when it runs out the message goes back to
// the queue as a failed delivery, and a link with rcv-settle-mode second that
// settles it late is answered rejected with com.microsoft:message-lock-lost.
// Modified with undeliverable-here keeps a message off that link. Each queue
// has a "<queue>/$management" node for com.microsoft:renew-lock, peek-message
// and update-disposition (lock-tokens in RFC 4122 byte order; statusCode 410
// for a lock not held). FastForward moves the server's clock, so lock and
// token expiry need no sleeping; Peek shows a queue's messages and locks.
//
// It is not a production broker: everything lives in memory, under one lock.
//
// Event hubs made with CreateEventHub behave as Azure Event Hubs partitions:
// logs whose events are never removed. A sender to "<hub>" spreads events over
// the partitions (by a hash of the x-opt-partition-key annotation, else round
// robin), one to "<hub>/Partitions/<id>" picks one, and a batch (message format
// 0x80013700) goes to one partition, an event per message. Each event gets
// x-opt-sequence-number, x-opt-offset (a string, as the service sends it: the
// event's byte position in its partition) and x-opt-enqueued-time. A receiver
// from "<hub>/ConsumerGroups/<group>/Partitions/<id>" reads from where its
// apache.org:selector-filter:string says (the earliest event without one) on
// a cursor of its own, and settling changes nothing; the link property
// com.microsoft:epoch takes a partition over, detaching the others with
// amqp:link:stolen. READ on "$management" answers for hubs and partitions.
// Tests inspect hubs with EventHub and add events with PublishEvent.
//
// Pipe, and Dial, which fits amqp10.Options.Dial, connect a client through an
// in-memory net.Pipe instead of a socket. Made inside a testing/synctest
// bubble, with Options.PipeOnly, the server runs on the bubble's fake clock:
// idle timeouts, heartbeats, token expiry and reconnect backoff pass at once,
// at exact times.
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true})
//		client, err := amqplink.Dial(ctx, srv.URL(), &amqplink.Options{
//			AMQP10: &amqp10.Options{Dial: srv.Dial}})
//		…
//	})
//
// Options.Trace sees every frame the server reads and writes, as one line:
// connection, direction, channel, the performative with its key fields, and
// the payload size. With Options.TraceLast the server keeps the latest frames
// for Trace, and NewTestServer logs them when the test fails.
package amqptest
