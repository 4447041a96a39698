package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/strata-edge/strata/api"
)

// op is one API call of a verb; its result is rendered as JSON or a
// table, nil renders nothing.
type op func(ctx context.Context, c *api.Client) (any, error)

// builder binds a verb's flags and returns what turns its positional
// arguments into an op.
type builder func(fs *flag.FlagSet) func(args []string) (op, error)

// noArgs builds a verb taking no argument.
func noArgs(call func(ctx context.Context, c *api.Client) (any, error)) builder {
	return func(*flag.FlagSet) func([]string) (op, error) {
		return func(args []string) (op, error) {
			if err := nargs(args, 0, ""); err != nil {
				return nil, err
			}
			return call, nil
		}
	}
}

// byID builds a verb taking one ID argument.
func byID(call func(ctx context.Context, c *api.Client, id string) (any, error)) builder {
	return func(*flag.FlagSet) func([]string) (op, error) {
		return func(args []string) (op, error) {
			if err := nargs(args, 1, "ID"); err != nil {
				return nil, err
			}
			return func(ctx context.Context, c *api.Client) (any, error) { return call(ctx, c, args[0]) }, nil
		}
	}
}

// done adapts a call that answers nothing (204) to an op result.
func done(err error) (any, error) { return nil, err }

// paged builds a list verb reading one page, with --limit, --cursor and
// --consistency, and a flag per filter (tenant_id: --tenant-id).
func paged(list func(ctx context.Context, c *api.Client, o api.ListOptions, filter map[string]string) (any, error), filters ...string) builder {
	return func(fs *flag.FlagSet) func([]string) (op, error) {
		limit := fs.Int("limit", 0, "page size (1-1000)")
		cursor := fs.String("cursor", "", "continue after this ID")
		consistency := fs.String("consistency", "", "stale, lease or consistent")
		values := make([]*string, len(filters))
		for i, name := range filters {
			values[i] = fs.String(strings.ReplaceAll(name, "_", "-"), "", "filter by "+name)
		}
		return func(args []string) (op, error) {
			if err := nargs(args, 0, ""); err != nil {
				return nil, err
			}
			o := api.ListOptions{Limit: *limit, Cursor: *cursor, Consistency: api.Consistency(*consistency)}
			f := map[string]string{}
			for i, name := range filters {
				f[name] = *values[i]
			}
			return func(ctx context.Context, c *api.Client) (any, error) { return list(ctx, c, o, f) }, nil
		}
	}
}

var (
	tenantCols    = []string{"id", "name", "quota.max_sessions", "quota.max_gpus", "usage.sessions", "usage.gpus"}
	keyCols       = []string{"id", "name", "scope", "expires_at", "token"}
	joinTokenCols = []string{"id", "name", "role", "uses", "max_uses", "expires_at", "token", "ca_fingerprint"}
	appCols       = []string{"id", "name", "runtime", "gpus", "egress_mbps", "restart_policy"}
	sessionCols   = []string{"id", "tenant_id", "app_id", "state", "source", "reservation.node_id", "region", "reason"}
	nodeCols      = []string{"id", "role", "region", "state", "draining", "nic_mbps", "reserved.sessions", "reserved.egress_mbps"}
	viewerCols    = []string{"edge", "upstream", "relaying", "role", "expires_at", "token", "moq_url", "whep_url", "player_url"}
	clusterCols   = []string{"node_id", "state", "leader_id", "leader_address", "term", "commit_index", "applied_index", "last_index"}
	peers         = &nestedTable{key: "peers", columns: []string{"id", "address", "suffrage", "leader"}}
	scaleCols     = []string{"enabled", "dry_run"}
	scalePools    = &nestedTable{key: "pools", columns: []string{"name", "nodes", "draining", "current", "desired", "min", "max", "lead_time_seconds", "last_reason"}}
	decisionCols  = []string{"id", "pool", "at", "current", "desired", "add", "drain", "undrain", "remove", "status", "reason"}
)

