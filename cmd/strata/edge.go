package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/config"
)

func init() {
	commands["edge"] = command{"run an edge node (gossip member, GPU sessions, media fan-out)", runEdge}
}

// edgeFlags binds the edge's flags onto cfg.
func edgeFlags(cfg *edge.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.String("config", "", "YAML configuration `file`")
	fs.StringVar(&cfg.NodeID, "id", cfg.NodeID, "stable node ID (node_id)")
	fs.Var((*config.StringList)(&cfg.Join), "join", "origin API `address`es, comma-separated or repeated (join)")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "edge join token from strata cluster join-token, needed once to enroll; ps shows it: prefer --token-file or $STRATA_TOKEN (token)")
	fs.Var(config.NewSecretFile(&cfg.Token), "token-file", "`file` holding the edge join token, kept off the command line (token)")
	fs.StringVar(&cfg.CAFingerprint, "ca-fingerprint", cfg.CAFingerprint, "cluster CA fingerprint printed with the join token; the edge trusts only that CA (ca_fingerprint)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the edge's certificate and key, 0700; default data/<id> (data_dir)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region this edge runs in (region)")
	fs.StringVar(&cfg.Zone, "zone", cfg.Zone, "zone within the region (zone)")
	fs.Float64Var(&cfg.Lat, "lat", cfg.Lat, "latitude in degrees (lat)")
	fs.Float64Var(&cfg.Lon, "lon", cfg.Lon, "longitude in degrees (lon)")
	fs.Int64Var(&cfg.NICMbps, "nic-mbps", cfg.NICMbps, "egress capacity in Mbit/s; 0 reads the link speed (nic_mbps)")
	fs.StringVar(&cfg.NICIface, "nic-iface", cfg.NICIface, "interface whose speed to read; default: the default route's (nic_iface)")
	fs.StringVar(&cfg.Capacity.Profile, "capacity-profile", cfg.Capacity.Profile, "capacity profile from 'strata bench calibrate': advertise no more egress than its knee (capacity.profile)")
	fs.StringVar(&cfg.GPUs, "gpus", cfg.GPUs, "GPU discovery: auto, none or fake:SPEC e.g. fake:4xH200:141GB (gpus)")
	fs.StringVar(&cfg.Gossip.Addr, "gossip-addr", cfg.Gossip.Addr, "gossip bind host:port (gossip.addr)")
	fs.StringVar(&cfg.Gossip.Advertise, "gossip-advertise", cfg.Gossip.Advertise, "gossip host:port others dial (gossip.advertise)")
	fs.Var((*config.StringList)(&cfg.Gossip.Keys), "gossip-key", "base64 gossip `key` made by strata keygen; repeatable, the first encrypts; ps shows it: prefer --gossip-key-file or STRATA_GOSSIP_KEYS (gossip.keys)")
	fs.Var(config.NewSecretListFile(&cfg.Gossip.Keys), "gossip-key-file", "`file` of gossip keys, one per line, the first encrypts (gossip.keys)")
	fs.Var((*config.StringList)(&cfg.Gossip.Seeds), "gossip-seed", "gossip `address` to join; default: the origins' gossip addresses (gossip.seeds)")
	fs.StringVar(&cfg.Gossip.Profile, "gossip-profile", cfg.Gossip.Profile, "gossip timing: lan, wan or local (gossip.profile)")
	fs.StringVar(&cfg.Advertise.API, "api-advertise", cfg.Advertise.API, "edge API host:port others use (advertise.api)")
	fs.StringVar(&cfg.Advertise.QUIC, "quic-advertise", cfg.Advertise.QUIC, "MoQ QUIC/WebTransport host:port (advertise.quic)")
	fs.StringVar(&cfg.Advertise.WebRTC, "webrtc-advertise", cfg.Advertise.WebRTC, "WebRTC UDP host:port (advertise.webrtc)")
	fs.StringVar(&cfg.Advertise.Metrics, "metrics-advertise", cfg.Advertise.Metrics, "/metrics host:port Prometheus dials, listed in /v1/nodes and service discovery; default: --metrics-addr with gossip's host (advertise.metrics)")
	fs.StringVar(&cfg.Advertise.WHIP, "whip-advertise", cfg.Advertise.WHIP, "WHIP/WHEP HTTP host:port (advertise.whip)")
	fs.StringVar(&cfg.Media.QUICAddr, "media-quic-addr", cfg.Media.QUICAddr, "UDP host:port for MoQ over raw QUIC and WebTransport /moq; empty: no MoQ (media.quic_addr)")
	fs.StringVar(&cfg.Media.HTTPAddr, "media-http-addr", cfg.Media.HTTPAddr, "HTTPS host:port for WHIP /whip/{tenant}/{session} and WHEP /whep/... (media.http_addr)")
	fs.StringVar(&cfg.Media.WebRTCAddr, "media-webrtc-addr", cfg.Media.WebRTCAddr, "UDP host:port all WebRTC peers share; needed with --media-http-addr (media.webrtc_addr)")
	fs.StringVar((*string)(&cfg.Media.TLS.Mode), "media-tls-mode", string(cfg.Media.TLS.Mode), "media certificate `mode`: self-signed (development, pinned by the player), files or acme; empty: files with --media-tls-cert, else self-signed (media.tls.mode)")
	fs.StringVar(&cfg.Media.TLS.CertFile, "media-tls-cert", cfg.Media.TLS.CertFile, "PEM certificate chain `file` for media listeners, reloaded when it changes (media.tls.cert_file)")
	fs.StringVar(&cfg.Media.TLS.KeyFile, "media-tls-key", cfg.Media.TLS.KeyFile, "PEM key `file` for --media-tls-cert (media.tls.key_file)")
	fs.StringVar(&cfg.Media.TLS.ACME.DirectoryURL, "media-acme-directory", cfg.Media.TLS.ACME.DirectoryURL, "ACME directory `URL`; empty: Let's Encrypt (media.tls.acme.directory_url)")
	fs.StringVar(&cfg.Media.TLS.ACME.Email, "media-acme-email", cfg.Media.TLS.ACME.Email, "ACME account contact `email` (media.tls.acme.email)")
	fs.Var((*config.StringList)(&cfg.Media.TLS.ACME.Domains), "media-acme-domain", "DNS `name` the ACME certificate covers; comma-separated or repeated (media.tls.acme.domains)")
	fs.StringVar(&cfg.Media.TLS.ACME.CacheDir, "media-acme-cache-dir", cfg.Media.TLS.ACME.CacheDir, "`dir` keeping the ACME account key and certificate, 0700 (media.tls.acme.cache_dir)")
	fs.StringVar(&cfg.Media.TLS.ACME.CAFile, "media-acme-ca", cfg.Media.TLS.ACME.CAFile, "PEM `file` of roots for a private ACME directory's HTTPS (media.tls.acme.ca_file)")
	fs.StringVar(&cfg.Media.TLS.ACME.HTTPAddr, "media-acme-http-addr", cfg.Media.TLS.ACME.HTTPAddr, "`host:port` answering ACME http-01 (the CA connects to port 80); empty: tls-alpn-01 on --media-http-addr (the CA connects to port 443) (media.tls.acme.http_addr)")
	fs.StringVar(&cfg.Runtime.Driver, "runtime", cfg.Runtime.Driver, "how the edge runs the sessions placed on it: process, or none to run none (they then never start) (runtime.driver)")
	fs.StringVar(&cfg.Runtime.StateDir, "runtime-state-dir", cfg.Runtime.StateDir, "`dir` for instance PID files and working directories, which instance users must be able to pass through; default <data-dir>/runtime (runtime.state_dir)")
	fs.StringVar(&cfg.Runtime.User, "instance-user", cfg.Runtime.User, "`user` instances run as: name, name:group, uid or uid:gid; empty: nobody when the edge runs as root, else the edge's own user (runtime.user)")
	fs.BoolVar(&cfg.Runtime.AllowRoot, "allow-root-instances", cfg.Runtime.AllowRoot, "let --instance-user be root; without it the edge refuses to run instances as root (runtime.allow_root)")
	fs.Uint64Var(&cfg.Runtime.MaxOpenFiles, "instance-max-open-files", cfg.Runtime.MaxOpenFiles, "open files per instance (RLIMIT_NOFILE); 0: 65536 (runtime.max_open_files)")
	fs.Uint64Var(&cfg.Runtime.MaxProcesses, "instance-max-processes", cfg.Runtime.MaxProcesses, "processes and threads per instance (its cgroup's pids.max; RLIMIT_NPROC, counted per user); 0: 4096 (runtime.max_processes)")
	fs.StringVar(&cfg.Runtime.Cgroups, "instance-cgroups", cfg.Runtime.Cgroups, "a cgroup per instance with its app's CPU and memory limits: auto (where the kernel allows), required or off; empty: auto (runtime.cgroups)")
	fs.StringVar(&cfg.Runtime.CgroupParent, "instance-cgroup-parent", cfg.Runtime.CgroupParent, "cgroup, relative to the hierarchy root, holding the instances' cgroups; empty: strata (runtime.cgroup_parent)")
	fs.DurationVar(&cfg.Runtime.StopGrace, "runtime-stop-grace", cfg.Runtime.StopGrace, "time between SIGTERM and SIGKILL when stopping an instance; 0: 10s (runtime.stop_grace)")
	fs.Var((*config.StringList)(&cfg.Runtime.Drivers), "runtimes", "runtime `drivers` to run sessions with and advertise: process, docker, kubernetes; comma-separated or repeated; empty: process (runtime.drivers)")
	fs.StringVar(&cfg.Runtime.Docker.Host, "docker-host", cfg.Runtime.Docker.Host, "container engine `address` for the docker runtime (unix:///run/docker.sock, a Podman service's socket); empty: $DOCKER_HOST, else the default socket (runtime.docker.host)")
	fs.StringVar(&cfg.Runtime.Docker.Network, "docker-network", cfg.Runtime.Docker.Network, "containers' network `mode`; empty: host, so instances reach the edge as processes do (runtime.docker.network)")
	fs.StringVar(&cfg.Runtime.Docker.GPUs, "docker-gpus", cfg.Runtime.Docker.GPUs, "how containers get their GPUs: auto, cdi (nvidia.com/gpu=N) or nvidia (DeviceRequests); empty: auto (runtime.docker.gpus)")
	fs.DurationVar(&cfg.Runtime.Docker.OrphanGrace, "docker-orphan-grace", cfg.Runtime.Docker.OrphanGrace, "age after which an unowned container with Strata labels is removed; 0: 5m (runtime.docker.orphan_grace)")
	fs.DurationVar(&cfg.DrainGrace, "drain-grace", cfg.DrainGrace, "how long a draining edge waits for sessions to move (drain_grace)")
	bindMetricsFlags(fs, &cfg.Metrics, "no metrics")
	bindLogFlags(fs, &cfg.Log.Level, &cfg.Log.Format)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata edge [flags]\n\nRuns an edge node. Settings come from defaults, then --config FILE,\nthen STRATA_* environment variables (e.g. STRATA_GOSSIP_KEYS), then flags.\nSIGTERM drains (a second signal cuts the grace short).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func runEdge(args []string) error {
	cfg := edge.Defaults()
	fs := edgeFlags(&cfg)
	log, err := loadRole(&cfg, func() { cfg = edge.Defaults() }, fs, args, cfg.Validate, &cfg.Log.Level, &cfg.Log.Format)
	if err != nil {
		return err
	}
	if err := errors.Join(config.Exclusive(fs, "token", "token-file"), config.Exclusive(fs, "gossip-key", "gossip-key-file")); err != nil {
		return usagef("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := edge.New(cfg, edge.Deps{Logger: log})
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	// A second signal ends the grace period early.
	again, stopAgain := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopAgain()
	log.Info("signal received; draining", "component", "cmd", "grace", cfg.DrainGrace)
	derr := e.Drain(again)
	// The leave is bounded by leave_timeout, not by a second signal.
	return errors.Join(derr, e.Close(context.Background()))
}
