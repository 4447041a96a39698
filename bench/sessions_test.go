package bench

import (
	"context"
	"strings"
	"testing"
)

func TestSessionsOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    SessionsOptions
		want string
	}{
		{"no command", SessionsOptions{}, "no instance command"},
		{"one edge", SessionsOptions{Command: []string{"true"}, Edges: 1}, "at least 2"},
		{"negative count", SessionsOptions{Command: []string{"true"}, Count: -1}, "must be positive"},
		{"unknown runtime", SessionsOptions{Command: []string{"true"}, Runtime: "lxc"}, `--runtime "lxc"`},
		{"docker without an engine", SessionsOptions{Command: []string{"true"}, Runtime: "docker"}, "needs DOCKER_HOST"},
	} {
		if tc.o.Runtime == "docker" {
			t.Setenv("DOCKER_HOST", "")
		}
		_, err := Sessions(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want %q", tc.name, err, tc.want)
		}
	}
}
