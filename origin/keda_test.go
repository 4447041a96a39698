package origin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/strata-edge/strata/autoscale"
	"github.com/strata-edge/strata/autoscale/keda"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/origin"
)

// TestKEDAScalerOnOrigin: with autoscale.keda.addr set, the origin serves
// KEDA's external scaler over TLS with its cluster certificate, and a
// pool's metric is the desired size of its last decision (here the dry
// run's: the pool's min, with no edge yet).
func TestKEDAScalerOnOrigin(t *testing.T) {
	var dataDir string
	o := startOrigin(t, func(c *origin.Config) {
		dataDir = c.DataDir
		c.Autoscale = origin.AutoscaleConfig{Enabled: true, DryRun: true, Interval: 50 * time.Millisecond,
			Pools: []autoscale.Pool{{Region: "eu", Class: "L4", Min: 2, Max: 5}},
			KEDA:  origin.AutoscaleKEDAConfig{Addr: "127.0.0.1:0"}}
	})
	ca, err := os.ReadFile(filepath.Join(dataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	conn, err := grpc.NewClient(o.KEDAAddr(),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: pki.ServerName})),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(keda.Codec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := &keda.GetMetricsRequest{ScaledObjectRef: keda.ScaledObjectRef{Name: "edges", Namespace: "strata", ScalerMetadata: map[string]string{keda.PoolKey: "eu/L4"}}}
	poll.For(t, 15*time.Second, 50*time.Millisecond, func() error {
		var resp keda.GetMetricsResponse
		if err := conn.Invoke(ctx, "/"+keda.ServiceName+"/GetMetrics", req, &resp); err != nil {
			return err
		}
		if len(resp.MetricValues) != 1 || resp.MetricValues[0].MetricValue != 2 {
			return fmt.Errorf("metrics %+v, want the pool's min of 2", resp.MetricValues)
		}
		return nil
	})
}
