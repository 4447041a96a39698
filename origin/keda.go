package origin

import (
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/strata-edge/strata/autoscale/keda"
)

// AutoscaleKEDAConfig is the KEDA external scaler listener.
type AutoscaleKEDAConfig struct {
	// Addr is host:port of the gRPC listener (TLS with the node's cluster
	// certificate; plain only with pki.disable); empty: no listener.
	Addr string `yaml:"addr"`
}

// listenKEDA serves KEDA's external scaler on autoscale.keda.addr when
// the autoscaler is enabled: every origin answers, from its registry.
func (o *Origin) listenKEDA() error {
	addr := o.cfg.Autoscale.KEDA.Addr
	if addr == "" || !o.cfg.Autoscale.Enabled {
		return nil
	}
	opts := []grpc.ServerOption{keda.ServerCodec()}
	if o.node != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(o.node.ServerConfig(nil))))
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("autoscale.keda.addr: %w", err)
	}
	g := grpc.NewServer(opts...)
	keda.New(kedaSource{o}, time.Second).Register(g)
	o.keda, o.kedaAddr = g, l.Addr().String()
	o.wg.Go(func() { _ = g.Serve(l) })
	o.log.Info("KEDA external scaler listening", "addr", o.kedaAddr)
	return nil
}

// KEDAAddr is the KEDA external scaler's bound address, or "".
func (o *Origin) KEDAAddr() string { return o.kedaAddr }

// kedaSource answers a pool's desired size from its last decision (the
// pool's min before the first).
type kedaSource struct{ o *Origin }

var _ keda.Source = kedaSource{}

func (s kedaSource) Desired(pool string) (int64, bool) {
	for _, p := range s.o.cfg.Autoscale.Pools {
		if p.Name() != pool {
			continue
		}
		n := int64(p.Min)
		for _, d := range s.o.reg.State().ScaleDecisions() {
			if d.Pool == pool {
				n = d.Desired
			}
		}
		return n, true
	}
	return 0, false
}
