package origin_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/registry"
)

func startCluster(t *testing.T, n int) *testcluster.Cluster {
	t.Helper()
	c, err := testcluster.Start(testcluster.Options{Origins: n, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestFollowerForwardsWritesAndReads(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.Leader()
	follower := (leader + 1) % 3
	ctx := context.Background()
	fc := c.NodeClient(follower)
	ten, err := fc.Tenants().Create(ctx, api.TenantCreate{Name: "acme", Quota: &api.Quota{MaxSessions: 10}})
	if err != nil {
		t.Fatalf("create via follower: %v", err)
	}
	for i := range c.Nodes {
		for _, mode := range []api.Consistency{api.Consistent, api.Lease} {
			got, err := c.NodeClient(i).Tenants().Get(ctx, ten.ID, mode)
			if err != nil {
				t.Fatalf("node %d %s read: %v", i, mode, err)
			}
			if got.Name != "acme" {
				t.Fatalf("node %d %s read = %+v", i, mode, got)
			}
		}
	}
	// A key created through one follower authenticates at once on another.
	key, err := fc.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	other := c.NodeClient((leader + 2) % 3).WithToken(key.Token)
	tl, err := other.Tenants().Page(ctx, api.ListOptions{})
	if err != nil {
		t.Fatalf("fresh key on another follower: %v", err)
	}
	if len(tl.Items) != 1 || tl.Items[0].ID != ten.ID {
		t.Fatalf("tenant key sees %+v", tl.Items)
	}
}

// kvInput and kvOutput describe operations on tenant names for the
// linearizability checker: put = PATCH name, get = consistent GET.
type kvInput struct {
	put   bool
	key   string
	value string
}

type kvOutput struct {
	value   string
	unknown bool
}

var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return "initial" },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(kvInput), output.(kvOutput)
		if in.put {
			return true, in.value
		}
		return out.unknown || out.value == state.(string), state
	},
	Equal: func(a, b any) bool { return a == b },
}

