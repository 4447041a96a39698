package origin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-edge/strata/api"
)

// huge is 2^62: before numbers were bounded, an app with this egress made
// its tenant's usage overflow to a negative number.
const huge = "4611686018427387904"

// TestNumericInputsBounded posts 2^62 to every numeric input: each is
// refused with 400 invalid_argument naming the key, and nothing changes.
func TestNumericInputsBounded(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "bounds"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "game", Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	// At the bounds, inputs are accepted and usage adds up.
	big, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "big", Command: []string{"true"},
		EgressMbps: api.MaxEgressMbps, GPUMemoryMB: api.MaxGPUMemoryMB})
	if err != nil {
		t.Fatalf("app at the bounds: %v", err)
	}
	for range 2 {
		if _, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: big.ID, Async: true}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := admin.Tenants().Get(ctx, ten.ID, api.Consistent)
	if err != nil || got.Usage.EgressMbps != 2*api.MaxEgressMbps+10 {
		t.Fatalf("usage %+v (%v), want egress %d", got.Usage, err, 2*api.MaxEgressMbps+10)
	}

	st := c.Nodes[0].Origin().Registry().State()
	tenants, apps := len(st.Tenants()), len(st.Apps(ten.ID))
	body := func(format string) string { return fmt.Sprintf(format, huge) }
	app0 := `{"tenant_id":"` + ten.ID + `","name":"x","command":["true"],`
	ses0 := `{"tenant_id":"` + ten.ID + `","app_id":"` + app.ID + `",`
	node0 := `{"id":"edge-x","nic_mbps":1000,`
	cases := []struct {
		key, method, path, body string
	}{
		{"quota.max_sessions", "POST", "/v1/tenants", body(`{"name":"q","quota":{"max_sessions":%s}}`)},
		{"quota.max_gpus", "POST", "/v1/tenants", body(`{"name":"q","quota":{"max_gpus":%s}}`)},
		{"quota.max_egress_mbps", "POST", "/v1/tenants", body(`{"name":"q","quota":{"max_egress_mbps":%s}}`)},
		{"quota.max_egress_mbps", "PATCH", "/v1/tenants/" + ten.ID, body(`{"quota":{"max_egress_mbps":%s}}`)},
		{"gpus", "POST", "/v1/apps", body(app0 + `"gpus":%s}`)},
		{"gpu_memory_mb", "POST", "/v1/apps", body(app0 + `"gpu_memory_mb":%s}`)},
		{"egress_mbps", "POST", "/v1/apps", body(app0 + `"egress_mbps":%s}`)},
		{"idle_minutes", "POST", "/v1/apps", body(app0 + `"idle_policy":"hibernate","idle_minutes":%s}`)},
		{"cpu_millis", "POST", "/v1/apps", body(app0 + `"cpu_millis":%s}`)},
		{"memory_mb", "POST", "/v1/apps", body(app0 + `"memory_mb":%s}`)},
		{"gpus", "POST", "/v1/sessions", body(ses0 + `"gpus":%s}`)},
		{"gpu_memory_mb", "POST", "/v1/sessions", body(ses0 + `"gpu_memory_mb":%s}`)},
		{"egress_mbps", "POST", "/v1/sessions", body(ses0 + `"egress_mbps":%s}`)},
		{"idle_seconds", "POST", "/v1/sessions/" + ses.ID + "/idle", body(`{"idle_seconds":%s}`)},
		{"nic_mbps", "POST", "/v1/nodes/register", body(`{"id":"edge-x","nic_mbps":%s}`)},
		{"memory_mb", "POST", "/v1/nodes/register", body(node0 + `"gpus":[{"index":0,"model":"L4","memory_mb":%s}]}`)},
		{"egress_mbps", "GET", "/v1/placement/explain?egress_mbps=" + huge, ""},
		{"gpu_memory_mb", "GET", "/v1/placement/explain?gpu_memory_mb=" + huge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+strings.SplitN(tc.path, "?", 2)[0]+" "+tc.key, func(t *testing.T) {
			ctype := ""
			if tc.body != "" {
				ctype = "application/json"
			}
			status, raw, err := admin.Raw(tc.method, tc.path, ctype, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var e *api.Error
			if ae, ok := api.ErrorFrom(status, raw).(*api.Error); ok {
				e = ae
			}
			if e == nil || e.Status != 400 || e.Code != api.CodeInvalidArgument || !strings.Contains(e.Message, tc.key) {
				t.Fatalf("%s %s = %d %s; want 400 invalid_argument naming %s", tc.method, tc.path, status, raw, tc.key)
			}
		})
	}
	// The placer may write meanwhile, so look at what a refused input
	// would have changed rather than at the registry index.
	tn, _ := st.Tenant(ten.ID)
	if _, ok := st.Node("edge-x"); ok || len(st.Tenants()) != tenants || len(st.Apps(ten.ID)) != apps || tn.Quota.MaxEgressMbps != 0 {
		t.Fatalf("a refused input changed the registry: %d tenants (was %d), %d apps (was %d), quota %+v, edge-x registered %v",
			len(st.Tenants()), tenants, len(st.Apps(ten.ID)), apps, tn.Quota, ok)
	}
}
