package main

import (
	"flag"
	"strconv"
	"strings"
)

func noFlags(method, path string) func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
	return func(*flag.FlagSet) func([]string) (string, string, any, error) {
		return func(args []string) (string, string, any, error) {
			if err := nargs(args, 0, ""); err != nil {
				return "", "", nil, err
			}
			return method, path, nil, nil
		}
	}
}

// byID builds a verb taking one ID argument appended to prefix.
func byID(method, prefix string) func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
	return func(*flag.FlagSet) func([]string) (string, string, any, error) {
		return func(args []string) (string, string, any, error) {
			if err := nargs(args, 1, "ID"); err != nil {
				return "", "", nil, err
			}
			return method, prefix + esc(args[0]), nil, nil
		}
	}
}

// byIDSuffix builds a verb taking one ID argument between prefix and
// suffix.
func byIDSuffix(method, prefix, suffix string) func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
	return func(*flag.FlagSet) func([]string) (string, string, any, error) {
		return func(args []string) (string, string, any, error) {
			if err := nargs(args, 1, "ID"); err != nil {
				return "", "", nil, err
			}
			return method, prefix + esc(args[0]) + suffix, nil, nil
		}
	}
}

// paged adds --limit, --cursor and --consistency to a list verb.
func paged(path string, extra ...string) func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
	return func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
		limit := fs.Int("limit", 0, "page size (1-1000)")
		cursor := fs.String("cursor", "", "continue after this ID")
		consistency := fs.String("consistency", "", "stale, lease or consistent")
		filters := make([]*string, len(extra))
		for i, name := range extra {
			filters[i] = fs.String(strings.ReplaceAll(name, "_", "-"), "", "filter by "+name)
		}
		return func(args []string) (string, string, any, error) {
			if err := nargs(args, 0, ""); err != nil {
				return "", "", nil, err
			}
			kv := []string{"cursor", *cursor, "consistency", *consistency}
			if *limit > 0 {
				kv = append(kv, "limit", strconv.Itoa(*limit))
			}
			for i, name := range extra {
				kv = append(kv, name, *filters[i])
			}
			return "GET", path + listQuery(kv...), nil, nil
		}
	}
}

var (
	tenantCols  = []string{"id", "name", "quota.max_sessions", "quota.max_gpus", "usage.sessions", "usage.gpus"}
	keyCols     = []string{"id", "name", "scope", "expires_at", "token"}
	appCols     = []string{"id", "name", "runtime", "gpus", "egress_mbps", "restart_policy"}
	sessionCols = []string{"id", "app_id", "state", "reservation.node_id", "region", "reason"}
	nodeCols    = []string{"id", "role", "region", "state", "draining", "nic_mbps", "reserved.sessions", "reserved.egress_mbps"}
	viewerCols  = []string{"edge", "upstream", "relaying", "role", "expires_at", "token", "moq_url", "whep_url", "player_url"}
	clusterCols = []string{"node_id", "state", "leader_id", "leader_address", "term", "commit_index", "applied_index", "last_index"}
	peers       = &nestedTable{key: "peers", columns: []string{"id", "address", "suffrage", "leader"}}
)

