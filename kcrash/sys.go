package kcrash

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// SysResult is `sys`: the system and the panic a dump shows.
type SysResult struct {
	Kernel   string `json:"kernel"`
	Dumpfile string `json:"dumpfile,omitempty"`
	Partial  bool   `json:"partial_dump,omitempty"`
	CPUs     int    `json:"cpus"`
	// Date is VMCOREINFO's CRASHTIME (or the container's timestamp).
	Date time.Time `json:"date,omitzero"`
	// UptimeSeconds is the time of the log's last record: crash computes
	// it from jiffies and HZ, which the dump does not say.
	UptimeSeconds float64    `json:"uptime_seconds,omitempty"`
	LoadAverage   [3]float64 `json:"load_average"`
	loadOK        bool
	Tasks         int    `json:"tasks"`
	Nodename      string `json:"nodename"`
	Release       string `json:"release"`
	Version       string `json:"version"`
	Machine       string `json:"machine"`
	MHz           int    `json:"mhz,omitempty"`
	MemoryBytes   uint64 `json:"memory_bytes,omitempty"`
	Panic         string `json:"panic"`
	// PanicNote is crash's " (check log for details)" after an oops line.
	PanicNote string `json:"panic_note,omitempty"`
}

// WriteText implements Result: crash's key column.
func (r *SysResult) WriteText(w io.Writer) error {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%12s: %s\n", k, v) }
	kv("KERNEL", r.Kernel)
	if r.Dumpfile != "" {
		d := r.Dumpfile
		if r.Partial {
			d += "  [PARTIAL DUMP]"
		}
		kv("DUMPFILE", d)
	}
	kv("CPUS", strconv.Itoa(r.CPUs))
	if !r.Date.IsZero() {
		kv("DATE", r.Date.UTC().Format("Mon Jan _2 15:04:05 MST 2006"))
	}
	if r.UptimeSeconds > 0 {
		kv("UPTIME", uptime(r.UptimeSeconds))
	}
	if r.loadOK {
		kv("LOAD AVERAGE", fmt.Sprintf("%.2f, %.2f, %.2f", r.LoadAverage[0], r.LoadAverage[1], r.LoadAverage[2]))
	}
	kv("TASKS", strconv.Itoa(r.Tasks))
	kv("NODENAME", r.Nodename)
	kv("RELEASE", r.Release)
	kv("VERSION", r.Version)
	m := r.Machine
	if r.MHz > 0 {
		m += fmt.Sprintf("  (%d Mhz)", r.MHz)
	}
	kv("MACHINE", m)
	if r.MemoryBytes > 0 {
		kv("MEMORY", memSize(r.MemoryBytes))
	}
	kv("PANIC", `"`+r.Panic+`"`+r.PanicNote)
	_, err := io.WriteString(w, b.String())
	return err
}

// uptime formats seconds as crash does: "00:00:02", "265 days, 18:15:40".
func uptime(sec float64) string {
	s := int64(sec)
	d, h, m := s/86400, s%86400/3600, s%3600/60
	hms := fmt.Sprintf("%02d:%02d:%02d", h, m, s%60)
	if d > 0 {
		return fmt.Sprintf("%d days, %s", d, hms)
	}
	return hms
}