func resources() []resource {
	return []resource{
		{name: "tenants", summary: "manage tenants (admin)", verbs: map[string]verb{
			"list": {help: "list tenants", columns: tenantCols, flags: paged(func(ctx context.Context, c *api.Client, o api.ListOptions, _ map[string]string) (any, error) {
				return c.Tenants().Page(ctx, o)
			})},
			"get": {args: "ID", help: "show a tenant", columns: tenantCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Tenants().Get(ctx, id, "")
			})},
			"create": {args: "NAME", help: "create a tenant", columns: tenantCols, flags: func(fs *flag.FlagSet) func([]string) (op, error) {
				ms := fs.Int64("max-sessions", 0, "session quota (0 = unlimited)")
				mg := fs.Int64("max-gpus", 0, "GPU quota (0 = unlimited)")
				me := fs.Int64("max-egress-mbps", 0, "egress quota in Mbit/s (0 = unlimited)")
				return func(args []string) (op, error) {
					if err := nargs(args, 1, "NAME"); err != nil {
						return nil, err
					}
					spec := api.TenantCreate{Name: args[0], Quota: &api.Quota{MaxSessions: *ms, MaxGPUs: *mg, MaxEgressMbps: *me}}
					return func(ctx context.Context, c *api.Client) (any, error) { return c.Tenants().Create(ctx, spec) }, nil
				}
			}},
			"update": {args: "ID", help: "change a tenant's name or quota; only the flags given change", columns: tenantCols, flags: updateTenant},
			"delete": {args: "ID", help: "delete a tenant with no live sessions", flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return done(c.Tenants().Delete(ctx, id))
			})},
		}},
		{name: "keys", summary: "manage a tenant's API keys", verbs: map[string]verb{
			"list": {args: "TENANT", help: "list keys", columns: keyCols, flags: func(*flag.FlagSet) func([]string) (op, error) {
				return func(args []string) (op, error) {
					if err := nargs(args, 1, "TENANT"); err != nil {
						return nil, err
					}
					return func(ctx context.Context, c *api.Client) (any, error) {
						return c.Keys().Page(ctx, args[0], api.ListOptions{})
					}, nil
				}
			}},
			"create": {args: "TENANT NAME", help: "create a key; its token is shown once", columns: keyCols, flags: func(*flag.FlagSet) func([]string) (op, error) {
				return func(args []string) (op, error) {
					if err := nargs(args, 2, "TENANT NAME"); err != nil {
						return nil, err
					}
					return func(ctx context.Context, c *api.Client) (any, error) {
						return c.Keys().Create(ctx, args[0], api.KeyCreate{Name: args[1]})
					}, nil
				}
			}},
			"delete": {args: "TENANT KEY", help: "revoke a key", flags: func(*flag.FlagSet) func([]string) (op, error) {
				return func(args []string) (op, error) {
					if err := nargs(args, 2, "TENANT KEY"); err != nil {
						return nil, err
					}
					return func(ctx context.Context, c *api.Client) (any, error) {
						return done(c.Keys().Delete(ctx, args[0], args[1]))
					}, nil
				}
			}},
		}},
		{name: "apps", summary: "manage apps (session templates)", verbs: map[string]verb{
			"list": {help: "list apps", columns: appCols, flags: paged(func(ctx context.Context, c *api.Client, o api.ListOptions, f map[string]string) (any, error) {
				return c.Apps().Page(ctx, api.AppFilter{TenantID: f["tenant_id"], ListOptions: o})
			}, "tenant_id")},
			"get": {args: "ID", help: "show an app", columns: appCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Apps().Get(ctx, id, "")
			})},
			"create": {args: "NAME", help: "create an app", columns: appCols, flags: func(fs *flag.FlagSet) func([]string) (op, error) {
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
				cpu := fs.Int64("cpu-millis", 0, "CPU limit per instance in thousandths of a CPU (0 = none)")
				mem := fs.Int64("memory-mb", 0, "memory limit per instance in MiB (0 = none)")
				cargs := fs.String("args", "", "arguments after the command or the image's entrypoint, split on spaces")
				shm := fs.Int64("shm-mb", 0, "size of /dev/shm in MiB (docker, kubernetes; 0 = runtime default)")
				volume := fs.String("volume", "", "mount a per-session volume, kept across hibernate, at this container `path`")
				pull := fs.String("pull", "", "image pull policy: always, if_missing (default) or never")
				env := map[string]string{}
				fs.Func("env", "`KEY=VALUE` in the instance's environment (repeatable)", func(s string) error {
					k, v, ok := strings.Cut(s, "=")
					if !ok || k == "" {
						return fmt.Errorf("want KEY=VALUE, got %q", s)
					}
					env[k] = v
					return nil
				})
				return func(args []string) (op, error) {
					if err := nargs(args, 1, "NAME"); err != nil {
						return nil, err
					}
					spec := api.AppSpec{
						TenantID: *tenant, Name: args[0], Runtime: api.Runtime(*runtime), Image: *image,
						GPUs: *gpus, GPUMemoryMB: *gpuMem, EgressMbps: *egress, IdleMinutes: *idleMin,
						RestartPolicy: api.RestartPolicy(*restart), IdlePolicy: api.IdlePolicy(*idle),
						Command: strings.Fields(*command), CPUMillis: *cpu, MemoryMB: *mem,
						ContainerFields: api.ContainerFields{Args: strings.Fields(*cargs), ShmMB: *shm, Volume: *volume, PullPolicy: api.PullPolicy(*pull)},
					}
					if len(env) > 0 {
						spec.Env = env
					}
					return func(ctx context.Context, c *api.Client) (any, error) { return c.Apps().Create(ctx, spec) }, nil
				}
			}},
			"delete": {args: "ID", help: "delete an app no live session uses", flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return done(c.Apps().Delete(ctx, id))
			})},
		}},
		{name: "sessions", summary: "create, list, hibernate, wake and end sessions", verbs: map[string]verb{
			"list": {help: "list sessions", columns: sessionCols, flags: paged(func(ctx context.Context, c *api.Client, o api.ListOptions, f map[string]string) (any, error) {
				return c.Sessions().Page(ctx, api.SessionFilter{
					State: api.SessionState(f["state"]), AppID: f["app_id"], NodeID: f["node_id"],
					Region: f["region"], TenantID: f["tenant_id"], ListOptions: o,
				})
			}, "state", "app_id", "node_id", "region", "tenant_id")},
			"get": {args: "ID", help: "show a session: why it waits or failed (reason) and when a restart is tried next (retry_at)", columns: sessionGetCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Sessions().Get(ctx, id, "")
			})},
			"create": {help: "start a session of an app", columns: sessionCols, flags: func(fs *flag.FlagSet) func([]string) (op, error) {
				app := fs.String("app", "", "app ID (required)")
				tenant := fs.String("tenant", "", "tenant ID (admin keys only)")
				region := fs.String("region", "", "preferred region")
				lat := fs.Float64("lat", 0, "requester latitude")
				lon := fs.Float64("lon", 0, "requester longitude")
				return func(args []string) (op, error) {
					if err := nargs(args, 0, ""); err != nil {
						return nil, err
					}
					if *app == "" {
						return nil, usagef("--app is required")
					}
					spec := api.SessionSpec{AppID: *app, TenantID: *tenant, Region: *region}
					fs.Visit(func(f *flag.Flag) {
						if f.Name == "lat" || f.Name == "lon" {
							spec.Lat, spec.Lon = lat, lon
						}
					})
					return func(ctx context.Context, c *api.Client) (any, error) { return c.Sessions().Create(ctx, spec) }, nil
				}
			}},
			"terminate": {args: "ID", help: "end a session and release its capacity", columns: sessionCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Sessions().Terminate(ctx, id, "")
			})},
			"hibernate": {args: "ID", help: "stop a running session's instance and free its edge capacity", columns: sessionCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Sessions().Hibernate(ctx, id, "")
			})},
			"wake": {args: "ID", help: "place a hibernated session again", columns: sessionCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Sessions().Wake(ctx, id)
			})},
			"viewer": {args: "ID", help: "route a viewer to an edge and get playback URLs with a token", columns: viewerCols, flags: func(fs *flag.FlagSet) func([]string) (op, error) {
				region := fs.String("region", "", "viewer region")
				controller := fs.Bool("controller", false, "ask for the role that may send input")
				return func(args []string) (op, error) {
					if err := nargs(args, 1, "ID"); err != nil {
						return nil, err
					}
					req := api.ViewerRequest{Region: *region, Controller: *controller}
					return func(ctx context.Context, c *api.Client) (any, error) { return c.Sessions().Viewer(ctx, args[0], req) }, nil
				}
			}},
		}},
		{name: "nodes", summary: "list origins and edges", verbs: map[string]verb{
			"list": {help: "list nodes", columns: nodeCols, flags: paged(func(ctx context.Context, c *api.Client, o api.ListOptions, f map[string]string) (any, error) {
				return c.Nodes().Page(ctx, api.NodeFilter{Role: api.NodeRole(f["role"]), ListOptions: o})
			}, "role")},
			"get": {args: "ID", help: "show a node", columns: nodeCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Nodes().Get(ctx, id, "")
			})},
			"drain": {args: "ID", help: "stop sending new sessions and viewers to a node", columns: nodeCols, flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return c.Nodes().Drain(ctx, id)
			})},
		}},
		{name: "autoscale", summary: "the autoscaler's pools and decisions (admin)", verbs: map[string]verb{
			"status": {help: "pools with current and desired sizes and last reasons", columns: scaleCols, nested: scalePools, flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Autoscaler(ctx, 1)
			})},
			"history": {help: "the newest decisions, with inputs (-o json) and reasons", columns: decisionCols, flags: func(fs *flag.FlagSet) func([]string) (op, error) {
				limit := fs.Int("limit", 20, "how many decisions (1-1000)")
				return func(args []string) (op, error) {
					if err := nargs(args, 0, ""); err != nil {
						return nil, err
					}
					return func(ctx context.Context, c *api.Client) (any, error) {
						a, err := c.Autoscaler(ctx, *limit)
						if err != nil {
							return nil, err
						}
						return struct {
							Items []api.ScaleDecision `json:"items"`
						}{a.Decisions}, nil
					}, nil
				}
			}},
		}},
		{name: "cluster", summary: "Raft cluster status and membership (admin)", verbs: map[string]verb{
			"status": {help: "leader, term, indexes and peers", columns: clusterCols, nested: peers, flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Cluster().Status(ctx)
			})},
			"remove": {args: "ID", help: "remove an origin from the Raft group", flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return done(c.Cluster().RemovePeer(ctx, id))
			})},
			"transfer": {help: "hand leadership to another voter", flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Cluster().TransferLeadership(ctx)
			})},
			"rotate-keys": {help: "install a new token signing key", flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Cluster().RotateKeys(ctx)
			})},
			"join-token": {args: "NAME", help: "create a join token that enrolls nodes; shown once, with the CA fingerprint they pin", columns: joinTokenCols, flags: func(fs *flag.FlagSet) func([]string) (op, error) {
				role := fs.String("role", "edge", "role of the nodes it enrolls: edge or origin")
				ttl := fs.Duration("ttl", 24*time.Hour, "how long it can be used")
				uses := fs.Int64("max-uses", 10, "how many nodes it can enroll")
				return func(args []string) (op, error) {
					if err := nargs(args, 1, "NAME"); err != nil {
						return nil, err
					}
					return func(ctx context.Context, c *api.Client) (any, error) {
						return c.Cluster().CreateJoinToken(ctx, api.JoinTokenCreate{Name: args[0], Role: api.NodeRole(*role), TTLSeconds: int64(ttl.Seconds()), MaxUses: *uses})
					}, nil
				}
			}},
			"join-tokens": {help: "list join tokens", columns: joinTokenCols, flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Cluster().JoinTokens(ctx)
			})},
			"revoke-join-token": {args: "ID", help: "revoke a join token (nodes it enrolled keep their certificates)", flags: byID(func(ctx context.Context, c *api.Client, id string) (any, error) {
				return done(c.Cluster().DeleteJoinToken(ctx, id))
			})},
			"ca": {help: "the cluster CA certificate and its fingerprint", flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Cluster().CA(ctx)
			})},
			"keys": {help: "public token keys (JWKS)", flags: noArgs(func(ctx context.Context, c *api.Client) (any, error) {
				return c.Cluster().Keys(ctx)
			})},
		}},
	}
}

