// Package keda is a KEDA external scaler (externalscaler.proto's
// ExternalScaler service) over Strata's autoscaling decisions: KEDA asks
// for a pool's metric and scales the edge Deployment to the node count
// Strata's policy wants, so KEDA users get the policy (pending sessions,
// lead time, buffer, stabilisation) rather than CPU utilisation.
package keda

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// ServiceName is the gRPC service KEDA calls.
const ServiceName = "externalscaler.ExternalScaler"

// MetricPrefix starts the metric name of a pool: KEDA's HPA sets the
// replicas to its value, as the target per replica is 1.
const MetricPrefix = "strata-desired-nodes-"

// PoolKey is the trigger metadata key naming the pool.
const PoolKey = "pool"

// Source is what the autoscaler wants for a pool now.
type Source interface {
	// Desired is the pool's desired node count; ok is false for a pool
	// that is not configured.
	Desired(pool string) (nodes int64, ok bool)
}

// Server answers KEDA from a Source.
type Server struct {
	src Source
	// every is how often StreamIsActive looks for a change.
	every time.Duration
}

// New returns the scaler; every 0 means one second.
func New(src Source, every time.Duration) *Server {
	if every <= 0 {
		every = time.Second
	}
	return &Server{src: src, every: every}
}

// Register adds the service to g, which must have been made with
// ServerCodec.
func (s *Server) Register(g *grpc.Server) { g.RegisterService(&serviceDesc, s) }

// ServerCodec is the server option that makes g speak these messages.
func ServerCodec() grpc.ServerOption { return grpc.ForceServerCodec(Codec{}) }

// Codec is the protobuf wire codec of this package's messages.
type Codec struct{}

var _ encoding.Codec = Codec{}

// Marshal encodes a message of this package.
func (Codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(message)
	if !ok {
		return nil, fmt.Errorf("keda codec: cannot encode %T", v)
	}
	return m.marshal(nil), nil
}

// Unmarshal decodes into a message of this package.
func (Codec) Unmarshal(b []byte, v any) error {
	m, ok := v.(message)
	if !ok {
		return fmt.Errorf("keda codec: cannot decode into %T", v)
	}
	return m.unmarshal(b)
}

// Name is the content subtype: protobuf's.
func (Codec) Name() string { return "proto" }

func (s *Server) desired(ref *ScaledObjectRef) (string, int64, error) {
	pool := ref.ScalerMetadata[PoolKey]
	if pool == "" {
		return "", 0, status.Errorf(codes.InvalidArgument, "ScaledObject %s/%s: trigger metadata %q is required (a pool name such as eu or eu/L4)", ref.Namespace, ref.Name, PoolKey)
	}
	n, ok := s.src.Desired(pool)
	if !ok {
		return "", 0, status.Errorf(codes.NotFound, "pool %q is not in autoscale.pools", pool)
	}
	return pool, n, nil
}

// metricName is a pool's metric name, in the characters metric names allow.
func metricName(pool string) string {
	return MetricPrefix + strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(pool))
}

// IsActive is true while the pool wants any node.
func (s *Server) IsActive(_ context.Context, ref *ScaledObjectRef) (*IsActiveResponse, error) {
	_, n, err := s.desired(ref)
	if err != nil {
		return nil, err
	}
	return &IsActiveResponse{Result: n > 0}, nil
}

// GetMetricSpec names the pool's metric, with a target of one per replica.
func (s *Server) GetMetricSpec(_ context.Context, ref *ScaledObjectRef) (*GetMetricSpecResponse, error) {
	pool, _, err := s.desired(ref)
	if err != nil {
		return nil, err
	}
	return &GetMetricSpecResponse{MetricSpecs: []MetricSpec{{MetricName: metricName(pool), TargetSize: 1, TargetSizeFloat: 1}}}, nil
}

// GetMetrics answers the pool's desired node count.
func (s *Server) GetMetrics(_ context.Context, req *GetMetricsRequest) (*GetMetricsResponse, error) {
	pool, n, err := s.desired(&req.ScaledObjectRef)
	if err != nil {
		return nil, err
	}
	return &GetMetricsResponse{MetricValues: []MetricValue{{MetricName: metricName(pool), MetricValue: n, MetricValueFloat: float64(n)}}}, nil
}

// StreamIsActive sends the activity now, then each change, until KEDA
// hangs up.
func (s *Server) StreamIsActive(ref *ScaledObjectRef, stream grpc.ServerStream) error {
	t := time.NewTicker(s.every)
	defer t.Stop()
	last := -1
	for {
		_, n, err := s.desired(ref)
		if err != nil {
			return err
		}
		if now := b2i(n > 0); now != last {
			if err := stream.SendMsg(&IsActiveResponse{Result: now == 1}); err != nil {
				return err
			}
			last = now
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-t.C:
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func unary[Req any, PReq interface {
	*Req
	message
}, Resp any](call func(s *Server, ctx context.Context, r PReq) (Resp, error), method string) grpc.MethodDesc {
	return grpc.MethodDesc{MethodName: method, Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		req := PReq(new(Req))
		if err := dec(req); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, r any) (any, error) { return call(srv.(*Server), ctx, r.(PReq)) }
		if ic == nil {
			return h(ctx, req)
		}
		return ic(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + ServiceName + "/" + method}, h)
	}}
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unary((*Server).IsActive, "IsActive"),
		unary((*Server).GetMetricSpec, "GetMetricSpec"),
		unary((*Server).GetMetrics, "GetMetrics"),
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "StreamIsActive",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			var ref ScaledObjectRef
			if err := stream.RecvMsg(&ref); err != nil {
				return err
			}
			return srv.(*Server).StreamIsActive(&ref, stream)
		},
	}},
	Metadata: "externalscaler.proto",
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mathFloat64bits(f float64) uint64     { return math.Float64bits(f) }
func mathFloat64frombits(u uint64) float64 { return math.Float64frombits(u) }
