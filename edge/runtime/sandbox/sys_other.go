//go:build unix && !linux

package sandbox

import "syscall"

// RlimitNPROC is skipped off Linux (a negative resource is not set).
const RlimitNPROC = -1

// setNoNewPrivs is Linux-only; elsewhere the sandbox has the rest.
func setNoNewPrivs() error { return nil }

func setgid(g int) error { return syscall.Setregid(g, g) }
func setuid(u int) error { return syscall.Setreuid(u, u) }
