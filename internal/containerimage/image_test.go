package containerimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The image's layer holds the binary as /strata (0755) and a /tmp that
// anyone may write to, and nothing else.
func TestRootfs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(bin, []byte("binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	layer, err := rootfs(bin)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(layer))
	got := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h.Mode
		if h.Name == "strata" {
			b, _ := io.ReadAll(tr)
			if string(b) != "binary" {
				t.Errorf("/strata holds %q", b)
			}
		}
	}
	if len(got) != 2 || got["strata"] != 0o755 || got["tmp/"] != 0o1777 {
		t.Errorf("layer entries %v", got)
	}
}

// A dynamically linked binary is refused before anything is imported.
func TestDynamicBinaryRefused(t *testing.T) {
	exe := "/bin/sh"
	static, err := Static(exe)
	if err != nil {
		t.Skip(err)
	}
	if static {
		t.Skipf("%s is static here", exe)
	}
	if err := Import(t.Context(), "unix:///nonexistent.sock", "localhost/x:1", exe); err == nil || !bytes.Contains([]byte(err.Error()), []byte("CGO_ENABLED=0")) {
		t.Errorf("err %v; want the advice to build with CGO_ENABLED=0", err)
	}
}
