// Package execprovider is the autoscaler's exec provider: it runs the
// operator's command with the action as JSON on stdin, which drives
// compose, systemd units or a cloud CLI.
package execprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/strata-edge/strata/autoscale"
)

// ErrCommand is wrapped when the command fails or cannot start.
var ErrCommand = errors.New("exec provider: command failed")

// Provider runs Command (argv, no shell) once per action.
type Provider struct {
	command []string
	timeout time.Duration
}

var _ autoscale.Provider = (*Provider)(nil)

// DefaultTimeout bounds one run of the command.
const DefaultTimeout = 5 * time.Minute

// New returns the provider; timeout 0 means DefaultTimeout.
func New(command []string, timeout time.Duration) (*Provider, error) {
	if len(command) == 0 || command[0] == "" {
		return nil, errors.New("exec provider: autoscale.exec.command is empty")
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Provider{command: append([]string(nil), command...), timeout: timeout}, nil
}

// Scale runs the command with a's JSON on stdin, and STRATA_DECISION_ID,
// STRATA_POOL, STRATA_ADD and STRATA_REMOVE (space-separated) in its
// environment for scripts that would rather not parse JSON. A non-zero
// exit is an error carrying the end of its output.
func (p *Provider) Scale(ctx context.Context, a autoscale.Action) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("%w: encode action: %w", ErrCommand, err)
	}
	cmd := exec.CommandContext(ctx, p.command[0], p.command[1:]...)
	cmd.Stdin = bytes.NewReader(append(body, '\n'))
	cmd.Env = append(os.Environ(),
		"STRATA_DECISION_ID="+a.DecisionID,
		"STRATA_POOL="+a.Pool,
		fmt.Sprintf("STRATA_ADD=%d", a.Add),
		"STRATA_REMOVE="+strings.Join(a.Remove, " "),
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		tail := out.Bytes()
		if len(tail) > 512 {
			tail = tail[len(tail)-512:]
		}
		return fmt.Errorf("%w: %s: %w: %s", ErrCommand, p.command[0], err, bytes.TrimSpace(tail))
	}
	return nil
}
