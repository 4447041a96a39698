package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
)

// ensureImage makes sure image is on the engine as policy says: always
// pulls it, if_missing (the default) pulls it only when absent, never
// fails with ErrImageMissing when it is absent.
//
// An image seen within imageFresh is not looked up again: a burst of
// starts of one app costs the engine one inspect.
func (d *Driver) ensureImage(ctx context.Context, image, policy string) error {
	if policy != runtime.PullAlways {
		d.mu.Lock()
		seen, ok := d.images[image]
		d.mu.Unlock()
		if ok && time.Since(seen) < imageFresh {
			return nil
		}
		_, err := d.cli.ImageInspect(ctx, image)
		switch {
		case err == nil:
			d.sawImage(image)
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
	d.sawImage(image)
	return nil
}

// imageFresh is how long an image seen on the engine counts as there.
const imageFresh = 30 * time.Second

// sawImage records that image is on the engine now.
func (d *Driver) sawImage(image string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.images) > 1024 {
		clear(d.images) // bounded: many apps' images come and go
	}
	d.images[image] = time.Now()
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
