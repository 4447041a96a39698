package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
)

// ensureImage makes sure image is on the engine as policy says: always
// pulls it, if_missing (the default) pulls it only when absent, never
// fails with ErrImageMissing when it is absent.
func (d *Driver) ensureImage(ctx context.Context, image, policy string) error {
	if policy != runtime.PullAlways {
		_, err := d.cli.ImageInspect(ctx, image)
		switch {
		case err == nil:
			return nil
		case !isNotFound(err):
			return fmt.Errorf("inspect image %q: %w", image, err)
		case policy == runtime.PullNever:
			return fmt.Errorf("%w: image %q is not on edge %s and the app's pull_policy is never", ErrImageMissing, image, d.cfg.NodeID)
		}
	}
	d.log.Info("pulling image", "image", image, "policy", policy)
	res, err := d.cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("%w: pull image %q: %w", ErrImageMissing, image, err)
	}
	if err := res.Wait(ctx); err != nil {
		return fmt.Errorf("%w: pull image %q: %w", ErrImageMissing, image, err)
	}
	// Some engines end a failed pull's stream without an error message:
	// the image must be there now.
	if _, err := d.cli.ImageInspect(ctx, image); err != nil {
		return fmt.Errorf("%w: image %q not there after pulling: %w", ErrImageMissing, image, err)
	}
	return nil
}

// ensureVolume creates the session's volume unless it exists (a woken
// session finds the one it had before hibernating).
func (d *Driver) ensureVolume(ctx context.Context, spec runtime.Spec) error {
	name := volumeName(spec.SessionID)
	if _, err := d.cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{}); err == nil {
		return nil
	} else if !isNotFound(err) {
		return fmt.Errorf("inspect volume %s: %w", name, err)
	}
	labels := map[string]string{
		runtime.LabelManaged: "true", runtime.LabelSession: spec.SessionID, runtime.LabelNode: d.cfg.NodeID,
		runtime.LabelApp: spec.AppID, runtime.LabelTenant: spec.TenantID,
	}
	if _, err := d.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels}); err != nil {
		return fmt.Errorf("create volume %s: %w", name, err)
	}
	return nil
}