// memSize formats bytes as crash does: "511.5 MB", "63.9 GB".
func memSize(n uint64) string {
	switch {
	case n >= 1<<40:
		return fmt.Sprintf("%.1f TB", float64(n)/(1<<40))
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// logText returns the kernel log as `ktriage dmesg` prints it, read once.
func (s *Session) logText() ([]byte, error) {
	s.logOnce.Do(func() {
		var b bytes.Buffer
		s.logErr = s.v.Kernel().Dmesg(&b)
		s.log = b.Bytes()
	})
	return s.log, s.logErr
}

// panicPasses is crash's rule for the PANIC line (its get_panicmsg
// searches the log in passes, the first pass with a hit wins, the first
// hit of a pass): oopses that are their own message, then sysrq crashes,
// then BUG()s, then panic()'s own message; an oops of another kind is
// named by its first line with "(check log for details)".
var panicPasses = []struct {
	needles []string
	suffix  string
}{
	{needles: []string{"general protection fault: ", "double fault: ", "divide error: ", "stack segment: "}},
	{needles: []string{"SysRq : Netdump", "SysRq : Crash", "SysRq : Trigger a crash"}},
	{needles: []string{"Kernel BUG at", "kernel BUG at"}},
	{needles: []string{"Kernel panic - not syncing:", "Kernel panic: "}},
	{needles: []string{"BUG: unable to handle", "Unable to handle kernel", "Oops: "}, suffix: " (check log for details)"},
}

// PanicMessage finds the panic message in log text (one record a line,
// with or without printk timestamps), and the note crash puts after it
// for an oops that is not the message itself.
func PanicMessage(log []byte) (msg, note string) {
	for _, p := range panicPasses {
		sc := bufio.NewScanner(bytes.NewReader(log))
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		for sc.Scan() {
			line := stripTimestamp(sc.Text())
			for _, n := range p.needles {
				if strings.Contains(line, n) {
					return strings.TrimSpace(line), p.suffix
				}
			}
		}
	}
	return "", ""
}

// stripTimestamp removes printk's "[    2.782112] " prefix.
func stripTimestamp(l string) string {
	if strings.HasPrefix(l, "[") {
		if j := strings.IndexByte(l, ']'); j > 0 {
			if _, err := strconv.ParseFloat(strings.TrimSpace(l[1:j]), 64); err == nil {
				return strings.TrimPrefix(l[j+1:], " ")
			}
		}
	}
	return l
}

// lastTimestamp is the printk time of the log's last record, in seconds.
func lastTimestamp(log []byte) float64 {
	var last float64
	for len(log) > 0 {
		nl := bytes.IndexByte(log, '\n')
		line := log
		if nl >= 0 {
			line, log = log[:nl], log[nl+1:]
		} else {
			log = nil
		}
		if len(line) > 2 && line[0] == '[' {
			if j := bytes.IndexByte(line, ']'); j > 0 {
				if t, err := strconv.ParseFloat(strings.TrimSpace(string(line[1:j])), 64); err == nil {
					last = t
				}
			}
		}
	}
	return last
}

func runSys(s *Session, c *Call) (Result, error) {
	k := s.v.Kernel()
	r := &SysResult{Kernel: "(none: symbols and types from the dump itself)", Dumpfile: s.file, Release: k.Release(), CPUs: s.v.NumCPUs()}
	if ts, err := s.v.Types(); err == nil && !strings.Contains(ts.Source(), "in the dump") {
		r.Kernel = ts.Source()
	}
	if s.info != nil {
		r.Partial = s.info.DumpLevel > 0
		r.Date = s.info.CrashTime
		if r.CPUs <= 1 && s.info.CPUs > 0 {
			r.CPUs = s.info.CPUs
		}
	}
	if r.Date.IsZero() {
		if ct, ok := k.VMCOREINFO()["CRASHTIME"]; ok {
			if n, err := strconv.ParseInt(ct, 10, 64); err == nil {
				r.Date = time.Unix(n, 0).UTC()
			}
		}
	}
	log, logErr := s.logText()
	r.UptimeSeconds = lastTimestamp(log)
	r.Panic, r.PanicNote = PanicMessage(log)
	if a, _, err := s.v.Lookup("avenrun"); err == nil {
		r.loadOK = true
		for i := range r.LoadAverage {
			x, err := s.v.U64(a + uint64(i)*8)
			if err != nil {
				r.loadOK = false
				break
			}
			// FSHIFT 11: fixed point with 11 fractional bits.
			r.LoadAverage[i] = float64(x>>11) + float64((x&2047)*100>>11)/100
		}
	}
	if tasks, err := s.v.Tasks(); err == nil || len(tasks) > 0 {
		r.Tasks = len(tasks)
	}
	if a, _, err := s.v.Lookup("init_uts_ns"); err == nil {
		for _, f := range []struct {
			path string
			dst  *string
		}{{"name.nodename", &r.Nodename}, {"name.version", &r.Version}, {"name.machine", &r.Machine}} {
			if off, err := s.v.Offset("uts_namespace", f.path); err == nil {
				var b [65]byte
				if s.v.Read(b[:], a+off) == nil {
					*f.dst = cstr(b[:])
				}
			}
		}
	}
	if a, _, err := s.v.Lookup("cpu_khz"); err == nil {
		if khz, err := s.v.U32(a); err == nil {
			r.MHz = int(khz / 1000)
		}
	}
	r.MemoryBytes = s.memory()
	if logErr != nil && r.Panic == "" {
		return r, fmt.Errorf("PANIC unknown: the kernel log: %w", logErr)
	}
	return r, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// memory is the RAM present, summed over the NUMA nodes'
// node_present_pages as crash's MEMORY is, else totalram_pages.
func (s *Session) memory() uint64 {
	s.memOnce.Do(func() {
		const page = 4096
		if a, _, err := s.v.Lookup("node_data"); err == nil {
			var total uint64
			for i := uint64(0); i < 64; i++ {
				p, err := s.v.U64(a + i*8)
				if err != nil {
					break
				}
				if p == 0 {
					continue
				}
				if n, err := s.v.Uint(p, "pglist_data", "node_present_pages"); err == nil && n < 1<<40 {
					total += n
				}
			}
			if total > 0 {
				s.memBytes = total * page
				return
			}
		}
		if a, _, err := s.v.Lookup("_totalram_pages"); err == nil {
			if n, err := s.v.U64(a); err == nil && n < 1<<40 {
				s.memBytes = n * page
			}
		}
	})
	return s.memBytes
}
