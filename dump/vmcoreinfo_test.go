package dump

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestParseVMCOREINFO holds the one rule against the text real dumps carry
// and against hostile text.
func TestParseVMCOREINFO(t *testing.T) {
	for _, c := range []struct {
		name string
		text string
		want VMCOREINFO // nil: the text is unusable
		// badLine is the first malformed line the error must name (0: no
		// error); errHas are further words the message must hold.
		badLine int
		errHas  []string
	}{
		// Real dumps.
		{name: "note with NUL padding",
			text: "OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff941f9b60\nOFFSET(uts_namespace.name)=0\nSIZE(page)=64\nNUMBER(phys_base)=-8388608\nLENGTH(mem_section)=2048\nKERNELOFFSET=11600000\nBUILD-ID=3b43fad5\nCONFIG_X86_PAE=y\nCRASHTIME=1795693901\x00\x00",
			want: VMCOREINFO{"OSRELEASE": "6.1.0", "PAGESIZE": "4096", "SYMBOL(init_uts_ns)": "ffffffff941f9b60",
				"OFFSET(uts_namespace.name)": "0", "SIZE(page)": "64", "NUMBER(phys_base)": "-8388608", "LENGTH(mem_section)": "2048",
				"KERNELOFFSET": "11600000", "BUILD-ID": "3b43fad5", "CONFIG_X86_PAE": "y", "CRASHTIME": "1795693901"}},
		{name: "CRLF, CRASHTIME without newline, duplicate, text after the NUL",
			text: "OSRELEASE=6.1.0-56-cloud-amd64\r\nSYMBOL(prb)=ffffffff86a622c0\nSIZE(page)=64\nSIZE(page)=72\nCRASHTIME=1795693826\x00\x00junk=1",
			want: VMCOREINFO{"OSRELEASE": "6.1.0-56-cloud-amd64", "SYMBOL(prb)": "ffffffff86a622c0", "SIZE(page)": "72", "CRASHTIME": "1795693826"}},
		{name: "empty lines",
			text: "\nOSRELEASE=6.1\n\n\r\nPAGESIZE=4096\n\n",
			want: VMCOREINFO{"OSRELEASE": "6.1", "PAGESIZE": "4096"}},
		{name: "empty value",
			text: "OSRELEASE=6.1\nBUILD-ID=\n",
			want: VMCOREINFO{"OSRELEASE": "6.1", "BUILD-ID": ""}},
		{name: "last line truncated by a full page",
			text: "OSRELEASE=6.1\nSYMBOL(prb)=ff\nNUMBER(KERNEL_IMA",
			want: VMCOREINFO{"OSRELEASE": "6.1", "SYMBOL(prb)": "ff"}, badLine: 3, errHas: []string{`"NUMBER(KERNEL_IMA"`, `no "="`}},

		// Hostile text.
		{name: "a line without =", text: "OSRELEASE=6.1\nnoise\nPAGESIZE=4096",
			want: VMCOREINFO{"OSRELEASE": "6.1", "PAGESIZE": "4096"}, badLine: 2, errHas: []string{`"noise"`}},
		{name: "three bad lines and more", text: "OSRELEASE=6.1\ngarbage line\nSYMBOL(x=1\n=y\nA B=1\nSYMBOL()=2\n",
			want: VMCOREINFO{"OSRELEASE": "6.1"}, badLine: 2, errHas: []string{"line 2", "line 3", "line 4", "bad key", "and 2 more"}},
		{name: "control character in a key", text: "OSRELEASE=6.1\nSYM\x01BOL=1\n",
			want: VMCOREINFO{"OSRELEASE": "6.1"}, badLine: 2},
		{name: "unbalanced parentheses", text: "OSRELEASE=6.1\nSYMBOL(a))=1\nA)=2\n",
			want: VMCOREINFO{"OSRELEASE": "6.1"}, badLine: 2, errHas: []string{"line 3"}},
		{name: "a long bad line is cut", text: "OSRELEASE=6.1\n" + strings.Repeat("x", 5000) + "\n",
			want: VMCOREINFO{"OSRELEASE": "6.1"}, badLine: 2, errHas: []string{strings.Repeat("x", 60) + "…"}},
		{name: "empty", text: ""},
		{name: "only newlines", text: "\n\n"},
		{name: "only NULs", text: "\x00OSRELEASE=6.1"},
		{name: "empty key only", text: "=x\n", badLine: 1},
		{name: "no = anywhere", text: "no equals", badLine: 1},
		{name: "larger than a few pages", text: strings.Repeat("A=1\n", 300000), errHas: []string{"more than"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseVMCOREINFO(c.text)
			if (got == nil) != (c.want == nil) || len(got) != len(c.want) {
				t.Fatalf("got %d keys %v, want %v (err %v)", len(got), got, c.want, err)
			}
			for k, v := range c.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
			if c.want != nil && c.badLine == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.want == nil && err == nil {
				t.Fatal("unusable text gave no error")
			}
			var le *VMCOREINFOError
			switch {
			case c.badLine != 0 && (!errors.As(err, &le) || le.Line != c.badLine):
				t.Errorf("error %v does not name line %d", err, c.badLine)
			case le != nil && len(le.Text) > maxLineQuote+len("…"):
				t.Errorf("error quotes %d bytes of the line", len(le.Text))
			}
			for _, w := range c.errHas {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
		})
	}
}

// TestVMCOREINFODecode checks each key kind's encoding.
func TestVMCOREINFODecode(t *testing.T) {
	vi, err := ParseVMCOREINFO("OSRELEASE=6.1.0\nSYMBOL(prb)=ffffffff86a622c0\nNUMBER(phys_base)=-467664896\nNUMBER(x)=0x10\n" +
		"NUMBER(big)=0xffffffffffffffff\nSIZE(page)=72\nOFFSET(a.b)=8\nLENGTH(c)=3\nKERNELOFFSET=25200000\nPAGESIZE=4096\nSYMBOL(bad)=zz\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  func() (any, bool)
		want any // nil: absent or undecodable
	}{
		{"SYMBOL(prb)", func() (any, bool) { return vi.Symbol("prb") }, uint64(0xffffffff86a622c0)},
		{"SYMBOL(bad)", func() (any, bool) { return vi.Symbol("bad") }, nil},
		{"SYMBOL(none)", func() (any, bool) { return vi.Symbol("none") }, nil},
		{"NUMBER(phys_base)", func() (any, bool) { return vi.Number("phys_base") }, int64(-467664896)},
		{"NUMBER(x)", func() (any, bool) { return vi.Number("x") }, int64(16)},
		{"NUMBER(big)", func() (any, bool) { return vi.Number("big") }, int64(-1)},
		{"SIZE(page)", func() (any, bool) { return vi.Size("page") }, int64(72)},
		{"OFFSET(a.b)", func() (any, bool) { return vi.Offset("a.b") }, int64(8)},
		{"LENGTH(c)", func() (any, bool) { return vi.Length("c") }, int64(3)},
		{"KERNELOFFSET", func() (any, bool) { return vi.KernelOffset() }, uint64(0x25200000)},
		{"PAGESIZE", func() (any, bool) { return vi.PageSize() }, int64(4096)},
	} {
		v, ok := c.got()
		if ok != (c.want != nil) || (ok && v != c.want) {
			t.Errorf("%s = %v %v, want %v", c.name, v, ok, c.want)
		}
	}
}

// TestHostileVMCOREINFO: a kdump's VMCOREINFO range that is huge, NUL
// filled, one enormous line or thousands of bad lines opens (or is refused)
// with the file named, holding no more than the file's size.
func TestHostileVMCOREINFO(t *testing.T) {
	many := strings.Repeat("this is not a key value line\n", 5000) + "OSRELEASE=6.1\n"
	cases := []struct {
		name    string
		vi      []byte
		patch   func(b []byte)
		wantErr string // a FormatError naming the file and this
		warn    string // else a warning containing this
		release string
	}{
		{"claims 1 GiB", []byte(testVMCOREINFO), func(b []byte) { binary.LittleEndian.PutUint64(b[4096+40:], 1<<30) }, "extends past the end of the file", "", ""},
		{"NUL filled", make([]byte, 64<<10), nil, "", "", "6.1.0-test"},
		{"one 10 MB line", append([]byte("OSRELEASE="), bytes.Repeat([]byte("x"), 10<<20)...), nil, "", "more than", "6.1.0-test"},
		{"thousands of bad lines", []byte(many), nil, "", "and 4997 more malformed lines", "6.1.0-test"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := &kdumpFile{blockSize: 4096, maxPFN: 64, pfns: testPFNs, page: testPage, encode: encZlib, status: flagZlib,
				notes: noteBlob(testNotes()[:2]), vmcoreinfo: c.vi, level: 31, release: "6.1.0-test", machine: "x86_64", cpus: 2}
			b := k.bytes()
			if c.patch != nil {
				c.patch(b)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d, err := OpenReaderAt(bytes.NewReader(b), int64(len(b)), "hostile.kdump")
			if d != nil {
				defer d.Close()
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if c.wantErr != "" {
				var fe *FormatError
				if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "hostile.kdump: offset ") || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want a FormatError naming the file, an offset and %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := int64(after.HeapAlloc) - int64(before.HeapAlloc); n > 2*maxVMCOREINFO+int64(len(b)) {
				t.Errorf("holds %d bytes after opening a %d-byte file", n, len(b))
			}
			w := strings.Join(d.Info().Warnings, "\n")
			if c.warn != "" && (!strings.Contains(w, c.warn) || !strings.Contains(w, "hostile.kdump")) {
				t.Errorf("warnings %q lack the file and %q", w, c.warn)
			}
			if d.Info().Release != c.release {
				t.Errorf("release %q", d.Info().Release)
			}
		})
	}
}
