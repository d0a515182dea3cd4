// Package session is a Session that owns its links: closing it closes every link
// it opened, each close bounded by the caller's context, and then ends the
// underlying session (AMQP 0-9-1: the channel).
//
// The receiver and sender packages attach their links through a Session, so a
// program can shut down a group of links with one call:
//
//	sess, err := client.NewSession(ctx, nil)
//	...
//	defer sess.Close(ctx)
//
// A Session is safe for concurrent use.
package session
