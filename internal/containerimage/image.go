// Package containerimage makes container images from a static strata
// binary and imports them through the Docker Engine API, for the tests
// and benches of the container runtimes: no registry is needed.
package containerimage

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Static reports whether the ELF binary at path is statically linked
// (no program interpreter), so it runs in an otherwise empty image.
func Static(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("containerimage: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// Import makes the image ref on the engine at host (empty: DOCKER_HOST)
// holding the static binary bin as /strata, its entrypoint, and an empty
// /tmp.
func Import(ctx context.Context, host, ref, bin string) error {
	if ok, err := Static(bin); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("containerimage: %s is dynamically linked; build it with CGO_ENABLED=0", bin)
	}
	layer, err := rootfs(bin)
	if err != nil {
		return err
	}
	cli, err := engine(host)
	if err != nil {
		return err
	}
	defer cli.Close()
	rc, err := cli.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(layer), SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: []string{`ENTRYPOINT ["/strata"]`}})
	if err != nil {
		return fmt.Errorf("containerimage: import %s: %w", ref, err)
	}
	defer rc.Close()
	// The answer is a JSON stream; a failure is a message with an error.
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error        string `json:"error"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("containerimage: import %s: %w", ref, err)
		}
		if m.Error != "" || m.ErrorMessage != "" {
			return fmt.Errorf("containerimage: import %s: %s%s", ref, m.Error, m.ErrorMessage)
		}
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("containerimage: %s not there after import: %w", ref, err)
	}
	return nil
}

// rootfs is the image's only layer as a tar.
func rootfs(bin string) ([]byte, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("containerimage: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "strata", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("containerimage: %w", err)
		}
	}
	if _, err := tw.Write(b); err != nil {
		return nil, fmt.Errorf("containerimage: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("containerimage: %w", err)
	}
	return buf.Bytes(), nil
}

// Remove deletes the image ref from the engine at host (empty:
// DOCKER_HOST); an image already gone is no error.
func Remove(ctx context.Context, host, ref string) error {
	cli, err := engine(host)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("containerimage: remove %s: %w", ref, err)
	}
	return nil
}

// engine is a client of the engine at host (empty: DOCKER_HOST).
func engine(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("containerimage: %w", err)
	}
	return cli, nil
}
