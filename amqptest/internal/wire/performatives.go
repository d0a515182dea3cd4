package wire

import "fmt"

// Descriptor codes of the composite types the server speaks.
const (
	DescOpen        uint64 = 0x10
	DescBegin       uint64 = 0x11
	DescAttach      uint64 = 0x12
	DescFlow        uint64 = 0x13
	DescTransfer    uint64 = 0x14
	DescDisposition uint64 = 0x15
	DescDetach      uint64 = 0x16
	DescEnd         uint64 = 0x17
	DescClose       uint64 = 0x18
	DescError       uint64 = 0x1d

	DescReceived uint64 = 0x23
	DescAccepted uint64 = 0x24
	DescRejected uint64 = 0x25
	DescReleased uint64 = 0x26
	DescModified uint64 = 0x27
	DescSource   uint64 = 0x28
	DescTarget   uint64 = 0x29

	DescSASLMechanisms uint64 = 0x40
	DescSASLInit       uint64 = 0x41
	DescSASLChallenge  uint64 = 0x42
	DescSASLResponse   uint64 = 0x43
	DescSASLOutcome    uint64 = 0x44

	DescHeader                uint64 = 0x70
	DescDeliveryAnnotations   uint64 = 0x71
	DescMessageAnnotations    uint64 = 0x72
	DescProperties            uint64 = 0x73
	DescApplicationProperties uint64 = 0x74
	DescData                  uint64 = 0x75
	DescAMQPSequence          uint64 = 0x76
	DescAMQPValue             uint64 = 0x77
	DescFooter                uint64 = 0x78
)

// Settle modes as they travel in attach frames.
const (
	SndUnsettled uint8 = 0
	SndSettled   uint8 = 1
	SndMixed     uint8 = 2
	RcvFirst     uint8 = 0
	RcvSecond    uint8 = 1
)

// Link roles: the role is a boolean on the wire.
const (
	RoleSender   = false
	RoleReceiver = true
)

// Open is the open performative.
type Open struct {
	ContainerID         string
	Hostname            string
	MaxFrameSize        uint32 // 0 on decode means absent: no limit
	ChannelMax          uint16 // 0 on decode means absent: 65535
	IdleTimeout         uint32 // milliseconds; 0: none
	OfferedCapabilities any
	DesiredCapabilities any
	Properties          *Map
}

// Begin is the begin performative.
type Begin struct {
	RemoteChannel  *uint16
	NextOutgoingID uint32
	IncomingWindow uint32
	OutgoingWindow uint32
	HandleMax      uint32 // 0 on decode means absent: no limit
}

// Attach is the attach performative.
type Attach struct {
	Name                 string
	Handle               uint32
	Role                 bool
	SndSettleMode        uint8 // SndMixed when absent
	RcvSettleMode        uint8 // RcvFirst when absent
	Source               *Source
	Target               *Target
	InitialDeliveryCount *uint32
	MaxMessageSize       uint64 // 0: no limit
	OfferedCapabilities  any
	DesiredCapabilities  any
	Properties           *Map
}

// Source is a link's source terminus.
type Source struct {
	Address      *string
	Durable      uint32
	ExpiryPolicy Symbol
	Timeout      uint32
	Dynamic      bool
	Filter       *Map
	Capabilities any
}

// Target is a link's target terminus.
type Target struct {
	Address      *string
	Durable      uint32
	ExpiryPolicy Symbol
	Timeout      uint32
	Dynamic      bool
	Capabilities any
}

// Flow is the flow performative.
type Flow struct {
	NextIncomingID *uint32
	IncomingWindow uint32
	NextOutgoingID uint32
	OutgoingWindow uint32
	Handle         *uint32
	DeliveryCount  *uint32
	LinkCredit     *uint32
	Available      *uint32
	Drain          bool
	Echo           bool
	Properties     *Map
}

