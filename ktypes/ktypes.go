// Package ktypes gives the C types of a crashed Linux kernel by name, from
// the BTF the kernel carries in its own memory (CONFIG_DEBUG_INFO_BTF, 5.2
// and later) or from the DWARF of a debug vmlinux the user has. Both
// sources yield github.com/cilium/ebpf/btf types, so that the code which
// lays values over memory knows one type model whatever the source.
//
// It knows nothing of memory or dumps: callers hand it BTF bytes (read
// between __start_BTF and __stop_BTF) or a vmlinux path.
package ktypes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Types resolves kernel C types and global variables by name.
type Types interface {
	// Type returns the type called name: "sk_buff", "struct sk_buff",
	// "union bpf_attr", "enum pid_type", a typedef ("atomic_t") or a base
	// type ("unsigned int"). A bare name prefers a struct, then a union,
	// a typedef, an enum and a base type.
	Type(name string) (btf.Type, error)
	// Var returns the type of the global variable name. Per-cpu variables
	// give the type of one CPU's copy.
	Var(name string) (btf.Type, error)
	// Source says where the types come from, for messages and the
	// capability line ("BTF in the dump (4.0 MB)").
	Source() string
}

// NotFoundError says a type or variable is not known to a source.
type NotFoundError struct {
	// Kind is "type" or "variable".
	Kind   string
	Name   string
	Source string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found in %s", e.Kind, e.Name, e.Source)
}

// ErrNotFound is what a NotFoundError matches with errors.Is.
var ErrNotFound = errors.New("not found")

// Is makes errors.Is(err, ErrNotFound) true for every NotFoundError.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// splitKind separates "struct sk_buff" into ("struct", "sk_buff").
func splitKind(name string) (kind, bare string) {
	name = strings.TrimSpace(name)
	for _, k := range []string{"struct ", "union ", "enum "} {
		if rest, ok := strings.CutPrefix(name, k); ok {
			return strings.TrimSpace(k), strings.TrimSpace(rest)
		}
	}
	return "", name
}

// kindMatches reports whether t is of the C kind named ("" matches any
// named type; Var, Func and Datasec never match: they are not types one
// lays over memory).
func kindMatches(t btf.Type, kind string) bool {
	switch t.(type) {
	case *btf.Struct:
		return kind == "" || kind == "struct"
	case *btf.Union:
		return kind == "" || kind == "union"
	case *btf.Enum:
		return kind == "" || kind == "enum"
	case *btf.Typedef, *btf.Int, *btf.Float:
		return kind == ""
	}
	return false
}

// rank orders candidates for a bare name: a struct before its typedef of
// the same name, so "page" is struct page, as crash(8) reads it.
func rank(t btf.Type) int {
	switch t.(type) {
	case *btf.Struct:
		return 0
	case *btf.Union:
		return 1
	case *btf.Typedef:
		return 2
	case *btf.Enum:
		return 3
	}
	return 4
}

// pick chooses among the types a source holds under one name. A complete
// definition wins over a forward declaration (btf.Fwd never matches) and,
// among several definitions, the largest, since split module BTF and
// DWARF's per-unit copies may repeat a type.
func pick(cands []btf.Type, kind string) btf.Type {
	var best btf.Type
	for _, c := range cands {
		if !kindMatches(c, kind) {
			continue
		}
		if best == nil || rank(c) < rank(best) {
			best = c
		}
	}
	return best
}
