package session

import (
	"context"

	"github.com/amqplink/amqplink/link"
)

// Links returns s as a link.Session, for code written against the driver
// contract (such as cbs.NewRPC): the links it attaches belong to s and close
// with it. Closing the returned value does nothing; close s itself.
func (s *Session) Links() link.Session { return linkSession{s} }

type linkSession struct{ s *Session }

func (l linkSession) NewReceiver(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	return l.s.NewReceiverLink(ctx, o)
}

func (l linkSession) NewSender(ctx context.Context, o link.SenderOptions) (link.SenderLink, error) {
	return l.s.NewSenderLink(ctx, o)
}

func (linkSession) Close(context.Context) error { return nil }
