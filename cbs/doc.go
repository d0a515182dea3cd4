// Package cbs is claims-based security for Azure Service Bus and Event Hubs style
// endpoints: connection strings, SAS token providers and the put-token exchange on
// the $cbs node, with refresh before expiry.
//
// So far it parses connection strings:
//
//	cs, err := cbs.ParseConnectionString(os.Getenv("SERVICEBUS_CONNECTION_STRING"))
//	client, err := amqplink.Dial(ctx, cs.URL(), nil)
//
// A ConnectionString never prints its key or signature.
package cbs
