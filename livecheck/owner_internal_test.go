package livecheck

import (
	"fmt"
	"testing"

	"github.com/ktriage/ktriage/dump"
	"github.com/ktriage/ktriage/internal/vmcores"
	"github.com/ktriage/ktriage/kernel"
	"github.com/ktriage/ktriage/kobj"
	"github.com/ktriage/ktriage/kview"
	"github.com/ktriage/ktriage/owner"
)

// TestOwnerOfRealSocket follows a real socket of a generated dump (ping's
// raw socket) the way the chain follows a corrupt skb's sk: sk ->
// sk_socket -> file -> the descriptor table holding it. The task and fd
// found must be the ones whose table lists the sock.
func TestOwnerOfRealSocket(t *testing.T) {
	e := vmcores.Lookup(t, "kdump-proc-d31")
	d, err := dump.Open(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	info, err := d.RequireVMCOREINFO()
	if err != nil {
		t.Fatal(err)
	}
	k, err := kernel.New(d, info)
	if err != nil {
		t.Fatal(err)
	}
	v := kview.New(k)
	tasks, err := v.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	var task *kview.Task
	var sockFD kview.FD
	for _, tk := range tasks {
		fds, _ := v.Files(tk.Addr)
		for _, fd := range fds {
			if fd.Sock != 0 && task == nil {
				task, sockFD = tk, fd
			}
		}
	}
	if task == nil {
		t.Fatal("no task holds a socket")
	}
	// An sk_buff as memory would show it: sk is the sock, no dev.
	skb := &kobj.Object{Type: "sk_buff", Addr: 0xffff000000000000, Value: &kobj.Value{Kind: kobj.Struct, Fields: []kobj.Field{
		{Name: "sk", Value: &kobj.Value{Kind: kobj.Pointer, Num: sockFD.Sock}},
		{Name: "dev", Value: &kobj.Value{Kind: kobj.Pointer}},
	}}}
	m := ownerMemory(v, skb, skbSlab{cache: "skbuff_head_cache"}, map[string]uint64{"RDI": skb.Addr}, nil, &Result{})
	o := owner.FromMemory(m)
	t.Logf("%+v", m.Sock)
	for _, l := range o.Links {
		t.Logf("%s -> %s %s: %s", l.From, l.To, l.Proof, l.Why)
		if l.Proof != owner.Proven {
			t.Errorf("link %s -> %s is %s", l.From, l.To, l.Proof)
		}
	}
	if o.Socket == nil || *o.Socket != fmt.Sprintf("%x", sockFD.Sock) {
		t.Errorf("socket %v, want %x", o.Socket, sockFD.Sock)
	}
	if o.FD == nil || *o.FD != sockFD.Num || o.PID == nil || *o.PID != task.TGID || o.Comm == nil || *o.Comm != task.Comm {
		t.Errorf("fd %v pid %v comm %v, want fd %d of %d %s", o.FD, o.PID, o.Comm, sockFD.Num, task.TGID, task.Comm)
	}
	if m.Sock == nil || !m.Sock.SockCache || m.Sock.Socket != sockFD.Socket || m.Sock.File != sockFD.File {
		t.Errorf("sock %+v; the fd's socket %#x file %#x", m.Sock, sockFD.Socket, sockFD.File)
	}
	if o.Type == nil || *o.Type == "" {
		t.Errorf("no type")
	}
}
