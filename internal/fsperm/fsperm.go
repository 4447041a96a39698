// Package fsperm keeps a node's data directory private to its user: the
// Raft log and snapshots hold signing keys, and the data dir holds the
// admin token and gossip key. Files are 0600 and directories 0700.
//
// Libraries that write there (raft, raft-wal) create files 0644 and
// directories 0755; a process-wide umask would change every other file
// the process writes, so modes are fixed after creation instead, inside a
// directory that is already 0700 so nothing is readable meanwhile.
package fsperm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File and Dir are the modes of everything under a private directory.
const (
	File fs.FileMode = 0o600
	Dir  fs.FileMode = 0o700
)

// MkdirAll creates dir and its missing parents 0700 and makes dir itself
// 0700 if it already existed with a wider mode.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, Dir); err != nil {
		return err
	}
	return chmod(dir, Dir)
}

// Restrict makes every directory under root (root included) 0700 and
// every regular file 0600. Symbolic links are left alone and not
// followed.
func Restrict(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path != root {
				return nil // removed meanwhile (a reaped snapshot)
			}
			return err
		}
		switch {
		case d.IsDir():
			return chmod(path, Dir)
		case d.Type().IsRegular():
			return chmod(path, File)
		}
		return nil
	})
}

// chmod sets mode on path unless it has it already; a file removed
// meanwhile is not an error.
func chmod(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("fsperm: %w", err)
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("fsperm: %w", err)
	}
	return nil
}
