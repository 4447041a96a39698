package bench

import (
	"errors"
	"os"
	"runtime"
	"runtime/pprof"
)

// start begins the CPU profile and returns the function that ends it and
// writes the allocation profile. The allocation profile counts every
// allocation since the process started; compare alloc_space between runs
// of the same length.
func (p FanoutProfile) start() (stop func() error, err error) {
	var cpu *os.File
	if p.CPU != "" {
		if cpu, err = os.Create(p.CPU); err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			_ = cpu.Close()
			return nil, err
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
			cpu = nil
		}
		if p.Alloc != "" {
			runtime.GC() // the profile reflects the last completed GC
			f, err := os.Create(p.Alloc)
			if err != nil {
				return err
			}
			errs = append(errs, pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
		}
		return errors.Join(errs...)
	}, nil
}
