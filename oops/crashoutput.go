package oops

import (
	"strings"
	"sync"
)

// This file is the one recogniser of crash(8) output: the crash utility's
// prompt and the keys of its `sys` block, and the lines that show a
// document holds crash output at all. crashlog parses crash output with it,
// triage decides with it where a session starts, and the oops scanner
// decides with it where a pasted kernel log ended. The three used to carry
// three sets of rules that disagreed at the edges.

// crashProgram is the name crash(8) prints its prompt with: "crash> ". A
// renamed or cross-built binary prints its own name ("crash64> ",
// "crash_arm64> "): the name may go on with promptNameChars up to
// maxPromptName bytes.
const (
	crashProgram    = "crash"
	promptNameChars = "abcdefghijklmnopqrstuvwxyz0123456789_"
	maxPromptName   = 12
)

// CrashPrompt recognises a crash(8) prompt line, "crash> bt -f" or
// "crash64> sys", and returns the command typed at it with the spaces
// around it trimmed ("" at a bare prompt). A pipe stays in the command
// ("struct sk_buff ffff…|grep len"): what follows was filtered. t must
// start at the prompt (indentation trimmed); trailing space is allowed.
func CrashPrompt(t string) (cmd string, ok bool) {
	if !strings.HasPrefix(t, crashProgram) {
		return "", false
	}
	i := strings.IndexByte(t, '>')
	if i < 0 || i > maxPromptName {
		return "", false
	}
	for j := len(crashProgram); j < i; j++ {
		if strings.IndexByte(promptNameChars, t[j]) < 0 {
			return "", false
		}
	}
	if i+1 < len(t) && !isSpaceByte(t[i+1]) {
		return "", false
	}
	return strings.TrimSpace(t[i+1:]), true
}

// CrashSysKey is a key of crash(8)'s `sys` block ("RELEASE", "LOAD
// AVERAGE"); SysNone, the zero value, is not a key.
type CrashSysKey uint8

// The keys crash prints in a `sys` block, in its order.
const (
	SysNone CrashSysKey = iota
	SysKernel
	SysDumpfile
	SysCPUs
	SysDate
	SysUptime
	SysLoadAverage
	SysTasks
	SysNodename
	SysRelease
	SysVersion
	SysMachine
	SysMemory
	SysPanic
	SysPID
	SysCommand
	SysTask
	SysCPU
	SysState
	SysDebugKernel
	SysDebuginfo
	numSysKeys
)

// sysRole is what a key says about the block it is in.
type sysRole uint8

const (
	// The zero role is SysNone's: neither of the roles asked about.
	_ sysRole = iota
	// roleSystem keys name the system and the dump; the kernel never
	// prints them, so one ends a pasted kernel log.
	roleSystem
	// rolePanic is PANIC: the kernel prints "PANIC: double fault" itself.
	rolePanic
	// roleTask keys name the task in context; `set` prints them too, and
	// the kernel prints "CPU: 3 PID: 1 Comm: …" task lines.
	roleTask
	// roleAside keys appear inside the block in some set-ups and say
	// nothing about it.
	roleAside
)

// sysValue is what a key's value must look like for the line to be crash's.
type sysValue uint8

const (
	anyValue sysValue = iota
	// decValue starts with a decimal number ("24 [OFFLINE: 1]"): it tells
	// "CPUS: 24" from prose such as "CPU: 100% busy".
	decValue
	// hexValue starts with a hex address field.
	hexValue
)

// aloneRule says when one line of a key shows, by itself, that a document
// holds crash output: the key and its value are never in a kernel log.
type aloneRule uint8

const (
	notAlone aloneRule = iota
	aloneAny
	// aloneQuoted: only with the quoted value crash prints (`PANIC:
	// "Oops: 0002 [#1] SMP "`), never the kernel's "PANIC: double fault".
	aloneQuoted
)

