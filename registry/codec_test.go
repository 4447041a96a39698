package registry

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// fill sets every field of v (a pointer) to a random non-zero value, so a
// round trip that drops a field fails.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(r, v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(0, r.Int64N(1<<62)+1).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	case reflect.String:
		v.SetString(string(rune('a'+r.IntN(26))) + "x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8:
		v.SetUint(uint64(1 + r.IntN(5)))
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int64N(1<<40) - 1<<39 + 1)
	case reflect.Uint64:
		v.SetUint(r.Uint64N(1<<50) + 1)
	case reflect.Float64:
		v.SetFloat(r.Float64()*180 - 90)
	case reflect.Slice:
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fill(r, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 0; i < 1+r.IntN(3); i++ {
			k := reflect.New(v.Type().Key()).Elem()
			e := reflect.New(v.Type().Elem()).Elem()
			fill(r, k)
			fill(r, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	}
}

func TestCommandsRoundTripEveryField(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for typ, mk := range commandTable {
		for i := 0; i < 20; i++ {
			c := mk()
			fill(r, reflect.ValueOf(c))
			b := EncodeCommand(c)
			got, err := DecodeCommand(b)
			if err != nil {
				t.Fatalf("type %d: decode: %v", typ, err)
			}
			if !reflect.DeepEqual(c, got) {
				t.Fatalf("type %d: round trip\n got %+v\nwant %+v", typ, got, c)
			}
		}
	}
}

func TestSnapshotRoundTripEveryField(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tb := newTables()
	for i := 0; i < 5; i++ {
		var (
			ten Tenant
			k   APIKey
			a   App
			s   Session
			n   Node
			sk  SigningKey
			sd  ScaleDecision
		)
		for _, v := range []any{&ten, &k, &a, &s, &n, &sk, &sd} {
			fill(r, reflect.ValueOf(v))
		}
		tb.tenants[ten.ID] = &ten
		tb.keys[k.ID] = &k
		tb.apps[a.ID] = &a
		tb.sessions[s.ID] = &s
		tb.nodes[n.ID] = &n
		tb.signingKeys[sk.ID] = &sk
		tb.scaleDecisions[sd.ID] = &sd
	}
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, &tb, 42); err != nil {
		t.Fatal(err)
	}
	got, idx, err := readSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if idx != 42 || !reflect.DeepEqual(tb, got) {
		t.Fatalf("snapshot round trip differs (index %d)", idx)
	}
	// Equal states give equal bytes: the format is deterministic.
	var again bytes.Buffer
	if err := writeSnapshot(&again, &got, 42); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("snapshot encoding is not deterministic")
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := EncodeCommand(&CreateTenant{Tenant: Tenant{ID: "t", Name: "n"}})
	cases := map[string][]byte{
		"empty":           nil,
		"unknown type":    {0xff, 1},
		"future version":  {byte(cmdCreateTenant), 9},
		"truncated":       good[:len(good)-2],
		"trailing":        append(append([]byte{}, good...), 0),
		"huge length":     {byte(cmdCreateTenant), 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge list count": {byte(cmdNotePending), 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range cases {
		if _, err := DecodeCommand(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	if _, _, err := readSnapshot(bytes.NewReader([]byte("not a snapshot"))); err == nil {
		t.Error("garbage snapshot accepted")
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, mk := range commandTable {
		c := mk()
		fill(rand.New(rand.NewPCG(5, 6)), reflect.ValueOf(c))
		f.Add(EncodeCommand(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes equal.
		again, err := DecodeCommand(EncodeCommand(c))
		if err != nil || !reflect.DeepEqual(c, again) {
			t.Fatalf("re-encode of %x: %v", b, err)
		}
	})
}

func FuzzReadSnapshot(f *testing.F) {
	tb := newTables()
	tb.tenants["t"] = &Tenant{ID: "t", Name: "n"}
	tb.sessions["s"] = &Session{ID: "s", TenantID: "t", State: StatePending, Reservation: &Reservation{NodeID: "n", GPUs: []GPUSlice{{Index: 1, MemoryMB: 2}}}}
	var buf bytes.Buffer
	_ = writeSnapshot(&buf, &tb, 7)
	f.Add(buf.Bytes())
	f.Add(snapshotMagic)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = readSnapshot(bytes.NewReader(b))
	})
}