// Transfer is the transfer performative; its payload travels in Frame.Payload.
type Transfer struct {
	Handle        uint32
	DeliveryID    *uint32
	DeliveryTag   []byte
	MessageFormat *uint32
	Settled       bool
	More          bool
	RcvSettleMode *uint8
	State         any // a delivery state (*Accepted, …) or nil
	Resume        bool
	Aborted       bool
	Batchable     bool
}

// Disposition is the disposition performative.
type Disposition struct {
	Role      bool
	First     uint32
	Last      *uint32
	Settled   bool
	State     any
	Batchable bool
}

// Detach is the detach performative.
type Detach struct {
	Handle uint32
	Closed bool
	Error  *Error
}

// End is the end performative.
type End struct{ Error *Error }

// Close is the close performative.
type Close struct{ Error *Error }

// Error is an AMQP error.
type Error struct {
	Condition   Symbol
	Description string
	Info        *Map
}

func (e *Error) Error() string {
	if e.Description == "" {
		return string(e.Condition)
	}
	return string(e.Condition) + ": " + e.Description
}

// Delivery states and outcomes.
type (
	Accepted struct{}
	Rejected struct{ Error *Error }
	Released struct{}
	Modified struct {
		DeliveryFailed     bool
		UndeliverableHere  bool
		MessageAnnotations *Map
	}
	Received struct {
		SectionNumber uint32
		SectionOffset uint64
	}
)

// SASL frames.
type (
	SASLMechanisms struct{ Mechanisms []Symbol }
	SASLInit       struct {
		Mechanism       Symbol
		InitialResponse []byte
		Hostname        string
	}
	SASLOutcome struct {
		Code           uint8 // 0 ok, 1 auth, 2 sys, 3 sys-perm, 4 sys-temp
		AdditionalData []byte
	}
)

// Encode turns a performative, terminus, error, delivery state or SASL frame
// into the described value that goes on the wire.
func Encode(v any) *Described {
	switch v := v.(type) {
	case *Open:
		return described(DescOpen, v.ContainerID, optString(v.Hostname), optUint32(v.MaxFrameSize),
			optUint16(v.ChannelMax), optUint32(v.IdleTimeout), nil, nil,
			v.OfferedCapabilities, v.DesiredCapabilities, optMap(v.Properties))
	case *Begin:
		return described(DescBegin, ptr16(v.RemoteChannel), v.NextOutgoingID, v.IncomingWindow,
			v.OutgoingWindow, optUint32(v.HandleMax))
	case *Attach:
		return described(DescAttach, v.Name, v.Handle, v.Role, v.SndSettleMode, v.RcvSettleMode,
			encodeOpt(v.Source), encodeOpt(v.Target), nil, nil, ptr32(v.InitialDeliveryCount),
			optUint64(v.MaxMessageSize), v.OfferedCapabilities, v.DesiredCapabilities, optMap(v.Properties))
	case *Source:
		return described(DescSource, ptrString(v.Address), v.Durable, optSymbol(v.ExpiryPolicy), v.Timeout,
			v.Dynamic, nil, nil, optMap(v.Filter), nil, nil, v.Capabilities)
	case *Target:
		return described(DescTarget, ptrString(v.Address), v.Durable, optSymbol(v.ExpiryPolicy), v.Timeout,
			v.Dynamic, nil, v.Capabilities)
	case *Flow:
		return described(DescFlow, ptr32(v.NextIncomingID), v.IncomingWindow, v.NextOutgoingID,
			v.OutgoingWindow, ptr32(v.Handle), ptr32(v.DeliveryCount), ptr32(v.LinkCredit),
			ptr32(v.Available), v.Drain, v.Echo, optMap(v.Properties))
	case *Transfer:
		var rsm any
		if v.RcvSettleMode != nil {
			rsm = *v.RcvSettleMode
		}
		return described(DescTransfer, v.Handle, ptr32(v.DeliveryID), optBytes(v.DeliveryTag), ptr32(v.MessageFormat),
			v.Settled, v.More, rsm, encodeOpt(v.State), v.Resume, v.Aborted, v.Batchable)
	case *Disposition:
		return described(DescDisposition, v.Role, v.First, ptr32(v.Last), v.Settled, encodeOpt(v.State), v.Batchable)
	case *Detach:
		return described(DescDetach, v.Handle, v.Closed, encodeOpt(v.Error))
	case *End:
		return described(DescEnd, encodeOpt(v.Error))
	case *Close:
		return described(DescClose, encodeOpt(v.Error))
	case *Error:
		return described(DescError, v.Condition, optString(v.Description), optMap(v.Info))
	case *Accepted:
		return described(DescAccepted)
	case *Released:
		return described(DescReleased)
	case *Rejected:
		return described(DescRejected, encodeOpt(v.Error))
	case *Modified:
		return described(DescModified, v.DeliveryFailed, v.UndeliverableHere, optMap(v.MessageAnnotations))
	case *Received:
		return described(DescReceived, v.SectionNumber, v.SectionOffset)
	case *SASLMechanisms:
		return described(DescSASLMechanisms, &Array{Constructor: codeSym8, Elems: symbolsToAny(v.Mechanisms)})
	case *SASLInit:
		return described(DescSASLInit, v.Mechanism, optBytes(v.InitialResponse), optString(v.Hostname))
	case *SASLOutcome:
		return described(DescSASLOutcome, v.Code, optBytes(v.AdditionalData))
	}
	panic(fmt.Sprintf("wire: Encode of %T", v)) // a bug in the server, never input
}

