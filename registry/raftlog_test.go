package registry

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/strata-edge/strata/internal/logging"
)

// A node's first election is routine; a lost leader stays a warning.
func TestRaftFirstElectionIsInfo(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: logging.WriterLeveled(log, raftLevel), Level: hclog.Info})
	hl.Warn("heartbeat timeout reached, starting election", "last-leader-addr", raft.ServerAddress(""), "last-leader-id", raft.ServerID(""))
	hl.Warn("heartbeat timeout reached, starting election", "last-leader-addr", raft.ServerAddress("127.0.0.1:7071"), "last-leader-id", raft.ServerID("o1"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[1], "level=WARN") {
		t.Fatalf("want the first election at INFO, a lost leader at WARN; got:\n%s", buf.String())
	}
}
