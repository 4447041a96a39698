package keda

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// pools is a Source whose answers a test changes.
type pools struct {
	mu sync.Mutex
	n  map[string]int64
}

func (p *pools) Desired(pool string) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.n[pool]
	return n, ok
}

func (p *pools) set(pool string, n int64) {
	p.mu.Lock()
	p.n[pool] = n
	p.mu.Unlock()
}

// scalerProto is externalscaler.proto's messages as a descriptor, so the
// client below encodes with the protobuf runtime (as KEDA's generated
// code does), independently of this package's hand-written codec.
func scalerProto(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	s := func(v string) *string { return &v }
	n := func(v int32) *int32 { return &v }
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	i64 := descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum()
	dbl := descriptorpb.FieldDescriptorProto_TYPE_DOUBLE.Enum()
	boo := descriptorpb.FieldDescriptorProto_TYPE_BOOL.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	f := func(name string, num int32, l *descriptorpb.FieldDescriptorProto_Label, typ *descriptorpb.FieldDescriptorProto_Type, ref string) *descriptorpb.FieldDescriptorProto {
		fd := &descriptorpb.FieldDescriptorProto{Name: s(name), Number: n(num), Label: l, Type: typ, JsonName: s(name)}
		if ref != "" {
			fd.TypeName = s(ref)
		}
		return fd
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name: s("externalscaler.proto"), Package: s("externalscaler"), Syntax: s("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: s("ScaledObjectRef"), Field: []*descriptorpb.FieldDescriptorProto{
				f("name", 1, opt, str, ""), f("namespace", 2, opt, str, ""),
				f("scalerMetadata", 3, rep, msg, ".externalscaler.ScaledObjectRef.ScalerMetadataEntry"),
			}, NestedType: []*descriptorpb.DescriptorProto{{
				Name:    s("ScalerMetadataEntry"),
				Field:   []*descriptorpb.FieldDescriptorProto{f("key", 1, opt, str, ""), f("value", 2, opt, str, "")},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}}},
			{Name: s("IsActiveResponse"), Field: []*descriptorpb.FieldDescriptorProto{f("result", 1, opt, boo, "")}},
			{Name: s("GetMetricSpecResponse"), Field: []*descriptorpb.FieldDescriptorProto{f("metricSpecs", 1, rep, msg, ".externalscaler.MetricSpec")}},
			{Name: s("MetricSpec"), Field: []*descriptorpb.FieldDescriptorProto{f("metricName", 1, opt, str, ""), f("targetSize", 2, opt, i64, ""), f("targetSizeFloat", 3, opt, dbl, "")}},
			{Name: s("GetMetricsRequest"), Field: []*descriptorpb.FieldDescriptorProto{f("scaledObjectRef", 1, opt, msg, ".externalscaler.ScaledObjectRef"), f("metricName", 2, opt, str, "")}},
			{Name: s("GetMetricsResponse"), Field: []*descriptorpb.FieldDescriptorProto{f("metricValues", 1, rep, msg, ".externalscaler.MetricValue")}},
			{Name: s("MetricValue"), Field: []*descriptorpb.FieldDescriptorProto{f("metricName", 1, opt, str, ""), f("metricValue", 2, opt, i64, ""), f("metricValueFloat", 3, opt, dbl, "")}},
		},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// runtimeCodec encodes proto.Messages with the protobuf runtime.
type runtimeCodec struct{}

func (runtimeCodec) Marshal(v any) ([]byte, error)   { return proto.Marshal(v.(proto.Message)) }
func (runtimeCodec) Unmarshal(b []byte, v any) error { return proto.Unmarshal(b, v.(proto.Message)) }
func (runtimeCodec) Name() string                    { return "proto" }