// Decode turns a decoded described value into the performative, terminus, error,
// delivery state or SASL frame it stands for. Unknown descriptors and fields of
// the wrong type are errors wrapping ErrMalformed.
func Decode(v any) (any, error) {
	d, ok := v.(*Described)
	if !ok {
		return nil, fmt.Errorf("wire: expected a described value, got %T: %w", v, ErrMalformed)
	}
	code, ok := d.Descriptor.(uint64)
	if !ok {
		return nil, fmt.Errorf("wire: descriptor %v is not a code: %w", d.Descriptor, ErrMalformed)
	}
	f, err := newFields(code, d.Value)
	if err != nil {
		return nil, err
	}
	var out any
	switch code {
	case DescOpen:
		out = &Open{
			ContainerID: f.str(0), Hostname: f.str(1), MaxFrameSize: f.u32(2), ChannelMax: f.u16(3),
			IdleTimeout: f.u32(4), OfferedCapabilities: f.any(7), DesiredCapabilities: f.any(8), Properties: f.mp(9),
		}
	case DescBegin:
		out = &Begin{
			RemoteChannel: f.u16p(0), NextOutgoingID: f.u32(1), IncomingWindow: f.u32(2),
			OutgoingWindow: f.u32(3), HandleMax: f.u32(4),
		}
	case DescAttach:
		a := &Attach{
			Name: f.str(0), Handle: f.u32(1), Role: f.bool(2), SndSettleMode: SndMixed, RcvSettleMode: RcvFirst,
			InitialDeliveryCount: f.u32p(9), MaxMessageSize: f.u64(10), OfferedCapabilities: f.any(11),
			DesiredCapabilities: f.any(12), Properties: f.mp(13),
		}
		if m, ok := f.u8p(3); ok {
			a.SndSettleMode = m
		}
		if m, ok := f.u8p(4); ok {
			a.RcvSettleMode = m
		}
		a.Source, _ = f.nested(5).(*Source)
		a.Target, _ = f.nested(6).(*Target)
		out = a
	case DescSource:
		out = &Source{
			Address: f.addr(0), Durable: f.u32(1), ExpiryPolicy: f.sym(2), Timeout: f.u32(3),
			Dynamic: f.bool(4), Filter: f.mp(7), Capabilities: f.any(10),
		}
	case DescTarget:
		out = &Target{
			Address: f.addr(0), Durable: f.u32(1), ExpiryPolicy: f.sym(2), Timeout: f.u32(3),
			Dynamic: f.bool(4), Capabilities: f.any(6),
		}
	case DescFlow:
		out = &Flow{
			NextIncomingID: f.u32p(0), IncomingWindow: f.u32(1), NextOutgoingID: f.u32(2),
			OutgoingWindow: f.u32(3), Handle: f.u32p(4), DeliveryCount: f.u32p(5), LinkCredit: f.u32p(6),
			Available: f.u32p(7), Drain: f.bool(8), Echo: f.bool(9), Properties: f.mp(10),
		}
	case DescTransfer:
		t := &Transfer{
			Handle: f.u32(0), DeliveryID: f.u32p(1), DeliveryTag: f.bin(2), MessageFormat: f.u32p(3),
			Settled: f.bool(4), More: f.bool(5), State: f.nested(7), Resume: f.bool(8), Aborted: f.bool(9),
			Batchable: f.bool(10),
		}
		if m, ok := f.u8p(6); ok {
			t.RcvSettleMode = &m
		}
		out = t
	case DescDisposition:
		out = &Disposition{
			Role: f.bool(0), First: f.u32(1), Last: f.u32p(2), Settled: f.bool(3), State: f.nested(4),
			Batchable: f.bool(5),
		}
	case DescDetach:
		e, _ := f.nested(2).(*Error)
		out = &Detach{Handle: f.u32(0), Closed: f.bool(1), Error: e}
	case DescEnd:
		e, _ := f.nested(0).(*Error)
		out = &End{Error: e}
	case DescClose:
		e, _ := f.nested(0).(*Error)
		out = &Close{Error: e}
	case DescError:
		out = &Error{Condition: f.sym(0), Description: f.str(1), Info: f.mp(2)}
	case DescAccepted:
		out = &Accepted{}
	case DescReleased:
		out = &Released{}
	case DescRejected:
		e, _ := f.nested(0).(*Error)
		out = &Rejected{Error: e}
	case DescModified:
		out = &Modified{DeliveryFailed: f.bool(0), UndeliverableHere: f.bool(1), MessageAnnotations: f.mp(2)}
	case DescReceived:
		out = &Received{SectionNumber: f.u32(0), SectionOffset: f.u64(1)}
	case DescSASLInit:
		out = &SASLInit{Mechanism: f.sym(0), InitialResponse: f.bin(1), Hostname: f.str(2)}
	case DescSASLMechanisms:
		out = &SASLMechanisms{Mechanisms: f.syms(0)}
	case DescSASLOutcome:
		out = &SASLOutcome{Code: f.u8(0), AdditionalData: f.bin(1)}
	default:
		return nil, fmt.Errorf("wire: unknown descriptor 0x%x: %w", code, ErrMalformed)
	}
	if f.err != nil {
		return nil, f.err
	}
	return out, nil
}