// crashSysKeys describes each key: its name as printed, its role, what its
// value must look like, and whether one line of it alone shows crash output.
var crashSysKeys = [numSysKeys]struct {
	name  string
	role  sysRole
	value sysValue
	alone aloneRule
}{
	SysKernel:      {"KERNEL", roleSystem, anyValue, aloneAny},
	SysDumpfile:    {"DUMPFILE", roleSystem, anyValue, aloneAny},
	SysCPUs:        {"CPUS", roleSystem, decValue, aloneAny},
	SysDate:        {"DATE", roleSystem, anyValue, notAlone},
	SysUptime:      {"UPTIME", roleSystem, anyValue, notAlone},
	SysLoadAverage: {"LOAD AVERAGE", roleSystem, anyValue, notAlone},
	SysTasks:       {"TASKS", roleSystem, decValue, notAlone},
	SysNodename:    {"NODENAME", roleSystem, anyValue, notAlone},
	SysRelease:     {"RELEASE", roleSystem, anyValue, aloneAny},
	SysVersion:     {"VERSION", roleSystem, anyValue, notAlone},
	SysMachine:     {"MACHINE", roleSystem, anyValue, notAlone},
	SysMemory:      {"MEMORY", roleSystem, anyValue, notAlone},
	SysPanic:       {"PANIC", rolePanic, anyValue, aloneQuoted},
	SysPID:         {"PID", roleTask, decValue, notAlone},
	SysCommand:     {"COMMAND", roleTask, anyValue, notAlone},
	SysTask:        {"TASK", roleTask, hexValue, notAlone},
	SysCPU:         {"CPU", roleTask, decValue, notAlone},
	SysState:       {"STATE", roleTask, anyValue, notAlone},
	SysDebugKernel: {"DEBUG KERNEL", roleAside, anyValue, notAlone},
	SysDebuginfo:   {"DEBUGINFO", roleAside, anyValue, notAlone},
}

// sysKeyByName indexes crashSysKeys by name; maxSysKeyLen is the longest.
var sysKeyByName, maxSysKeyLen = func() (map[string]CrashSysKey, int) {
	m := make(map[string]CrashSysKey, numSysKeys)
	longest := 0
	for k := SysKernel; k < numSysKeys; k++ {
		m[crashSysKeys[k].name] = k
		longest = max(longest, len(crashSysKeys[k].name))
	}
	return m, longest
}()

// String returns the key as crash prints it ("LOAD AVERAGE").
func (k CrashSysKey) String() string {
	if k == SysNone || k >= numSysKeys {
		return "none"
	}
	return crashSysKeys[k].name
}

// NamesSystem says whether the key names the system or the dump (KERNEL …
// MEMORY): not PANIC, not the task context keys PID, COMMAND, TASK, CPU and
// STATE that `set` prints too, not the DEBUG KERNEL and DEBUGINFO asides.
func (k CrashSysKey) NamesSystem() bool {
	return k < numSysKeys && crashSysKeys[k].role == roleSystem
}

// Aside says whether the key is one crash prints inside the block in some
// set-ups (DEBUG KERNEL, DEBUGINFO), which neither makes a block nor ends
// one.
func (k CrashSysKey) Aside() bool {
	return k < numSysKeys && crashSysKeys[k].role == roleAside
}

// ParseCrashSys recognises a line of a `sys` block, "RELEASE:
// 2.6.32-504.23.4.el6.x86_64", and returns its key and its value with the
// spaces around it trimmed; SysNone when the line is not one. A value that
// cannot be what crash prints for the key ("CPU: 100% busy") makes the line
// not one. t must start at the key (indentation trimmed).
func ParseCrashSys(t string) (CrashSysKey, string) {
	if len(t) < 4 || t[0] < 'A' || t[0] > 'Z' {
		return SysNone, ""
	}
	i := strings.IndexByte(t[:min(len(t), maxSysKeyLen+1)], ':')
	if i < 3 {
		return SysNone, ""
	}
	k, ok := sysKeyByName[t[:i]]
	if !ok {
		return SysNone, ""
	}
	v := strings.TrimSpace(t[i+1:])
	switch crashSysKeys[k].value {
	case decValue:
		j := 0
		for j < len(v) && '0' <= v[j] && v[j] <= '9' {
			j++
		}
		if j == 0 || j > 9 || j < len(v) && !isSpaceByte(v[j]) {
			return SysNone, ""
		}
	case hexValue:
		j := 0
		for j < len(v) && isHex(v[j]) {
			j++
		}
		if j == 0 || j > 16 || j < len(v) && !isSpaceByte(v[j]) {
			return SysNone, ""
		}
	}
	return k, v
}

