package kcrash

import (
	"fmt"
	"strings"
)

// maxPathDepth bounds a path walk: components and mount crossings.
const maxPathDepth = 256

// dPath is the kernel's d_path of (vfsmount, dentry): the names up the
// dentry parents, crossing each mount to its mountpoint in the parent
// mount, up to the root mount. A pseudo filesystem's dentry (socket,
// pipe, anon inode) gives its own name with the inode number, as
// /proc/PID/fd shows it. ok is false when the walk could not be read.
func (s *Session) dPath(mnt, dentry uint64) (string, bool) {
	mntOff, err := s.v.Offset("mount", "mnt")
	if err != nil {
		return "", false
	}
	var parts []string
	for i := 0; ; i++ {
		if i == maxPathDepth {
			// A d_parent or mount cycle (a corrupt dentry) never
			// reaches the root: no path rather than a made-up one.
			return "", false
		}
		root, err := s.v.Uint(mnt, "vfsmount", "mnt_root")
		if err != nil {
			return "", false
		}
		if dentry == root {
			mount := mnt - mntOff
			parent, err := s.v.Uint(mount, "mount", "mnt_parent")
			if err != nil {
				return "", false
			}
			if parent == mount || parent == 0 {
				break
			}
			if dentry, err = s.v.Uint(mount, "mount", "mnt_mountpoint"); err != nil {
				return "", false
			}
			mnt = parent + mntOff
			continue
		}
		up, err := s.v.Uint(dentry, "dentry", "d_parent")
		if err != nil {
			return "", false
		}
		name := s.dentryName(dentry)
		if up == dentry || up == 0 {
			// A dentry that is its own parent but not a mount's root:
			// an unmounted pseudo filesystem's (pipefs, sockfs, anon).
			return name, name != ""
		}
		parts = append(parts, name)
		dentry = up
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return "/" + strings.Join(parts, "/"), true
}

func (s *Session) dentryName(d uint64) string {
	p, err := s.v.Uint(d, "dentry", "d_name.name")
	if err != nil || p == 0 {
		return ""
	}
	name, err := s.v.String(p)
	if err != nil {
		return ""
	}
	return name
}

// filePath is the path of an open file, "" when unreadable. Sockets and
// pipes are "socket:[INODE]" and "pipe:[INODE]", as /proc/PID/fd links.
func (s *Session) filePath(file uint64, typ string, inode uint64) string {
	switch typ {
	case "SOCK", "FIFO":
		if ino, err := s.v.Uint(inode, "inode", "i_ino"); err == nil {
			if typ == "SOCK" {
				return fmt.Sprintf("socket:[%d]", ino)
			}
			if p, ok := s.pathOf(file, "file", "f_path"); ok && !strings.HasPrefix(p, "/") {
				return fmt.Sprintf("pipe:[%d]", ino)
			}
		}
	}
	p, _ := s.pathOf(file, "file", "f_path")
	return p
}

// pathOf resolves the struct path at member path of the typ object at
// addr (file.f_path, fs_struct.root, fs_struct.pwd).
func (s *Session) pathOf(addr uint64, typ, path string) (string, bool) {
	mnt, err1 := s.v.Uint(addr, typ, path+".mnt")
	dentry, err2 := s.v.Uint(addr, typ, path+".dentry")
	if err1 != nil || err2 != nil || mnt == 0 || dentry == 0 {
		return "", false
	}
	return s.dPath(mnt, dentry)
}

// rootCwd is a task's root and working directory (task->fs).
func (s *Session) rootCwd(task uint64) (root, cwd string) {
	fs, err := s.v.Uint(task, "task_struct", "fs")
	if err != nil || fs == 0 {
		return "", ""
	}
	root, _ = s.pathOf(fs, "fs_struct", "root")
	cwd, _ = s.pathOf(fs, "fs_struct", "pwd")
	return root, cwd
}
