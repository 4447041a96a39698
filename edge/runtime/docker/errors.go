package docker

import "errors"

// ErrImageMissing means the app's image is not on the engine and its
// pull policy forbids pulling it (or the pull found nothing).
var ErrImageMissing = errors.New("docker: image missing")