// endsKernelOutput tells a line after which a pasted kernel log cannot go
// on: a crash(8) prompt, or a `sys` key naming the system.
func endsKernelOutput(t string) bool {
	if _, ok := CrashPrompt(t); ok {
		return true
	}
	k, _ := ParseCrashSys(t)
	return k.NamesSystem()
}

// StartsCrashOutput tells a line that only crash(8) prints, so that a
// document holding one holds crash output: a prompt, a task header, a bt
// frame or exception frame, a `sys` key the kernel never prints (see
// crashSysKeys), the first line of a struct or union dump. t must start at
// the line's text (indentation trimmed); trailing space is allowed.
func StartsCrashOutput(t string) bool {
	if t == "" {
		return false
	}
	switch t[0] {
	case 'c':
		_, ok := CrashPrompt(t)
		return ok
	case 'P':
		// "PID: 0  TASK: ffff…  CPU: 0  COMMAND: …": the kernel's task
		// lines never name a TASK.
		if strings.HasPrefix(t, "PID: ") {
			return strings.Contains(t, "TASK: ")
		}
	case '#':
		// a bt frame "#7 [ffff880061a03538] skb_checksum_help at ..."
		i := 1
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		return i > 1 && strings.HasPrefix(t[i:], " [") && strings.Contains(t, " at ")
	case '[':
		return strings.HasPrefix(t, "[exception RIP:")
	case 's', 'u':
		// "struct sk_buff {", "union ... {"
		return (strings.HasPrefix(t, "struct ") || strings.HasPrefix(t, "union ")) && strings.HasSuffix(strings.TrimRight(t, " \r"), "{")
	}
	k, v := ParseCrashSys(t)
	switch crashSysKeys[k].alone {
	case aloneAny:
		return true
	case aloneQuoted:
		return strings.HasPrefix(v, `"`)
	}
	return false
}

// crashOutputStarts are the fixed starts of every line StartsCrashOutput
// accepts (each rule of its switch begins with one of them), and of every
// prompt: MayStartCrashOutput compares them on a borrowed line before
// anything copies it. The sys keys that start output alone join them from
// crashSysKeys, so the table stays the one owner of those.
var crashOutputStarts = sync.OnceValue(func() *[256][]string {
	prefixes := []string{crashProgram, "PID: ", "#", "[exception RIP:", "struct ", "union "}
	for k := SysKernel; k < numSysKeys; k++ {
		if crashSysKeys[k].alone != notAlone {
			prefixes = append(prefixes, crashSysKeys[k].name+":")
		}
	}
	// Indexed by first byte: a console line's first byte ('[' of its
	// timestamp, mostly) picks the one or two prefixes worth comparing.
	var byFirst [256][]string
	for _, p := range prefixes {
		byFirst[p[0]] = append(byFirst[p[0]], p)
	}
	return &byFirst
})

// MayStartCrashOutput is StartsCrashOutput's and CrashPrompt's cheap first
// test, on a line lent as bytes (a console log is mostly lines that are
// neither, and copying each to a string to ask cost 8% of a scan): false
// means the line is neither a prompt nor the start of crash output; true
// means ask them.
func MayStartCrashOutput(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	for _, p := range crashOutputStarts()[line[0]] {
		if len(line) >= len(p) && string(line[:len(p)]) == p {
			return true
		}
	}
	return false
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}
