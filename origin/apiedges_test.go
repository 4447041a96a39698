package origin_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/testcluster"
)

// rawAPI sends one request to an origin of c as written, headers and all,
// and returns the status and body.
func rawAPI(t *testing.T, c *testcluster.Cluster, method, path string, header map[string]string, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+c.Nodes[0].APIAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.TrustConfig(c.CA)}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// wantAPIError fails unless the answer is the JSON error with this status
// and code whose message holds each of says.
func wantAPIError(t *testing.T, status int, body []byte, wantStatus int, code api.Code, says ...string) {
	t.Helper()
	var r api.ErrorResponse
	if err := json.Unmarshal(body, &r); err != nil || status != wantStatus || r.Error.Code != code {
		t.Fatalf("got %d %s; want %d with a JSON error %s", status, body, wantStatus, code)
	}
	for _, s := range says {
		if !strings.Contains(r.Error.Message, s) {
			t.Errorf("message %q does not say %q", r.Error.Message, s)
		}
	}
}

// TestAPIEdges: what a hand-written client meets at the edges of the API
// gets a JSON answer with a stable code, on a real listener.
func TestAPIEdges(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	jsonCT := map[string]string{"Authorization": "Bearer " + c.AdminToken, "Content-Type": "application/json"}

	t.Run("bearer scheme in any case", func(t *testing.T) {
		// RFC 7235 section 2.1: the auth scheme is case-insensitive.
		for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
			st, body := rawAPI(t, c, "GET", "/v1/tenants", map[string]string{"Authorization": scheme + " " + c.AdminToken}, "")
			if st != http.StatusOK {
				t.Errorf("%s: %d %s, want 200", scheme, st, body)
			}
		}
		st, body := rawAPI(t, c, "GET", "/v1/tenants", map[string]string{"Authorization": "Basic " + c.AdminToken}, "")
		wantAPIError(t, st, body, http.StatusUnauthorized, api.CodeUnauthorized, "Bearer")
		// Join tokens are read the same way: a lower-case scheme gets past
		// the token to the body's checks.
		jt, err := admin.Cluster().CreateJoinToken(ctx, api.JoinTokenCreate{Name: "lower", Role: api.RoleEdge})
		if err != nil {
			t.Fatal(err)
		}
		st, body = rawAPI(t, c, "POST", "/v1/pki/enroll", map[string]string{"Authorization": "bearer " + jt.Token, "Content-Type": "application/json"}, `{"node_id":"edge-lower","csr":"x"}`)
		if st != http.StatusBadRequest {
			t.Fatalf("enroll with a lower-case scheme: %d %s, want 400 for the CSR", st, body)
		}
	})

	t.Run("duplicate keys", func(t *testing.T) {
		before, err := admin.Tenants().List(ctx, api.ListOptions{Consistency: api.Consistent})
		if err != nil {
			t.Fatal(err)
		}
		for body, key := range map[string]string{
			`{"name":"a","name":"b"}`:                          `"name"`,
			`{"name":"q","quota":{"max_gpus":1,"max_gpus":9}}`: `"quota.max_gpus"`,
			`{"name":"l","labels":{"k":"1","k":"2"}}`:          `"labels.k"`,
		} {
			st, raw := rawAPI(t, c, "POST", "/v1/tenants", jsonCT, body)
			wantAPIError(t, st, raw, http.StatusBadRequest, api.CodeDuplicateKey, key)
		}
		after, err := admin.Tenants().List(ctx, api.ListOptions{Consistency: api.Consistent})
		if err != nil || len(after) != len(before) {
			t.Fatalf("a refused body created a tenant: %d then %d (%v)", len(before), len(after), err)
		}
		// One key in two objects is no duplicate.
		st, raw := rawAPI(t, c, "POST", "/v1/tenants", jsonCT, `{"name":"ok","quota":{"max_gpus":1},"labels":{"max_gpus":"1"}}`)
		if st != http.StatusCreated {
			t.Fatalf("same key in two objects: %d %s", st, raw)
		}
	})

	t.Run("garbage cursor", func(t *testing.T) {
		for _, path := range []string{"/v1/tenants", "/v1/apps", "/v1/sessions", "/v1/nodes", "/v1/cluster/join-tokens"} {
			st, body := rawAPI(t, c, "GET", path+"?cursor=not+a+cursor", jsonCT, "")
			wantAPIError(t, st, body, http.StatusBadRequest, api.CodeInvalidArgument, "cursor", "next_cursor")
		}
		// Another list's ID is no cursor of this one.
		ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "cursor"})
		if err != nil {
			t.Fatal(err)
		}
		st, body := rawAPI(t, c, "GET", "/v1/apps?cursor="+ten.ID, jsonCT, "")
		wantAPIError(t, st, body, http.StatusBadRequest, api.CodeInvalidArgument, "cursor")
		// A next_cursor the list answered still pages.
		page, err := admin.Tenants().Page(ctx, api.ListOptions{Limit: 1})
		if err != nil || page.NextCursor == "" {
			t.Fatalf("first page: %+v %v", page, err)
		}
		if _, err := admin.Tenants().Page(ctx, api.ListOptions{Limit: 1, Cursor: page.NextCursor}); err != nil {
			t.Fatalf("next page: %v", err)
		}
	})

	t.Run("long path", func(t *testing.T) {
		st, body := rawAPI(t, c, "GET", "/v1/tenants/"+strings.Repeat("a", 5000), jsonCT, "")
		wantAPIError(t, st, body, http.StatusRequestURITooLong, api.CodeURITooLong, "4096")
		st, body = rawAPI(t, c, "GET", "/v1/tenants?x="+strings.Repeat("a", api.MaxHeaderBytes), jsonCT, "")
		wantAPIError(t, st, body, http.StatusRequestHeaderFieldsTooLarge, api.CodeTooLarge)
		// At the limit, the request is routed as usual.
		path := "/v1/tenants?x="
		st, body = rawAPI(t, c, "GET", path+strings.Repeat("a", api.MaxURIBytes-len(path)), jsonCT, "")
		if st != http.StatusOK {
			t.Fatalf("a %d-byte URI: %d %s", api.MaxURIBytes, st, body)
		}
	})

	t.Run("content type", func(t *testing.T) {
		// What curl -d sends when not told otherwise.
		hdr := map[string]string{"Authorization": "Bearer " + c.AdminToken, "Content-Type": "application/x-www-form-urlencoded"}
		st, body := rawAPI(t, c, "POST", "/v1/tenants", hdr, `{"name":"form"}`)
		wantAPIError(t, st, body, http.StatusUnsupportedMediaType, api.CodeUnsupportedType, "Content-Type: application/json", "curl")
	})
}

// TestREADMECurlExample runs the curl example of the README's API section
// as printed, with the environment `strata dev` tells the user to set.
func TestREADMECurlExample(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl here")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := readmeBlock(t, string(readme), "## API", "curl ")
	c := startCluster(t, 1)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.CA.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-ec", script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(curl)+":"+os.Getenv("PATH"),
		"STRATA_ADDR="+c.Nodes[0].APIAddr(), "STRATA_TOKEN="+c.AdminToken, "STRATA_CA_FILE="+caFile)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("README curl example: %v\n%s\n%s", err, script, out)
	}
	var ten api.Tenant
	if err := json.Unmarshal(out, &ten); err != nil || !strings.HasPrefix(ten.ID, "ten_") {
		t.Fatalf("README curl example printed %s, want a tenant (%v)", out, err)
	}
}

// readmeBlock returns the first ```sh block after the heading that
// contains marker.
func readmeBlock(t *testing.T, readme, heading, marker string) string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, part := range strings.Split(section, "```sh\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.Contains(block, marker) {
			return block
		}
	}
	t.Fatalf("README's %s section has no sh block with %q", heading, marker)
	return ""
}
