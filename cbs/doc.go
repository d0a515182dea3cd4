// Package cbs is claims-based security for Azure Service Bus and Event Hubs style
// endpoints: connection strings, token providers, a request/response client for
// service nodes (RPC), and the put-token exchange on the $cbs node with refresh
// before expiry.
//
// Give amqplink.Dial a TokenProvider and every link is authorized before it
// attaches, after every reconnect, and again before each token expires, on a
// timer that never depends on the application:
//
//	key := &cbs.SASKey{KeyName: "RootManageSharedAccessKey", Key: secret}
//	client, err := amqplink.Dial(ctx, "amqps://ns.servicebus.windows.net", &amqplink.Options{TokenProvider: key})
//
// Providers: SASKey signs shared access signatures (1 h by default), SASToken
// passes a fixed one. A refused token fails with errorpolicy.ErrUnauthorized
// wrapping a *StatusError, and is never retried.
//
// Connection strings:
//
//	cs, err := cbs.ParseConnectionString(os.Getenv("SERVICEBUS_CONNECTION_STRING"))
//	client, err := amqplink.Dial(ctx, cs.URL(), nil)
//
// Nothing here prints a key, a signature or a token.
package cbs
