package origin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/strata-edge/strata/autoscale"
	"github.com/strata-edge/strata/origin"
	"github.com/strata-edge/strata/registry"
)

// TestAutoscaleConfigValidate: a bad autoscale key is refused by name;
// disabled, nothing is checked.
func TestAutoscaleConfigValidate(t *testing.T) {
	pool := autoscale.Pool{Region: "eu", Max: 3}
	for _, tc := range []struct {
		a   origin.AutoscaleConfig
		key string
	}{
		{origin.AutoscaleConfig{Enabled: true, Exec: origin.AutoscaleExecConfig{Command: []string{"x"}}}, "autoscale.pools"},
		{origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{{Region: "eu", Min: 4, Max: 3}}, DryRun: true}, "autoscale.pools[0]"},
		{origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{pool}}, "autoscale.exec.command"},
		{origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{pool}, DryRun: true, PrometheusURL: "prom:9090"}, "autoscale.prometheus_url"},
		{origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{pool}, Provider: "terraform"}, "autoscale.provider"},
		{origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{pool}, Provider: "kubernetes", Kubernetes: origin.AutoscaleKubernetesConfig{Kind: "daemonset"}}, "autoscale.kubernetes.kind"},
	} {
		cfg := origin.Defaults()
		cfg.Autoscale = tc.a
		err := cfg.Validate()
		if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%+v: %v, want an error naming %s", tc.a, err, tc.key)
		}
	}
	cfg := origin.Defaults()
	cfg.Autoscale = origin.AutoscaleConfig{Pools: []autoscale.Pool{{Min: 9}}}
	if err := cfg.Validate(); err != nil {
		t.Errorf("disabled autoscaler checked: %v", err)
	}
	cfg.Autoscale = origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{pool}, DryRun: true, PrometheusURL: "http://127.0.0.1:9090"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid dry run refused: %v", err)
	}
	cfg.Autoscale = origin.AutoscaleConfig{Enabled: true, Pools: []autoscale.Pool{pool}, Provider: "kubernetes"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("kubernetes provider without exec.command refused: %v", err)
	}
}
