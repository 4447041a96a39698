package bench

import "os"

// workDir returns dir, or a new temporary directory named after prefix
// when dir is empty, for a bench's cluster data. cleanup removes only a
// directory that workDir made.
func workDir(dir, prefix string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	return d, func() { _ = os.RemoveAll(d) }, nil
}
