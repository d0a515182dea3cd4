// Package message is amqplink's protocol-neutral message model: every section of an
// AMQP 1.0 message, the outcomes a receiver settles with, and the Delivery a receiver
// hands out.
//
// Both drivers (AMQP 1.0 and 0-9-1) translate to and from these types, so application
// code never sees a wire library's types. Optional fields are pointers or nil-able maps:
// a field that was never set is absent on the wire, which is distinct from its zero value.
//
// Build a message with the helpers and settle a delivery through its own methods:
//
//	msg := message.NewText("hello")
//	msg.Properties = &message.Properties{MessageID: "order-42"}
//	...
//	d, err := rcv.Receive(ctx)
//	if err == nil {
//		err = d.Accept(ctx)
//	}
//
// The package imports no protocol library.
package message
