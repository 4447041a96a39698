package runtimetest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/containerimage"
)

// DockerHost is the Docker Engine API the container tests use
// (DOCKER_HOST; Podman's service here). Without one they skip, except
// with CI=true, where .ci/run starts one and its absence is a failure.
func DockerHost(t *testing.T) string {
	t.Helper()
	h := os.Getenv("DOCKER_HOST")
	if h == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DOCKER_HOST not set (.ci/run starts Podman's Docker API service)")
		}
		t.Skip("DOCKER_HOST not set: no Docker Engine API to test against")
	}
	return h
}

// WorkloadImage is the image holding the workload as its entrypoint,
// imported into the engine once per test binary.
const WorkloadImage = "localhost/strata-workload:test"

var imageOnce sync.Once
var imageErr error

// ImportWorkload makes WorkloadImage on the engine at host.
func ImportWorkload(t *testing.T, host string) string {
	t.Helper()
	bin := Workload(t)
	imageOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		imageErr = containerimage.Import(ctx, host, WorkloadImage, bin)
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return WorkloadImage
}
