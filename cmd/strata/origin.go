package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/strata-edge/strata/internal/config"
	"github.com/strata-edge/strata/origin"
)

func init() {
	commands["origin"] = command{"run an origin node (Raft registry + REST API)", runOrigin}
}

// originFlags binds the origin's flags onto cfg.
func originFlags(cfg *origin.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("origin", flag.ContinueOnError)
	fs.String("config", "", "YAML configuration `file`")
	fs.StringVar(&cfg.NodeID, "id", cfg.NodeID, "stable node ID (node_id)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the Raft log, snapshots and admin token (data_dir)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region this origin runs in (region)")
	fs.BoolVar(&cfg.Bootstrap, "bootstrap", cfg.Bootstrap, "form a new cluster with this node as first voter (bootstrap)")
	fs.Var((*config.StringList)(&cfg.Join), "join", "API `address` of an origin to join through; repeatable (join)")
	fs.BoolVar(&cfg.Nonvoter, "nonvoter", cfg.Nonvoter, "join as a non-voting read replica (nonvoter)")
	fs.StringVar(&cfg.AdminToken, "admin-token", cfg.AdminToken, "admin API token; generated into the data dir if empty on bootstrap; ps shows it: prefer --admin-token-file or STRATA_ADMIN_TOKEN (admin_token)")
	fs.Var(config.NewSecretFile(&cfg.AdminToken), "admin-token-file", "`file` holding the admin API token, kept off the command line (admin_token)")
	fs.StringVar(&cfg.API.Addr, "api-addr", cfg.API.Addr, "REST API listen address (api.addr)")
	fs.StringVar(&cfg.API.Advertise, "api-advertise", cfg.API.Advertise, "API address other nodes use (api.advertise)")
	fs.Float64Var(&cfg.API.RateLimit, "rate-limit", cfg.API.RateLimit, "requests per second per API key; 0 disables (api.rate_limit)")
	fs.StringVar(&cfg.Raft.Addr, "raft-addr", cfg.Raft.Addr, "Raft listen address (raft.addr)")
	fs.StringVar(&cfg.Raft.Advertise, "raft-advertise", cfg.Raft.Advertise, "Raft address peers dial (raft.advertise)")
	fs.StringVar(&cfg.Raft.LogStore, "raft-log-store", cfg.Raft.LogStore, "Raft log store: wal or boltdb (raft.log_store)")
	fs.StringVar(&cfg.Raft.Profile, "raft-profile", cfg.Raft.Profile, "Raft timeouts: lan (fast failover) or wan (raft.profile)")
	fs.StringVar(&cfg.Gossip.Addr, "gossip-addr", cfg.Gossip.Addr, "gossip listen address, UDP and TCP (gossip.addr)")
	fs.StringVar(&cfg.Gossip.Advertise, "gossip-advertise", cfg.Gossip.Advertise, "gossip address peers dial (gossip.advertise)")
	fs.Var((*config.StringList)(&cfg.Gossip.Keys), "gossip-key", "base64 gossip encryption `key` (strata keygen); repeat to rotate, first encrypts; ps shows it: prefer --gossip-key-file or STRATA_GOSSIP_KEYS (gossip.keys)")
	fs.Var(config.NewSecretListFile(&cfg.Gossip.Keys), "gossip-key-file", "`file` of gossip keys, one per line, the first encrypts (gossip.keys)")
	fs.Var((*config.StringList)(&cfg.Gossip.Seeds), "gossip-seed", "gossip `address` to join besides known origins; repeatable (gossip.seeds)")
	fs.StringVar(&cfg.Gossip.Profile, "gossip-profile", cfg.Gossip.Profile, "gossip timers: lan, wan or local (gossip.profile)")
	fs.StringVar(&cfg.PKI.CAFingerprint, "ca-fingerprint", cfg.PKI.CAFingerprint, "cluster CA fingerprint a joining origin pins, printed with its join token (pki.ca_fingerprint)")
	fs.StringVar(&cfg.PKI.JoinToken, "join-token", cfg.PKI.JoinToken, "origin join token for a first join; prefer $STRATA_PKI_JOIN_TOKEN, argv is visible in ps (pki.join_token)")
	fs.Var(config.NewSecretFile(&cfg.PKI.JoinToken), "join-token-file", "`file` holding the origin join token, kept off the command line (pki.join_token)")
	fs.DurationVar(&cfg.PKI.CertValidity, "cert-validity", cfg.PKI.CertValidity, "life of the node certificates this origin issues, at most 168h (pki.cert_validity)")
	fs.BoolVar(&cfg.PKI.Disable, "plaintext", cfg.PKI.Disable, "no TLS and no node identities; only to measure what TLS costs (pki.disable)")
	bindMetricsFlags(fs, &cfg.Metrics, "on the API listener")
	bindLogFlags(fs, &cfg.Log.Level, &cfg.Log.Format)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata origin [flags]\n\nRuns an origin node. Settings come from defaults, then --config FILE,\nthen STRATA_* environment variables (e.g. STRATA_RAFT_PROFILE), then flags.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func runOrigin(args []string) error {
	cfg := origin.Defaults()
	fs := originFlags(&cfg)
	log, err := loadRole(&cfg, func() { cfg = origin.Defaults() }, fs, args, cfg.Validate, &cfg.Log.Level, &cfg.Log.Format)
	if err != nil {
		return err
	}
	if err := errors.Join(config.Exclusive(fs, "admin-token", "admin-token-file"), config.Exclusive(fs, "gossip-key", "gossip-key-file"),
		config.Exclusive(fs, "join-token", "join-token-file")); err != nil {
		return usagef("%v", err)
	}
	o, err := origin.New(cfg, origin.Deps{Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("shutting down; transferring leadership if leader")
	return o.Close(context.Background())
}