func TestExternalScalerOverGRPC(t *testing.T) {
	src := &pools{n: map[string]int64{"eu/L4": 3, "us": 0}}
	g := grpc.NewServer(ServerCodec())
	New(src, 20*time.Millisecond).Register(g)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(l) }()
	defer g.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(runtimeCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	fd := scalerProto(t)
	newMsg := func(name string) *dynamicpb.Message {
		return dynamicpb.NewMessage(fd.Messages().ByName(protoreflect.Name(name)))
	}
	ref := func(pool string) *dynamicpb.Message {
		r := newMsg("ScaledObjectRef")
		r.Set(r.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString("edges"))
		r.Set(r.Descriptor().Fields().ByName("namespace"), protoreflect.ValueOfString("strata"))
		md := r.Mutable(r.Descriptor().Fields().ByName("scalerMetadata")).Map()
		md.Set(protoreflect.ValueOfString(PoolKey).MapKey(), protoreflect.ValueOfString(pool))
		return r
	}
	get := func(m *dynamicpb.Message, field string) protoreflect.Value {
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(field)))
	}
	method := func(name string) string { return "/" + ServiceName + "/" + name }

	active := newMsg("IsActiveResponse")
	if err := conn.Invoke(ctx, method("IsActive"), ref("eu/L4"), active); err != nil {
		t.Fatal(err)
	}
	if !get(active, "result").Bool() {
		t.Fatal("eu/L4 wants 3 nodes but is not active")
	}
	spec := newMsg("GetMetricSpecResponse")
	if err := conn.Invoke(ctx, method("GetMetricSpec"), ref("eu/L4"), spec); err != nil {
		t.Fatal(err)
	}
	specs := get(spec, "metricSpecs").List()
	if specs.Len() != 1 || get(specs.Get(0).Message().Interface().(*dynamicpb.Message), "metricName").String() != "strata-desired-nodes-eu-l4" ||
		get(specs.Get(0).Message().Interface().(*dynamicpb.Message), "targetSize").Int() != 1 {
		t.Fatalf("metric spec %v", spec)
	}
	req := newMsg("GetMetricsRequest")
	req.Set(req.Descriptor().Fields().ByName("scaledObjectRef"), protoreflect.ValueOfMessage(ref("eu/L4")))
	req.Set(req.Descriptor().Fields().ByName("metricName"), protoreflect.ValueOfString("strata-desired-nodes-eu-l4"))
	vals := newMsg("GetMetricsResponse")
	if err := conn.Invoke(ctx, method("GetMetrics"), req, vals); err != nil {
		t.Fatal(err)
	}
	vl := get(vals, "metricValues").List()
	if vl.Len() != 1 || get(vl.Get(0).Message().Interface().(*dynamicpb.Message), "metricValue").Int() != 3 {
		t.Fatalf("metrics %v", vals)
	}
	// An unknown pool and a missing pool key are errors KEDA shows.
	if err := conn.Invoke(ctx, method("IsActive"), ref("mars"), newMsg("IsActiveResponse")); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown pool: %v", err)
	}
	if err := conn.Invoke(ctx, method("IsActive"), newMsg("ScaledObjectRef"), newMsg("IsActiveResponse")); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no pool key: %v", err)
	}

	// StreamIsActive: inactive first (us wants 0), then active on change.
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method("StreamIsActive"))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(ref("us")); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	first := newMsg("IsActiveResponse")
	if err := stream.RecvMsg(first); err != nil || get(first, "result").Bool() {
		t.Fatalf("first stream answer %v, %v", first, err)
	}
	src.set("us", 2)
	next := newMsg("IsActiveResponse")
	if err := stream.RecvMsg(next); err != nil || !get(next, "result").Bool() {
		t.Fatalf("after demand came: %v, %v", next, err)
	}
	cancel()
	if err := stream.RecvMsg(newMsg("IsActiveResponse")); err == nil {
		t.Fatal("stream went on after the client hung up")
	}
}

// TestMessagesRoundTrip checks the hand-written codec against itself for
// every field, map entries included.
func TestMessagesRoundTrip(t *testing.T) {
	in := &GetMetricsRequest{ScaledObjectRef: ScaledObjectRef{Name: "a", Namespace: "b", ScalerMetadata: map[string]string{"pool": "eu", "x": "y"}}, MetricName: "m"}
	var out GetMetricsRequest
	if err := out.unmarshal(in.marshal(nil)); err != nil || out.MetricName != "m" || out.ScaledObjectRef.ScalerMetadata["x"] != "y" || out.ScaledObjectRef.Namespace != "b" {
		t.Fatalf("%+v %v", out, err)
	}
	r := &GetMetricsResponse{MetricValues: []MetricValue{{MetricName: "m", MetricValue: -4, MetricValueFloat: 2.5}}}
	var r2 GetMetricsResponse
	if err := r2.unmarshal(r.marshal(nil)); err != nil || r2.MetricValues[0] != r.MetricValues[0] {
		t.Fatalf("%+v %v", r2, err)
	}
	if err := out.unmarshal([]byte{0x0a, 0x05}); err == nil {
		t.Fatal("truncated message accepted")
	}
}
