package ktypes

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// wellKnown types the global variables that crash(8)-style commands and
// the triage need, since kernel BTF records variables only for per-cpu
// data (pahole's default) and a DWARF vmlinux lacks no variable but is
// often not at hand. Declarations as in the kernel sources (init/
// init_task.c, kernel/sched/core.c, arch/x86/kernel/setup_percpu.c,
// kernel/panic.c, kernel/module/main.c, net/core/net_namespace.c,
// kernel/sched/loadavg.c, kernel/time/timer.c, mm/slab_common.c). "[]"
// is an array whose length the kernel sizes at build time (NR_CPUS). Base
// types are spelt as BTF and DWARF name them ("long unsigned int", not
// "unsigned long"): the lookup is by that name.
var wellKnown = map[string]string{
	"init_task":          "struct task_struct",
	"runqueues":          "struct rq",
	"__per_cpu_offset":   "long unsigned int []",
	"panic_cpu":          "atomic_t",
	"modules":            "struct list_head",
	"init_net":           "struct net",
	"net_namespace_list": "struct list_head",
	"init_uts_ns":        "struct uts_namespace",
	"init_pid_ns":        "struct pid_namespace",
	"current_task":       "struct task_struct *",
	"pcpu_hot":           "struct pcpu_hot",
	"hardirq_stack_ptr":  "void *",
	"jiffies":            "long unsigned int",
	"jiffies_64":         "u64",
	"nr_cpu_ids":         "unsigned int",
	"__cpu_online_mask":  "struct cpumask",
	"__cpu_present_mask": "struct cpumask",
	"avenrun":            "long unsigned int [3]",
	"slab_caches":        "struct list_head",
	"totalram_pages":     "atomic_long_t",
	"crashing_cpu":       "int",
	"linux_banner":       "char []",
	"saved_command_line": "char *",
}

// WellKnownVars returns the names of the globals typed without the
// kernel's help, for documentation and tests.
func WellKnownVars() []string {
	names := make([]string, 0, len(wellKnown))
	for n := range wellKnown {
		names = append(names, n)
	}
	return names
}

// wellKnownVar types a global from the table, resolving the named type in
// ts.
func wellKnownVar(ts Types, name, src string) (btf.Type, error) {
	decl, ok := wellKnown[name]
	if !ok {
		return nil, &NotFoundError{Kind: "variable", Name: name, Source: src + " (kernel BTF types no global but per-cpu variables; this one is not among the well-known globals)"}
	}
	t, err := ParseDecl(ts, decl)
	if err != nil {
		return nil, fmt.Errorf("variable %q: %w", name, err)
	}
	return t, nil
}

// ParseDecl resolves a declaration without its identifier, as C writes
// them in casts: "struct task_struct", "struct sock *", "unsigned long [3]",
// "char []" (an array of unknown length has Nelems 0).
func ParseDecl(ts Types, decl string) (btf.Type, error) {
	s := strings.TrimSpace(decl)
	var arrays []uint32
	for strings.HasSuffix(s, "]") {
		open := strings.LastIndexByte(s, '[')
		if open < 0 {
			return nil, fmt.Errorf("ktypes: %q: unbalanced ]", decl)
		}
		n := uint32(0)
		if inner := strings.TrimSpace(s[open+1 : len(s)-1]); inner != "" {
			v, err := strconv.ParseUint(inner, 0, 32)
			if err != nil {
				return nil, fmt.Errorf("ktypes: %q: array length %q: %w", decl, inner, err)
			}
			n = uint32(v)
		}
		arrays = append(arrays, n)
		s = strings.TrimSpace(s[:open])
	}
	ptrs := 0
	for strings.HasSuffix(s, "*") {
		ptrs++
		s = strings.TrimSpace(strings.TrimSuffix(s, "*"))
	}
	var t btf.Type
	if s == "void" {
		if ptrs == 0 {
			return nil, fmt.Errorf("ktypes: %q: void is not a type of a value", decl)
		}
		t = &btf.Void{}
	} else {
		var err error
		if t, err = ts.Type(s); err != nil {
			return nil, err
		}
	}
	for range ptrs {
		t = &btf.Pointer{Target: t}
	}
	// C reads int a[2][3] as an array of 2 arrays of 3: the last bracket
	// is the innermost.
	for i := 0; i < len(arrays); i++ {
		t = &btf.Array{Index: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}, Type: t, Nelems: arrays[i]}
	}
	return t, nil
}
