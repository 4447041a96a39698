package origin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/strata-edge/strata/api"
)

// An app's CPU and memory limits are stored and returned as given; a CPU
// limit under the smallest CFS quota is refused.
func TestAppCPUAndMemoryLimits(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "limits"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "capped", Command: []string{"true"}, CPUMillis: 1500, MemoryMB: 2048})
	if err != nil {
		t.Fatal(err)
	}
	got, err := admin.Apps().Get(ctx, a.ID, api.Consistent)
	if err != nil || got.CPUMillis != 1500 || got.MemoryMB != 2048 {
		t.Fatalf("app %+v (%v); want cpu_millis 1500, memory_mb 2048", got, err)
	}
	_, err = admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "tiny", Command: []string{"true"}, CPUMillis: 5})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeInvalidArgument || !strings.Contains(ae.Message, "cpu_millis") {
		t.Fatalf("cpu_millis 5: %v; want invalid_argument naming cpu_millis", err)
	}
}
