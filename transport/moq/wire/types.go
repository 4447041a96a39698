package wire

// Location names an object within a track (draft-14 Location structure).
type Location struct {
	Group  uint64
	Object uint64
}

// Compare orders locations by group, then object, as the spec defines;
// it returns -1, 0 or +1.
func (l Location) Compare(o Location) int {
	switch {
	case l.Group < o.Group:
		return -1
	case l.Group > o.Group:
		return 1
	case l.Object < o.Object:
		return -1
	case l.Object > o.Object:
		return 1
	}
	return 0
}

// Limits from the spec; decoders enforce them and encoders refuse to
// produce messages a conforming peer would have to reject.
const (
	// MaxMessageLength is the largest control message payload: the length
	// field is 16 bits.
	MaxMessageLength = 1<<16 - 1
	// MaxNamespaceFields is the most fields a Track Namespace tuple has;
	// zero fields are also forbidden.
	MaxNamespaceFields = 32
	// MaxFullTrackNameLength bounds the namespace field bytes plus the
	// track name bytes.
	MaxFullTrackNameLength = 4096
	// MaxReasonPhraseLength bounds a Reason Phrase.
	MaxReasonPhraseLength = 1024
	// MaxGoAwayURILength bounds the GOAWAY New Session URI.
	MaxGoAwayURILength = 8192
	// MaxKeyValueLength bounds the value of an odd-typed key-value pair.
	MaxKeyValueLength = 1<<16 - 1
)

// Namespace is a Track Namespace tuple. Fields are byte strings compared
// exactly; string is used so they can key relay maps without copying.
type Namespace []string

// namespaceLen validates the tuple size and returns its byte total.
func (ns Namespace) namespaceLen() (int, error) {
	if len(ns) == 0 || len(ns) > MaxNamespaceFields {
		return 0, ErrMalformed
	}
	total := 0
	for _, f := range ns {
		total += len(f)
	}
	if total > MaxFullTrackNameLength {
		return 0, ErrTooLong
	}
	return total, nil
}

// Validate reports whether ns can be sent: 1 to 32 fields and no more
// bytes than a full track name allows.
func (ns Namespace) Validate() error {
	_, err := ns.namespaceLen()
	return err
}

// Equal compares tuples field by field.
func (ns Namespace) Equal(o Namespace) bool {
	if len(ns) != len(o) {
		return false
	}
	for i := range ns {
		if ns[i] != o[i] {
			return false
		}
	}
	return true
}

// HasPrefix reports whether p is a field-wise prefix of ns, the matching
// rule SUBSCRIBE_NAMESPACE uses.
func (ns Namespace) HasPrefix(p Namespace) bool {
	return len(p) <= len(ns) && ns[:len(p)].Equal(p)
}

func (e *encoder) namespace(ns Namespace) {
	if _, err := ns.namespaceLen(); err != nil {
		e.fail(err)
		return
	}
	e.varint(uint64(len(ns)))
	for _, f := range ns {
		e.lenString(f, MaxFullTrackNameLength)
	}
}

// fullTrackName writes the namespace tuple and the track name, enforcing
// the combined length limit.
func (e *encoder) fullTrackName(ns Namespace, name string) {
	n, err := ns.namespaceLen()
	if err != nil {
		e.fail(err)
		return
	}
	if n+len(name) > MaxFullTrackNameLength {
		e.fail(ErrTooLong)
		return
	}
	e.namespace(ns)
	e.lenString(name, MaxFullTrackNameLength)
}

// namespace reads a tuple; the budget is the byte total still allowed,
// and the return reports how much of it was used.
func (d *decoder) namespaceBudget(budget int) (Namespace, int) {
	n := d.varint()
	if d.err != nil {
		return nil, 0
	}
	if n == 0 || n > MaxNamespaceFields {
		d.fail(ErrMalformed)
		return nil, 0
	}
	ns := make(Namespace, 0, n)
	used := 0
	for range n {
		f := d.lenBytes(budget - used)
		if d.err != nil {
			return nil, 0
		}
		used += len(f)
		ns = append(ns, string(f))
	}
	return ns, used
}

func (d *decoder) namespace() Namespace {
	ns, _ := d.namespaceBudget(MaxFullTrackNameLength)
	return ns
}

func (d *decoder) fullTrackName() (Namespace, string) {
	ns, used := d.namespaceBudget(MaxFullTrackNameLength)
	name := d.lenString(MaxFullTrackNameLength - used)
	return ns, name
}

func (e *encoder) reason(s string) { e.lenString(s, MaxReasonPhraseLength) }

func (d *decoder) reason() string { return d.lenString(MaxReasonPhraseLength) }

// GroupOrder is the delivery order by group.
type GroupOrder uint8

// Group orders. GroupOrderPublisher (0) is only valid in requests, where it
// defers to the original publisher.
const (
	GroupOrderPublisher  GroupOrder = 0x0
	GroupOrderAscending  GroupOrder = 0x1
	GroupOrderDescending GroupOrder = 0x2
)

// groupOrder reads a Group Order; allowDefault admits 0x0 for requests.
func (d *decoder) groupOrder(allowDefault bool) GroupOrder {
	g := GroupOrder(d.u8())
	if g > GroupOrderDescending || (g == GroupOrderPublisher && !allowDefault) {
		d.fail(ErrMalformed)
	}
	return g
}

func (e *encoder) groupOrder(g GroupOrder, allowDefault bool) {
	if g > GroupOrderDescending || (g == GroupOrderPublisher && !allowDefault) {
		e.fail(ErrMalformed)
		return
	}
	e.u8(uint8(g))
}

// FilterType selects which objects a subscription delivers.
type FilterType uint64

// Filter types (draft-14 SUBSCRIBE).
const (
	FilterNextGroupStart FilterType = 0x1
	FilterLargestObject  FilterType = 0x2
	FilterAbsoluteStart  FilterType = 0x3
	FilterAbsoluteRange  FilterType = 0x4
)

// Filter is a filter type with the fields it carries: Start for the two
// absolute filters, EndGroup for AbsoluteRange only.
type Filter struct {
	Type     FilterType
	Start    Location
	EndGroup uint64
}

func (e *encoder) filter(f Filter) {
	switch f.Type {
	case FilterNextGroupStart, FilterLargestObject:
		e.varint(uint64(f.Type))
	case FilterAbsoluteStart:
		e.varint(uint64(f.Type))
		e.location(f.Start)
	case FilterAbsoluteRange:
		e.varint(uint64(f.Type))
		e.location(f.Start)
		e.varint(f.EndGroup)
	default:
		e.fail(ErrMalformed)
	}
}

func (d *decoder) filter() Filter {
	f := Filter{Type: FilterType(d.varint())}
	switch f.Type {
	case FilterNextGroupStart, FilterLargestObject:
	case FilterAbsoluteStart:
		f.Start = d.location()
	case FilterAbsoluteRange:
		f.Start = d.location()
		f.EndGroup = d.varint()
	default:
		d.fail(ErrMalformed)
	}
	return f
}
