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
// It is not a production broker: everything lives in memory, under one lock.
package amqptest