// fields reads the list of a composite value, recording the first field of the
// wrong type. An absent or null field reads as the zero value.
type fields struct {
	code uint64
	list []any
	err  error
}

func newFields(code uint64, v any) (*fields, error) {
	switch l := v.(type) {
	case []any:
		return &fields{code: code, list: l}, nil
	case nil:
		return &fields{code: code}, nil
	}
	return nil, fmt.Errorf("wire: descriptor 0x%x describes %T, not a list: %w", code, v, ErrMalformed)
}

func (f *fields) at(i int) any {
	if i < len(f.list) {
		return f.list[i]
	}
	return nil
}

func (f *fields) wrong(i int, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("wire: field %d of 0x%x is %T, not %s: %w", i, f.code, f.at(i), want, ErrMalformed)
	}
}

func (f *fields) any(i int) any { return f.at(i) }

func (f *fields) str(i int) string {
	switch v := f.at(i).(type) {
	case nil:
		return ""
	case string:
		return v
	}
	f.wrong(i, "string")
	return ""
}

func (f *fields) addr(i int) *string {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case string:
		return &v
	case Symbol: // some peers send addresses as symbols
		s := string(v)
		return &s
	}
	f.wrong(i, "address")
	return nil
}

func (f *fields) sym(i int) Symbol {
	switch v := f.at(i).(type) {
	case nil:
		return ""
	case Symbol:
		return v
	}
	f.wrong(i, "symbol")
	return ""
}

