package edge

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// cpuMeter turns /proc/stat's cumulative CPU times into a whole-node busy
// percentage between two reads. Only the load goroutine uses it.
type cpuMeter struct {
	file        string // "" means /proc/stat
	idle, total uint64
	primed      bool
}

// percent returns busy CPU since the previous call, 0..100, or -1 when it
// is unknown (first call, unreadable file, no elapsed ticks).
func (c *cpuMeter) percent() int {
	file := c.file
	if file == "" {
		file = "/proc/stat"
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return -1
	}
	idle, total, ok := parseProcStat(b)
	if !ok {
		return -1
	}
	prevIdle, prevTotal, primed := c.idle, c.total, c.primed
	c.idle, c.total, c.primed = idle, total, true
	if !primed || total <= prevTotal || idle < prevIdle {
		return -1
	}
	dt, di := total-prevTotal, idle-prevIdle
	return int(min(100, (100*(dt-min(di, dt))+dt/2)/dt))
}

// parseProcStat reads the aggregate "cpu" line: idle is idle+iowait, total
// the sum of all fields but guest time (already counted in user and nice).
func parseProcStat(b []byte) (idle, total uint64, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		for i, s := range f[1:] {
			if i >= 8 { // guest, guest_nice
				break
			}
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return 0, 0, false
			}
			total += v
			if i == 3 || i == 4 { // idle, iowait
				idle += v
			}
		}
		return idle, total, true
	}
	return 0, 0, false
}