// TestLinearizableAcrossLeaderKill runs concurrent writers and consistent
// readers, kills the leader in the middle, and checks the whole history
// for linearizability: no acknowledged write is lost or reordered.
func TestLinearizableAcrossLeaderKill(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	admin := c.Client()
	const keys = 16
	tenants := make([]string, keys)
	for i := range tenants {
		ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "initial"})
		if err != nil {
			t.Fatal(err)
		}
		tenants[i] = ten.ID
	}
	var (
		mu      sync.Mutex
		history []porcupine.Operation
		seq     atomic.Int64
		acked   atomic.Int64
	)
	stop := make(chan struct{})
	var errMu sync.Mutex
	errKinds := map[string]int{}
	defer func() { t.Logf("unknown-outcome errors: %v", errKinds) }()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Each operation goes to one origin with no client-side retry
			// (a retried write could take effect twice); after a failure the
			// worker moves on to the next origin.
			target := w % len(c.Nodes)
			for n := 0; ; n++ {
				cl := c.NodeClient(target)
				select {
				case <-stop:
					return
				default:
				}
				key := tenants[(w+n)%keys]
				in := kvInput{key: key, put: n%2 == 0}
				if in.put {
					in.value = fmt.Sprintf("w%d-%d", w, seq.Add(1))
				}
				start := time.Now().UnixNano()
				var out kvOutput
				var err error
				rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				if in.put {
					_, err = cl.Tenants().Update(rctx, key, api.TenantUpdate{Name: &in.value})
				} else {
					var ten *api.Tenant
					if ten, err = cl.Tenants().Get(rctx, key, api.Consistent); err == nil {
						out.value = ten.Name
					}
				}
				cancel()
				end := time.Now().UnixNano()
				if err != nil {
					target = (target + 1) % len(c.Nodes)
					definite := notDelivered(err)
					if in.put && !definite {
						errMu.Lock()
						errKinds[truncErr(err.Error())]++
						errMu.Unlock()
					}
					if !in.put || definite {
						continue // a failed read, or a refused write, constrains nothing
					}
					// A failed write may still take effect at any later time.
					out.unknown = true
					end = math.MaxInt64
				} else if in.put {
					acked.Add(1)
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: w, Input: in, Call: start, Output: out, Return: end})
				mu.Unlock()
			}
		}(w)
	}
	poll.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		if acked.Load() < 100 {
			return errors.New("warming up")
		}
		return nil
	})
	old := c.Leader()
	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	before := acked.Load()
	poll.For(t, 15*time.Second, 20*time.Millisecond, func() error {
		if acked.Load() < before+100 {
			return fmt.Errorf("only %d writes acknowledged after the kill", acked.Load()-before)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(history) < 1000 {
			return fmt.Errorf("history has %d operations", len(history))
		}
		return nil
	})
	close(stop)
	wg.Wait()
	unknown := 0
	for _, op := range history {
		if op.Output.(kvOutput).unknown {
			unknown++
		}
	}
	t.Logf("%d operations, %d with unknown outcome", len(history), unknown)
	res, info := porcupine.CheckOperationsVerbose(kvModel, history, 30*time.Second)
	if res != porcupine.Ok {
		_ = info
		t.Fatalf("history of %d operations is not linearizable (%v)", len(history), res)
	}
	t.Logf("%d operations, %d acknowledged writes, linearizable", len(history), acked.Load())
	// The killed node catches up after a restart.
	if err := c.Restart(old); err != nil {
		t.Fatal(err)
	}
	leaderIdx, err := c.WaitLeader(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := c.Nodes[leaderIdx].Origin().Registry().State().Index()
	if err := c.WaitApplied(want, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, id := range tenants {
		a, _ := c.Nodes[leaderIdx].Origin().Registry().State().Tenant(id)
		b, _ := c.Nodes[old].Origin().Registry().State().Tenant(id)
		if a.Name != b.Name {
			t.Fatalf("restarted node has %q for %s, leader %q", b.Name, id, a.Name)
		}
	}
}

func TestFullRestartRestoresState(t *testing.T) {
	c := startCluster(t, 3)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "acme", Quota: &api.Quota{MaxSessions: 100}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "game", Command: []string{"run"}})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []string
	for i := 0; i < 20; i++ {
		s, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s.ID)
		if i == 10 {
			// Half the history goes into snapshots, half stays in the log.
			for _, n := range c.Nodes {
				if err := n.Origin().Registry().Snapshot(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := admin.Sessions().Terminate(ctx, sessions[0], ""); err != nil {
		t.Fatal(err)
	}
	for i := range c.Nodes {
		if err := c.Kill(i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.Nodes {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WaitLeader(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range c.Nodes {
		st := c.Nodes[i].Origin().Registry().State()
		poll.For(t, 10*time.Second, 20*time.Millisecond, func() error {
			list, _ := st.Sessions(registry.SessionFilter{TenantID: ten.ID})
			if len(list) != 20 {
				return fmt.Errorf("node %d has %d sessions", i, len(list))
			}
			if s, _ := st.Session(sessions[0]); s.State != registry.StateTerminated {
				return fmt.Errorf("node %d: terminated session is %s", i, s.State)
			}
			if u := st.TenantUsage(ten.ID); u.Sessions != 19 {
				return fmt.Errorf("node %d: usage %+v", i, u)
			}
			return nil
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	mk := func(name string) (*api.Client, string, string, string) {
		ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		key, err := admin.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "k"})
		if err != nil {
			t.Fatal(err)
		}
		cl := admin.WithToken(key.Token)
		app, err := cl.Apps().Create(ctx, api.AppSpec{Name: "app", Command: []string{"x"}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := cl.Sessions().Create(ctx, api.SessionSpec{AppID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		return cl, ten.ID, app.ID, s.ID
	}
	a, aTen, aApp, aSes := mk("a")
	b, bTen, bApp, bSes := mk("b")
	_ = aApp
	reads := []struct {
		path string
		get  func() error
	}{
		{"/v1/tenants/" + bTen, func() error { _, err := a.Tenants().Get(ctx, bTen, ""); return err }},
		{"/v1/apps/" + bApp, func() error { _, err := a.Apps().Get(ctx, bApp, ""); return err }},
		{"/v1/sessions/" + bSes, func() error { _, err := a.Sessions().Get(ctx, bSes, ""); return err }},
		{"/v1/tenants/" + bTen + "/keys", func() error { _, err := a.Keys().Page(ctx, bTen, api.ListOptions{}); return err }},
	}
	for _, r := range reads {
		if err := r.get(); !api.IsCode(err, "not_found") {
			t.Errorf("tenant a GET %s: %v, want not_found", r.path, err)
		}
	}
	if _, err := a.Sessions().Terminate(ctx, bSes, ""); !api.IsCode(err, "not_found") {
		t.Errorf("tenant a terminating b's session: %v", err)
	}
	if _, err := a.Sessions().Create(ctx, api.SessionSpec{AppID: bApp}); !api.IsCode(err, "not_found") {
		t.Errorf("tenant a starting b's app: %v", err)
	}
	if _, err := a.Sessions().Create(ctx, api.SessionSpec{TenantID: bTen, AppID: bApp}); !api.IsCode(err, "not_found") {
		t.Errorf("tenant a naming tenant b: %v", err)
	}
	if sl, err := b.Sessions().List(ctx, api.SessionFilter{}); err != nil || len(sl) != 1 || sl[0].ID != bSes {
		t.Errorf("tenant b lists %+v, %v", sl, err)
	}
	if sl, err := a.Sessions().List(ctx, api.SessionFilter{TenantID: bTen}); err != nil || len(sl) != 1 || sl[0].ID != aSes {
		t.Errorf("tenant a with tenant_id filter of b lists %+v, %v", sl, err)
	}
	if _, err := a.Nodes().Page(ctx, api.NodeFilter{}); !api.IsCode(err, "forbidden") {
		t.Errorf("tenant GET /v1/nodes: %v, want forbidden", err)
	}
	if _, err := a.Cluster().Status(ctx); !api.IsCode(err, "forbidden") {
		t.Errorf("tenant GET /v1/cluster: %v, want forbidden", err)
	}
	if _, err := a.Tenants().Create(ctx, api.TenantCreate{Name: "evil"}); !api.IsCode(err, "forbidden") {
		t.Errorf("tenant creating a tenant: %v", err)
	}
	_ = aTen
}

func TestBadInputChangesNothing(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "acme", Quota: &api.Quota{MaxSessions: 1}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "g", Command: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Nodes[0].Origin().Registry().State()
	before := st.Index()
	cases := []struct {
		name, method, path, ctype string
		body                      string
		status                    int
		code                      string
	}{
		{"malformed json", "POST", "/v1/tenants", "application/json", `{"name":`, 400, "invalid_json"},
		{"unknown field", "POST", "/v1/tenants", "application/json", `{"name":"x","colour":"red"}`, 400, "invalid_json"},
		{"wrong type", "POST", "/v1/tenants", "application/json", `{"name":5}`, 400, "invalid_json"},
		{"trailing data", "POST", "/v1/tenants", "application/json", `{"name":"x"} {}`, 400, "invalid_json"},
		{"empty body", "POST", "/v1/tenants", "application/json", ``, 400, "invalid_json"},
		{"not json", "POST", "/v1/tenants", "text/plain", `name=x`, 415, "unsupported_media_type"},
		{"oversized", "POST", "/v1/tenants", "application/json", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "request_too_large"},
		{"empty name", "POST", "/v1/tenants", "application/json", `{"name":""}`, 400, "invalid_argument"},
		{"negative quota", "POST", "/v1/tenants", "application/json", `{"name":"x","quota":{"max_sessions":-1}}`, 400, "invalid_argument"},
		{"bad tenant id", "GET", "/v1/tenants/nope", "", ``, 400, "invalid_id"},
		{"bad session id", "DELETE", "/v1/sessions/ses_!!", "", ``, 400, "invalid_id"},
		{"unknown session", "DELETE", "/v1/sessions/ses_00000000000000000000000000", "", ``, 404, "not_found"},
		{"bad app id", "POST", "/v1/sessions", "application/json", `{"tenant_id":"` + ten.ID + `","app_id":"nope"}`, 400, "invalid_id"},
		{"quota exceeded", "POST", "/v1/sessions", "application/json", `{"tenant_id":"` + ten.ID + `","app_id":"` + app.ID + `"}`, 403, "quota_exceeded"},
		{"app without command", "POST", "/v1/apps", "application/json", `{"tenant_id":"` + ten.ID + `","name":"y"}`, 400, "invalid_argument"},
		{"bad runtime", "POST", "/v1/apps", "application/json", `{"tenant_id":"` + ten.ID + `","name":"y","runtime":"vm","command":["x"]}`, 400, "invalid_argument"},
		{"bad state filter", "GET", "/v1/sessions?state=dancing", "", ``, 400, "invalid_argument"},
		{"bad limit", "GET", "/v1/sessions?limit=0", "", ``, 400, "invalid_argument"},
		{"bad consistency", "GET", "/v1/sessions?consistency=psychic", "", ``, 400, "invalid_argument"},
		{"no route", "GET", "/v1/nothing", "", ``, 404, "not_found"},
		{"bad method", "PUT", "/v1/sessions", "application/json", `{}`, 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := admin.Raw(tc.method, tc.path, tc.ctype, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.status || !strings.Contains(string(body), `"code":"`+tc.code+`"`) {
				t.Fatalf("%s %s = %d %s; want %d %s", tc.method, tc.path, status, body, tc.status, tc.code)
			}
			if !strings.Contains(string(body), `"message":"`) {
				t.Fatalf("error without message: %s", body)
			}
		})
	}
	if after := st.Index(); after != before {
		t.Fatalf("bad input changed the registry: index %d → %d", before, after)
	}
	// An invalid transition is refused and changes nothing either.
	if _, err := admin.Sessions().Terminate(ctx, ses.ID, ""); err != nil {
		t.Fatal(err)
	}
	idx := st.Index()
	if _, err := admin.Sessions().Terminate(ctx, ses.ID, ""); !api.IsCode(err, "invalid_state_transition") {
		t.Fatalf("terminating twice: %v", err)
	}
	if s, _ := st.Session(ses.ID); s.State != registry.StateTerminated || s.ModifyIndex > idx {
		t.Fatalf("session changed by refused transition: %+v", s)
	}
	// No token, wrong token.
	noAuth := admin.WithToken("")
	if _, err := noAuth.Sessions().Page(ctx, api.SessionFilter{}); !api.IsCode(err, "unauthorized") {
		t.Fatalf("no token: %v", err)
	}
	if _, err := admin.WithToken("key_00000000000000000000000000.bogus").Sessions().Page(ctx, api.SessionFilter{}); !api.IsCode(err, "unauthorized") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir(), RateLimit: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := c.Client()
	var limited *api.Error
	for i := 0; i < 200 && limited == nil; i++ {
		_, err := cl.Tenants().Page(context.Background(), api.ListOptions{})
		errors.As(err, &limited)
	}
	if limited == nil || limited.Status != 429 || limited.Code != "rate_limited" || limited.RetryAfter < 1 {
		t.Fatalf("want 429 rate_limited with Retry-After, got %+v", limited)
	}
}

// notDelivered reports whether a failed write certainly did not happen:
// refused by the API, or never delivered to a leader.
func notDelivered(err error) bool {
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return apiErr.Status < 500 || apiErr.Code == "no_leader" && (strings.Contains(apiErr.Message, "not delivered") ||
			strings.Contains(apiErr.Message, "no leader is known") || strings.Contains(apiErr.Message, "forwarded to an origin that is not the leader"))
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func truncErr(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}
