package netconf

import (
	"fmt"
	"strings"
)

// maxIfaceName is the kernel's IFNAMSIZ (16) less its NUL.
const maxIfaceName = 15

// CheckIfaceName says why name is not one the kernel accepts for an
// interface (dev_valid_name: 1 to 15 bytes, no '/', no blank or control
// character, not "." or ".."), or returns nil. Every name remedy takes from
// a file or a flag passes here, because a name becomes a file name (a new
// .link file), a line of a file ([Match] OriginalName=) and a word of a
// command the operator copies: "../x", a newline or "$(...)" would write
// into another directory, inject a section or run a command. ':' is let
// through, as initscripts' alias files (ifcfg-eth0:1) use it.
func CheckIfaceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty interface name")
	case len(name) > maxIfaceName:
		return fmt.Errorf("interface name %q is %d bytes, longer than the kernel's %d", name, len(name), maxIfaceName)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q is not one the kernel accepts", name)
	case strings.Contains(name, "/"):
		return fmt.Errorf("interface name %q contains '/'", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("interface name %q contains a blank or control character", name)
		}
	}
	return nil
}

// checkName is CheckIfaceName as a parse error at the file and line.
func checkName(path string, line int, what, name string) error {
	if err := CheckIfaceName(name); err != nil {
		return &ParseError{File: path, Line: line, Msg: what, Err: err}
	}
	return nil
}
