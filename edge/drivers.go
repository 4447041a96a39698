package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/edge/runtime/docker"
	"github.com/strata-edge/strata/edge/runtime/kubernetes"
)

// driverConnectTimeout bounds connecting to a container engine at start.
const driverConnectTimeout = 15 * time.Second

// newDrivers makes the runtime drivers cfg names. On failure it closes
// those already made.
func newDrivers(cfg Config, origins *api.Client, log *slog.Logger) ([]runtime.Driver, error) {
	var out []runtime.Driver
	fail := func(err error) ([]runtime.Driver, error) {
		for _, d := range out {
			_ = d.Close(context.Background())
		}
		return nil, err
	}
	for _, name := range cfg.Runtime.drivers() {
		switch api.Runtime(name) {
		case api.RuntimeProcess:
			d, err := runtime.NewProcess(cfg.Runtime.processConfig(), runtime.ProcessDeps{Logger: log})
			if err != nil {
				return fail(err)
			}
			out = append(out, d)
		case api.RuntimeDocker:
			dc := cfg.Runtime.Docker
			ctx, cancel := context.WithTimeout(context.Background(), driverConnectTimeout)
			d, err := docker.New(ctx, docker.Config{
				NodeID: cfg.NodeID, Host: dc.Host, Network: dc.Network, GPUs: dc.GPUs,
				OrphanGrace: dc.OrphanGrace, SweepInterval: dc.SweepInterval,
			}, docker.Deps{Logger: log, SessionEnded: sessionEnded(origins)})
			cancel()
			if err != nil {
				return fail(err)
			}
			out = append(out, d)
		case api.RuntimeKubernetes:
			ctx, cancel := context.WithTimeout(context.Background(), driverConnectTimeout)
			d, err := kubernetes.New(ctx, cfg.Runtime.Kubernetes.driverConfig(cfg.NodeID, os.Getenv), kubernetes.Deps{Logger: log})
			cancel()
			if err != nil {
				return fail(err)
			}
			out = append(out, d)
		default:
			return fail(fmt.Errorf("%w: runtime.drivers: %q is not a driver this edge has", ErrInvalid, name))
		}
	}
	return out, nil
}

// sessionEnded asks the origins whether a session is over for good:
// terminated or no longer known. A failed session may still be placed
// anew by its restart policy, so its volume stays.
func sessionEnded(c *api.Client) func(context.Context, string) (bool, error) {
	return func(ctx context.Context, id string) (bool, error) {
		s, err := c.Sessions().Get(ctx, id, "")
		var ae *api.Error
		switch {
		case errors.As(err, &ae) && ae.Status == 404:
			return true, nil
		case err != nil:
			return false, err
		}
		return s.State == api.StateTerminated, nil
	}
}
