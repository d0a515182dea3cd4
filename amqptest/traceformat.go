package amqptest

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// describe puts a frame's body on one line for the trace: the performative's
// name and the fields one looks for when a test fails (names, handles, ids,
// credit, settlement, outcomes, errors), leaving out what is rarely the
// question (windows, capabilities, properties).
func describe(body any) string {
	var l line
	switch v := body.(type) {
	case nil:
		return "empty"
	case protoHeader:
		if v.sasl {
			return "header(sasl)"
		}
		return "header(amqp)"
	case error:
		l.add("undecodable", v.Error())
	case *wire.Open:
		l.add("container", v.ContainerID)
		l.add("hostname", v.Hostname)
		l.num("max-frame", uint64(v.MaxFrameSize))
		l.num("channel-max", uint64(v.ChannelMax))
		if v.IdleTimeout > 0 {
			l.add("idle", (time.Duration(v.IdleTimeout) * time.Millisecond).String())
		}
		return l.named("open")
	case *wire.Begin:
		if v.RemoteChannel != nil {
			l.add("remote-channel", strconv.Itoa(int(*v.RemoteChannel)))
		}
		l.add("next-out", strconv.FormatUint(uint64(v.NextOutgoingID), 10))
		l.add("in-window", strconv.FormatUint(uint64(v.IncomingWindow), 10))
		l.add("out-window", strconv.FormatUint(uint64(v.OutgoingWindow), 10))
		return l.named("begin")
	case *wire.Attach:
		l.add("name", v.Name)
		l.add("handle", strconv.FormatUint(uint64(v.Handle), 10))
		l.add("role", role(v.Role))
		l.add("snd", [...]string{"unsettled", "settled", "mixed"}[min(int(v.SndSettleMode), 2)])
		l.add("rcv", [...]string{"first", "second"}[min(int(v.RcvSettleMode), 1)])
		switch {
		case v.Source == nil:
			l.add("source", "none")
		case v.Source.Dynamic:
			l.add("source", "dynamic")
		case v.Source.Address != nil:
			l.add("source", *v.Source.Address)
		}
		if v.Source != nil && v.Source.Filter != nil && len(v.Source.Filter.Entries) > 0 {
			l.add("filters", strconv.Itoa(len(v.Source.Filter.Entries)))
		}
		switch {
		case v.Target == nil:
			l.add("target", "none")
		case v.Target.Dynamic:
			l.add("target", "dynamic")
		case v.Target.Address != nil:
			l.add("target", *v.Target.Address)
		}
		if v.InitialDeliveryCount != nil {
			l.add("delivery-count", strconv.FormatUint(uint64(*v.InitialDeliveryCount), 10))
		}
		l.num("max-message", v.MaxMessageSize)
		return l.named("attach")
	case *wire.Flow:
		if v.Handle != nil {
			l.add("handle", strconv.FormatUint(uint64(*v.Handle), 10))
		}
		if v.DeliveryCount != nil {
			l.add("delivery-count", strconv.FormatUint(uint64(*v.DeliveryCount), 10))
		}
		if v.LinkCredit != nil {
			l.add("credit", strconv.FormatUint(uint64(*v.LinkCredit), 10))
		}
		if v.Available != nil {
			l.add("available", strconv.FormatUint(uint64(*v.Available), 10))
		}
		l.flag("drain", v.Drain)
		l.flag("echo", v.Echo)
		if v.NextIncomingID != nil {
			l.add("next-in", strconv.FormatUint(uint64(*v.NextIncomingID), 10))
		}
		l.add("in-window", strconv.FormatUint(uint64(v.IncomingWindow), 10))
		return l.named("flow")
	case *wire.Transfer:
		l.add("handle", strconv.FormatUint(uint64(v.Handle), 10))
		if v.DeliveryID != nil {
			l.add("id", strconv.FormatUint(uint64(*v.DeliveryID), 10))
		}
		if v.DeliveryTag != nil {
			l.add("tag", tag(v.DeliveryTag))
		}
		if v.MessageFormat != nil && *v.MessageFormat != 0 {
			l.add("format", "0x"+strconv.FormatUint(uint64(*v.MessageFormat), 16))
		}
		l.flag("settled", v.Settled)
		l.flag("more", v.More)
		l.flag("aborted", v.Aborted)
		if v.State != nil {
			l.add("state", state(v.State))
		}
		return l.named("transfer")
	case *wire.Disposition:
		l.add("role", role(v.Role))
		l.add("first", strconv.FormatUint(uint64(v.First), 10))
		if v.Last != nil && *v.Last != v.First {
			l.add("last", strconv.FormatUint(uint64(*v.Last), 10))
		}
		l.flag("settled", v.Settled)
		if v.State != nil {
			l.add("state", state(v.State))
		}
		return l.named("disposition")
	case *wire.Detach:
		l.add("handle", strconv.FormatUint(uint64(v.Handle), 10))
		l.flag("closed", v.Closed)
		l.err(v.Error)
		return l.named("detach")
	case *wire.End:
		l.err(v.Error)
		return l.named("end")
	case *wire.Close:
		l.err(v.Error)
		return l.named("close")
	case *wire.SASLMechanisms:
		for _, m := range v.Mechanisms {
			l.parts = append(l.parts, string(m))
		}
		return l.named("sasl-mechanisms")
	case *wire.SASLInit:
		l.add("mechanism", string(v.Mechanism)) // not the response: it holds the password
		return l.named("sasl-init")
	case *wire.SASLOutcome:
		l.add("code", [...]string{"ok", "auth", "sys", "sys-perm", "sys-temp", "?"}[min(int(v.Code), 5)])
		return l.named("sasl-outcome")
	default:
		return fmt.Sprintf("%T", body)
	}
	return l.named("frame")
}

// line gathers "key=value" parts.
type line struct{ parts []string }

func (l *line) add(key, value string) {
	if value == "" {
		return
	}
	if strings.ContainsAny(value, " ()=") {
		value = strconv.Quote(value)
	}
	l.parts = append(l.parts, key+"="+value)
}

func (l *line) num(key string, n uint64) {
	if n != 0 {
		l.add(key, strconv.FormatUint(n, 10))
	}
}

func (l *line) flag(key string, on bool) {
	if on {
		l.parts = append(l.parts, key)
	}
}

func (l *line) err(e *wire.Error) {
	if e != nil {
		l.add("error", e.Error())
	}
}

func (l *line) named(name string) string { return name + "(" + strings.Join(l.parts, " ") + ")" }

func role(r bool) string {
	if r == wire.RoleReceiver {
		return "receiver"
	}
	return "sender"
}

// tag shows a delivery tag as hex, shortened past 16 bytes.
func tag(b []byte) string {
	if len(b) > 16 {
		return hex.EncodeToString(b[:16]) + "…"
	}
	return hex.EncodeToString(b)
}

// state names a delivery state, with the error of a rejection.
func state(s any) string {
	switch v := s.(type) {
	case *wire.Accepted:
		return "accepted"
	case *wire.Released:
		return "released"
	case *wire.Rejected:
		if v.Error != nil {
			return "rejected:" + string(v.Error.Condition)
		}
		return "rejected"
	case *wire.Modified:
		out := "modified"
		if v.DeliveryFailed {
			out += ":failed"
		}
		if v.UndeliverableHere {
			out += ":undeliverable-here"
		}
		return out
	case *wire.Received:
		return fmt.Sprintf("received:%d/%d", v.SectionNumber, v.SectionOffset)
	}
	return fmt.Sprintf("%T", s)
}