func resources() []resource {
	return []resource{
		{name: "tenants", summary: "manage tenants (admin)", verbs: map[string]verb{
			"list": {help: "list tenants", flags: paged("/v1/tenants"), columns: tenantCols},
			"get":  {args: "ID", help: "show a tenant", flags: byID("GET", "/v1/tenants/"), columns: tenantCols},
			"create": {args: "NAME", help: "create a tenant", columns: tenantCols, flags: func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
				ms := fs.Int64("max-sessions", 0, "session quota (0 = unlimited)")
				mg := fs.Int64("max-gpus", 0, "GPU quota (0 = unlimited)")
				me := fs.Int64("max-egress-mbps", 0, "egress quota in Mbit/s (0 = unlimited)")
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 1, "NAME"); err != nil {
						return "", "", nil, err
					}
					return "POST", "/v1/tenants", map[string]any{"name": args[0],
						"quota": map[string]int64{"max_sessions": *ms, "max_gpus": *mg, "max_egress_mbps": *me}}, nil
				}
			}},
			"delete": {args: "ID", help: "delete a tenant with no live sessions", flags: byID("DELETE", "/v1/tenants/")},
		}},
		{name: "keys", summary: "manage a tenant's API keys", verbs: map[string]verb{
			"list": {args: "TENANT", help: "list keys", columns: keyCols, flags: func(*flag.FlagSet) func([]string) (string, string, any, error) {
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 1, "TENANT"); err != nil {
						return "", "", nil, err
					}
					return "GET", "/v1/tenants/" + esc(args[0]) + "/keys", nil, nil
				}
			}},
			"create": {args: "TENANT NAME", help: "create a key; its token is shown once", columns: keyCols, flags: func(*flag.FlagSet) func([]string) (string, string, any, error) {
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 2, "TENANT NAME"); err != nil {
						return "", "", nil, err
					}
					return "POST", "/v1/tenants/" + esc(args[0]) + "/keys", map[string]string{"name": args[1]}, nil
				}
			}},
			"delete": {args: "TENANT KEY", help: "revoke a key", flags: func(*flag.FlagSet) func([]string) (string, string, any, error) {
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 2, "TENANT KEY"); err != nil {
						return "", "", nil, err
					}
					return "DELETE", "/v1/tenants/" + esc(args[0]) + "/keys/" + esc(args[1]), nil, nil
				}
			}},
		}},
		{name: "apps", summary: "manage apps (session templates)", verbs: map[string]verb{
			"list": {help: "list apps", flags: paged("/v1/apps", "tenant_id"), columns: appCols},
			"get":  {args: "ID", help: "show an app", flags: byID("GET", "/v1/apps/"), columns: appCols},
			"create": {args: "NAME", help: "create an app", columns: appCols, flags: func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
				tenant := fs.String("tenant", "", "tenant ID (admin keys only)")
				command := fs.String("command", "", "command line to run (process runtime), split on spaces")
				runtime := fs.String("runtime", "process", "process, docker or kubernetes")
				image := fs.String("image", "", "container image (docker, kubernetes)")
				gpus := fs.Int64("gpus", 0, "GPUs per session")
				gpuMem := fs.Int64("gpu-memory-mb", 0, "GPU memory per GPU in MB (0 = whole GPU)")
				egress := fs.Int64("egress-mbps", 0, "expected egress per session in Mbit/s")
				restart := fs.String("restart", "", "never, on-failure or always")
				idle := fs.String("idle", "", "what to do without viewers: none, hibernate or terminate")
				idleMin := fs.Int64("idle-minutes", 0, "minutes without viewers before --idle applies")
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 1, "NAME"); err != nil {
						return "", "", nil, err
					}
					body := map[string]any{"name": args[0], "runtime": *runtime, "gpus": *gpus,
						"gpu_memory_mb": *gpuMem, "egress_mbps": *egress}
					if *idleMin > 0 {
						body["idle_minutes"] = *idleMin
					}
					for k, v := range map[string]string{"tenant_id": *tenant, "image": *image, "restart_policy": *restart, "idle_policy": *idle} {
						if v != "" {
							body[k] = v
						}
					}
					if *command != "" {
						body["command"] = strings.Fields(*command)
					}
					return "POST", "/v1/apps", body, nil
				}
			}},
			"delete": {args: "ID", help: "delete an app no live session uses", flags: byID("DELETE", "/v1/apps/")},
		}},
		{name: "sessions", summary: "create, list, hibernate, wake and end sessions", verbs: map[string]verb{
			"list": {help: "list sessions", flags: paged("/v1/sessions", "state", "app_id", "node_id", "region", "tenant_id"), columns: sessionCols},
			"get":  {args: "ID", help: "show a session", flags: byID("GET", "/v1/sessions/"), columns: sessionCols},
			"create": {help: "start a session of an app", columns: sessionCols, flags: func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
				app := fs.String("app", "", "app ID (required)")
				tenant := fs.String("tenant", "", "tenant ID (admin keys only)")
				region := fs.String("region", "", "preferred region")
				lat := fs.Float64("lat", 0, "requester latitude")
				lon := fs.Float64("lon", 0, "requester longitude")
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 0, ""); err != nil {
						return "", "", nil, err
					}
					if *app == "" {
						return "", "", nil, usagef("--app is required")
					}
					body := map[string]any{"app_id": *app}
					if *tenant != "" {
						body["tenant_id"] = *tenant
					}
					if *region != "" {
						body["region"] = *region
					}
					fs.Visit(func(f *flag.Flag) {
						if f.Name == "lat" || f.Name == "lon" {
							body["lat"], body["lon"] = *lat, *lon
						}
					})
					return "POST", "/v1/sessions", body, nil
				}
			}},
			"terminate": {args: "ID", help: "end a session and release its capacity", flags: byID("DELETE", "/v1/sessions/"), columns: sessionCols},
			"hibernate": {args: "ID", help: "stop a running session's instance and free its edge capacity", flags: byIDSuffix("POST", "/v1/sessions/", "/hibernate"), columns: sessionCols},
			"wake":      {args: "ID", help: "place a hibernated session again", flags: byIDSuffix("POST", "/v1/sessions/", "/wake"), columns: sessionCols},
			"viewer": {args: "ID", help: "route a viewer to an edge and get playback URLs with a token", columns: viewerCols, flags: func(fs *flag.FlagSet) func([]string) (string, string, any, error) {
				region := fs.String("region", "", "viewer region")
				controller := fs.Bool("controller", false, "ask for the role that may send input")
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 1, "ID"); err != nil {
						return "", "", nil, err
					}
					return "POST", "/v1/sessions/" + esc(args[0]) + "/viewers", map[string]any{"region": *region, "controller": *controller}, nil
				}
			}},
		}},
		{name: "nodes", summary: "list origins and edges", verbs: map[string]verb{
			"list": {help: "list nodes", flags: paged("/v1/nodes", "role"), columns: nodeCols},
			"get":  {args: "ID", help: "show a node", flags: byID("GET", "/v1/nodes/"), columns: nodeCols},
			"drain": {args: "ID", help: "stop sending new sessions and viewers to a node", columns: nodeCols, flags: func(*flag.FlagSet) func([]string) (string, string, any, error) {
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 1, "ID"); err != nil {
						return "", "", nil, err
					}
					return "POST", "/v1/nodes/" + esc(args[0]) + "/drain", nil, nil
				}
			}},
		}},
		{name: "cluster", summary: "Raft cluster status and membership (admin)", verbs: map[string]verb{
			"status":      {help: "leader, term, indexes and peers", flags: noFlags("GET", "/v1/cluster"), columns: clusterCols, nested: peers},
			"remove":      {args: "ID", help: "remove an origin from the Raft group", flags: byID("DELETE", "/v1/cluster/peers/")},
			"transfer":    {help: "hand leadership to another voter", flags: noFlags("POST", "/v1/cluster/transfer-leadership")},
			"rotate-keys": {help: "install a new token signing key", flags: noFlags("POST", "/v1/cluster/keys/rotate")},
			"join-token": {args: "NAME", help: "create a node token for edges; shown once", columns: keyCols, flags: func(*flag.FlagSet) func([]string) (string, string, any, error) {
				return func(args []string) (string, string, any, error) {
					if err := nargs(args, 1, "NAME"); err != nil {
						return "", "", nil, err
					}
					return "POST", "/v1/cluster/join-tokens", map[string]string{"name": args[0]}, nil
				}
			}},
			"keys": {help: "public token keys (JWKS)", flags: noFlags("GET", "/v1/cluster/keys")},
		}},
	}
}
