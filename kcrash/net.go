package kcrash

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ktriage/ktriage/kview"
)

// NetResult is `net`: the network devices with their IPv4 addresses.
type NetResult struct {
	Devices []NetDevice `json:"devices"`
	Note    string      `json:"note,omitempty"`
}

// NetDevice is one device.
type NetDevice struct {
	Addr  Addr     `json:"net_device"`
	Name  string   `json:"name"`
	Index int      `json:"ifindex"`
	Addrs []string `json:"addrs"`
}

// WriteText implements Result.
func (r *NetResult) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("   NET_DEVICE     NAME   IP ADDRESS(ES)\n")
	for _, d := range r.Devices {
		fmt.Fprintf(&b, "%016x  %-6s %s\n", uint64(d.Addr), d.Name, strings.Join(d.Addrs, ", "))
	}
	if r.Note != "" {
		b.WriteString(r.Note + "\n")
	}
	_, err := io.WriteString(w, trimLines(b.String()))
	return err
}

func runNet(s *Session, c *Call) (Result, error) {
	if c.Has("-s") {
		if len(c.Args) == 0 {
			cur, err := s.panicTask()
			if err != nil {
				return nil, fmt.Errorf("-s without a PID: %w", err)
			}
			return s.sockets([]*kview.Task{cur})
		}
		var tasks []*kview.Task
		for _, a := range c.Args {
			t, err := s.task(a)
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, t)
		}
		return s.sockets(tasks)
	}
	if len(c.Args) > 0 {
		return nil, fmt.Errorf("%q: net takes a PID only with -s", c.Args[0])
	}
	devs, err := s.v.NetDevices()
	if err != nil && len(devs) == 0 {
		return nil, err
	}
	r := &NetResult{}
	for _, d := range devs {
		nd := NetDevice{Addr: Addr(d.Addr), Name: d.Name, Index: d.Index, Addrs: []string{}}
		for _, a := range d.IPv4 {
			nd.Addrs = append(nd.Addrs, a.String())
		}
		r.Devices = append(r.Devices, nd)
	}
	if err != nil {
		r.Note = fmt.Sprintf("(the device list is cut short: %v)", err)
	}
	return r, nil
}

// panicTask is the task active on the panic CPU: the one the log's
// "CPU: N PID: M" names, else the first active task.

// SocketsResult is `net -s`: each task's sockets.
type SocketsResult struct {
	Tasks []TaskSockets `json:"tasks"`
}

// TaskSockets is one task's socket listing.
type TaskSockets struct {
	Task    TaskRef  `json:"task"`
	Sockets []Socket `json:"sockets"`
	Error   string   `json:"error,omitempty"`
	header  string
}

// Socket is one socket file descriptor.
type Socket struct {
	FD     int    `json:"fd"`
	Socket Addr   `json:"socket"`
	Sock   Addr   `json:"sock"`
	Family string `json:"family"`
	Type   string `json:"type"`
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
}

var families = map[int]string{1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET", 40: "VSOCK"}
var sockTypes = map[int]string{1: "STREAM", 2: "DGRAM", 3: "RAW", 4: "RDM", 5: "SEQPACKET", 6: "DCCP", 10: "PACKET"}

func name(m map[int]string, n int) string {
	if s, ok := m[n]; ok {
		return s
	}
	return strconv.Itoa(n)
}

// WriteText implements Result: per task, crash's header and columns.
func (r *SocketsResult) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, t := range r.Tasks {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t.header + "\n")
		if t.Error != "" {
			b.WriteString(t.Error + "\n")
			continue
		}
		if len(t.Sockets) == 0 {
			b.WriteString("No open sockets.\n")
			continue
		}
		b.WriteString("FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT\n")
		for _, sk := range t.Sockets {
			fmt.Fprintf(&b, "%2d %016x %016x %s:%-6s %s %s\n", sk.FD, uint64(sk.Socket), uint64(sk.Sock), sk.Family, sk.Type, sk.Local, sk.Remote)
		}
	}
	_, err := io.WriteString(w, trimLines(b.String()))
	return err
}

func (s *Session) sockets(tasks []*kview.Task) (*SocketsResult, error) {
	r := &SocketsResult{}
	for _, t := range tasks {
		ts := TaskSockets{Task: taskRef(t), header: taskHeader(t), Sockets: []Socket{}}
		fds, err := s.v.Files(t.Addr)
		if err != nil {
			ts.Error = fmt.Sprintf("files of PID %d: %v", t.PID, err)
		}
		for _, fd := range fds {
			if fd.Sock == 0 {
				continue
			}
			sk := Socket{FD: fd.Num, Socket: Addr(fd.Socket), Sock: Addr(fd.Sock)}
			if info, err := s.v.SockInfo(fd.Sock); err == nil {
				sk.Family, sk.Type = name(families, info.Family), name(sockTypes, info.Type)
				if info.Family == 2 && info.Local.IsValid() {
					sk.Local = fmt.Sprintf("%s-%d", info.Local.Addr(), info.Local.Port())
					sk.Remote = fmt.Sprintf("%s-%d", info.Remote.Addr(), info.Remote.Port())
				}
			} else {
				sk.Family, sk.Type = "?", "?"
			}
			ts.Sockets = append(ts.Sockets, sk)
		}
		r.Tasks = append(r.Tasks, ts)
	}
	return r, nil
}

// FilesResult is `files PID`: each task's open files.
type FilesResult struct {
	Tasks []TaskFiles `json:"tasks"`
}

