package registry

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"

	"github.com/strata-edge/strata/internal/fsperm"
)

// The Raft log and snapshots hold the registry, token signing keys
// included, so every file the stores write is made 0600 in a 0700
// directory (see internal/fsperm for why modes are fixed after creation).

// privateVFS is raft-wal's file system with new segment files made 0600.
type privateVFS struct{ types.VFS }

var _ types.VFS = privateVFS{}

func (v privateVFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	f, err := v.VFS.Create(dir, name, size)
	if err != nil {
		return nil, err
	}
	if err := fsperm.Restrict(filepath.Join(dir, name)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// walSegmentFiler is raft-wal's segment filer over privateVFS.
func walSegmentFiler(dir string) types.SegmentFiler {
	return segment.NewFiler(dir, privateVFS{fs.New()})
}

// privateSnapshots is a file snapshot store whose snapshots are private:
// a new snapshot's directory and files are restricted as soon as they
// exist, before any state is written into them.
type privateSnapshots struct {
	*raft.FileSnapshotStore
	dir string
}

var _ raft.SnapshotStore = privateSnapshots{}

func openSnapshots(dir string, log hclog.Logger) (privateSnapshots, error) {
	if err := fsperm.MkdirAll(dir); err != nil {
		return privateSnapshots{}, fmt.Errorf("snapshots: %w", err)
	}
	s, err := raft.NewFileSnapshotStoreWithLogger(dir, 3, log)
	if err != nil {
		return privateSnapshots{}, fmt.Errorf("snapshots: %w", err)
	}
	if err := fsperm.Restrict(dir); err != nil {
		return privateSnapshots{}, fmt.Errorf("snapshots: %w", err)
	}
	return privateSnapshots{FileSnapshotStore: s, dir: dir}, nil
}

func (p privateSnapshots) Create(version raft.SnapshotVersion, index, term uint64, conf raft.Configuration, confIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := p.FileSnapshotStore.Create(version, index, term, conf, confIndex, trans)
	if err != nil {
		return nil, err
	}
	if err := fsperm.Restrict(p.dir); err != nil {
		_ = sink.Cancel()
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	return sink, nil
}