// updateTenant builds "tenants update": the API replaces a quota as a
// whole, so the quota flags given are laid over the tenant's current
// quota, read first.
func updateTenant(fs *flag.FlagSet) func([]string) (op, error) {
	name := fs.String("name", "", "new name")
	ms := fs.Int64("max-sessions", 0, "session quota (0 = unlimited)")
	mg := fs.Int64("max-gpus", 0, "GPU quota (0 = unlimited)")
	me := fs.Int64("max-egress-mbps", 0, "egress quota in Mbit/s (0 = unlimited)")
	return func(args []string) (op, error) {
		if err := nargs(args, 1, "ID"); err != nil {
			return nil, err
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		quota := given["max-sessions"] || given["max-gpus"] || given["max-egress-mbps"]
		if !quota && !given["name"] {
			return nil, usagef("nothing to change: give --name, --max-sessions, --max-gpus or --max-egress-mbps")
		}
		return func(ctx context.Context, c *api.Client) (any, error) {
			var u api.TenantUpdate
			if given["name"] {
				u.Name = name
			}
			if quota {
				t, err := c.Tenants().Get(ctx, args[0], api.Consistent)
				if err != nil {
					return nil, err
				}
				q := t.Quota
				if given["max-sessions"] {
					q.MaxSessions = *ms
				}
				if given["max-gpus"] {
					q.MaxGPUs = *mg
				}
				if given["max-egress-mbps"] {
					q.MaxEgressMbps = *me
				}
				u.Quota = &q
			}
			return c.Tenants().Update(ctx, args[0], u)
		}, nil
	}
}