// TaskFiles is one task's descriptors.
type TaskFiles struct {
	Task TaskRef `json:"task"`
	// Root and Cwd are the task's root and working directory.
	Root   string `json:"root,omitempty"`
	Cwd    string `json:"cwd,omitempty"`
	Files  []File `json:"files"`
	Error  string `json:"error,omitempty"`
	header string
}

// File is one descriptor. Path is the file's full path, walked up its
// dentries and mounts as d_path does.
type File struct {
	FD     int    `json:"fd"`
	File   Addr   `json:"file"`
	Dentry Addr   `json:"dentry"`
	Inode  Addr   `json:"inode"`
	Type   string `json:"type"`
	Path   string `json:"path"`
}

// WriteText implements Result.
func (r *FilesResult) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, t := range r.Tasks {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t.header + "\n")
		if t.Root != "" || t.Cwd != "" {
			fmt.Fprintf(&b, "ROOT: %s    CWD: %s\n", t.Root, t.Cwd)
		}
		if t.Error != "" {
			b.WriteString(t.Error + "\n")
			continue
		}
		if len(t.Files) == 0 {
			b.WriteString("No open files\n")
			continue
		}
		b.WriteString(" FD       FILE            DENTRY           INODE       TYPE PATH\n")
		for _, f := range t.Files {
			fmt.Fprintf(&b, "%3d %016x %016x %016x %-4s %s\n", f.FD, uint64(f.File), uint64(f.Dentry), uint64(f.Inode), f.Type, f.Path)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (s *Session) files(tasks []*kview.Task) *FilesResult {
	r := &FilesResult{}
	for _, t := range tasks {
		tf := TaskFiles{Task: taskRef(t), header: taskHeader(t), Files: []File{}}
		tf.Root, tf.Cwd = s.rootCwd(t.Addr)
		fds, err := s.v.Files(t.Addr)
		if err != nil {
			tf.Error = fmt.Sprintf("files of PID %d: %v", t.PID, err)
		}
		for _, fd := range fds {
			path := s.filePath(fd.File, fd.Type, fd.Inode)
			if path == "" {
				path = fd.Path // the last component, when the walk fails
			}
			tf.Files = append(tf.Files, File{FD: fd.Num, File: Addr(fd.File), Dentry: Addr(fd.Dentry), Inode: Addr(fd.Inode), Type: fd.Type, Path: path})
		}
		r.Tasks = append(r.Tasks, tf)
	}
	return r
}

func runFiles(s *Session, c *Call) (Result, error) {
	var tasks []*kview.Task
	if len(c.Args) == 0 {
		t, err := s.panicTask()
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	for _, a := range c.Args {
		t, err := s.task(a)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	return s.files(tasks), nil
}

// maxForeachTasks bounds the tasks one foreach lists.
const maxForeachTasks = 1 << 16

func runForeach(s *Session, c *Call) (Result, error) {
	tasks, err := s.v.Tasks()
	if len(tasks) == 0 {
		if err == nil {
			err = fmt.Errorf("no tasks")
		}
		return nil, err
	}
	// crash runs foreach over every task but the idle ones' duplicates;
	// the idle tasks share init's (empty) files.
	var sel []*kview.Task
	for _, t := range tasks {
		if t.PID == 0 {
			continue
		}
		if len(sel) >= maxForeachTasks {
			break
		}
		sel = append(sel, t)
	}
	kw := c.Args[0]
	for f := range c.Flags {
		ok := f == "-s" && (kw == "net" || kw == "files")
		if cmd := s.table.Lookup(kw); cmd != nil && foreachable[kw] && cmd.hasFlag(f) {
			ok = true
		}
		if !ok {
			return nil, &ParseError{Command: "foreach", Word: f, Reason: fmt.Sprintf("not a flag of foreach %s", kw)}
		}
	}
	switch kw {
	case "net":
		return s.sockets(sel)
	case "files":
		return s.files(sel), nil
	default:
		// A registered command that takes a task (bt, once the unwinder
		// registers it) runs once per task.
		cmd := s.table.Lookup(kw)
		if cmd == nil || !foreachable[kw] {
			if why, ok := planned[kw]; ok {
				return nil, fmt.Errorf("%q: %s", kw, why)
			}
			return nil, fmt.Errorf("%q: foreach runs net, files or bt", kw)
		}
		r := &ForeachResult{}
		for _, t := range sel {
			call := &Call{Name: cmd.Name, Typed: kw, Flags: c.Flags, Args: []string{strconv.Itoa(t.PID)}}
			res, err := s.Run(call)
			it := ForeachItem{Task: taskRef(t), Result: res, header: taskHeader(t)}
			if err != nil {
				it.Error = err.Error()
			}
			r.Tasks = append(r.Tasks, it)
		}
		return r, nil
	}
}

// foreachable are the commands foreach may run per task besides net and
// files: they take a PID as their argument.
var foreachable = map[string]bool{"bt": true}

// ForeachResult is foreach of a task command: each task's answer.
type ForeachResult struct {
	Tasks []ForeachItem `json:"tasks"`
}

// ForeachItem is one task's answer.
type ForeachItem struct {
	Task   TaskRef `json:"task"`
	Result Result  `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
	header string
}

// WriteText implements Result.
func (r *ForeachResult) WriteText(w io.Writer) error {
	for i, it := range r.Tasks {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if it.Result != nil {
			if err := it.Result.WriteText(w); err != nil {
				return err
			}
		} else if _, err := io.WriteString(w, it.header+"\n"); err != nil {
			return err
		}
		if it.Error != "" {
			if _, err := io.WriteString(w, it.Error+"\n"); err != nil {
				return err
			}
		}
	}
	return nil
}

// trimLines drops trailing blanks from each line (a device without an
// address, a socket without endpoints).
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