func (f *fields) syms(i int) []Symbol {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case Symbol:
		return []Symbol{v}
	case *Array:
		out := make([]Symbol, 0, len(v.Elems))
		for _, e := range v.Elems {
			s, ok := e.(Symbol)
			if !ok {
				f.wrong(i, "symbol array")
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	f.wrong(i, "symbols")
	return nil
}

func (f *fields) bin(i int) []byte {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case []byte:
		return v
	}
	f.wrong(i, "binary")
	return nil
}

func (f *fields) bool(i int) bool {
	switch v := f.at(i).(type) {
	case nil:
		return false
	case bool:
		return v
	}
	f.wrong(i, "boolean")
	return false
}

func (f *fields) u8(i int) uint8 {
	v, _ := f.u8p(i)
	return v
}

func (f *fields) u8p(i int) (uint8, bool) {
	switch v := f.at(i).(type) {
	case nil:
		return 0, false
	case uint8:
		return v, true
	}
	f.wrong(i, "ubyte")
	return 0, false
}

func (f *fields) u16(i int) uint16 {
	if p := f.u16p(i); p != nil {
		return *p
	}
	return 0
}

func (f *fields) u16p(i int) *uint16 {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case uint16:
		return &v
	}
	f.wrong(i, "ushort")
	return nil
}

func (f *fields) u32(i int) uint32 {
	if p := f.u32p(i); p != nil {
		return *p
	}
	return 0
}

func (f *fields) u32p(i int) *uint32 {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case uint32:
		return &v
	}
	f.wrong(i, "uint")
	return nil
}

func (f *fields) u64(i int) uint64 {
	switch v := f.at(i).(type) {
	case nil:
		return 0
	case uint64:
		return v
	}
	f.wrong(i, "ulong")
	return 0
}

func (f *fields) mp(i int) *Map {
	switch v := f.at(i).(type) {
	case nil:
		return nil
	case *Map:
		return v
	}
	f.wrong(i, "map")
	return nil
}

// nested decodes a described field (terminus, error, delivery state).
func (f *fields) nested(i int) any {
	v := f.at(i)
	if v == nil {
		return nil
	}
	out, err := Decode(v)
	if err != nil && f.err == nil {
		f.err = err
	}
	return out
}

func described(code uint64, fields ...any) *Described {
	for len(fields) > 0 && isNull(fields[len(fields)-1]) {
		fields = fields[:len(fields)-1]
	}
	if fields == nil {
		fields = []any{}
	}
	return &Described{Descriptor: code, Value: fields}
}

// isNull reports a field that encodes as null (trailing ones are left out).
func isNull(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case *Described:
		return v == nil
	case *Map:
		return v == nil
	case *Array:
		return v == nil
	}
	return false
}

// encodeOpt encodes v when it is a non-nil encodable pointer, else null.
func encodeOpt(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case *Source:
		if v == nil {
			return nil
		}
	case *Target:
		if v == nil {
			return nil
		}
	case *Error:
		if v == nil {
			return nil
		}
	}
	return Encode(v)
}

func optBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func optString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func optSymbol(s Symbol) any {
	if s == "" {
		return nil
	}
	return s
}

func optUint16(n uint16) any {
	if n == 0 {
		return nil
	}
	return n
}

func optUint32(n uint32) any {
	if n == 0 {
		return nil
	}
	return n
}

func optUint64(n uint64) any {
	if n == 0 {
		return nil
	}
	return n
}

func optMap(m *Map) any {
	if m == nil {
		return nil
	}
	return m
}

func ptr16(p *uint16) any {
	if p == nil {
		return nil
	}
	return *p
}

func ptr32(p *uint32) any {
	if p == nil {
		return nil
	}
	return *p
}

func ptrString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func symbolsToAny(s []Symbol) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
