package sandbox

import "syscall"

// RlimitNPROC is RLIMIT_NPROC, which package syscall does not name.
const RlimitNPROC = 6

const prSetNoNewPrivs = 38 // PR_SET_NO_NEW_PRIVS

// setNoNewPrivs keeps the command and its children from gaining
// privileges through exec (setuid binaries, file capabilities).
func setNoNewPrivs() error {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

func setgid(g int) error { return syscall.Setresgid(g, g, g) }
func setuid(u int) error { return syscall.Setresuid(u, u, u) }
