package kcrash

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func testTable(t *testing.T) *Table {
	t.Helper()
	var tb Table
	for _, c := range builtins() {
		if err := tb.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	return &tb
}

func TestSplitLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want [][]string
		err  string
	}{
		{"sys; ps", [][]string{{"sys"}, {"ps"}}, ""},
		{"  ;; rd -64  skbcsum_bad_skb 4 ;", [][]string{{"rd", "-64", "skbcsum_bad_skb", "4"}}, ""},
		{`sym 'a;b' "c d" e\ f`, [][]string{{"sym", "a;b", "c d", "e f"}}, ""},
		{`sym "a\"b"`, [][]string{{"sym", `a"b`}}, ""},
		{`sym ""`, [][]string{{"sym", ""}}, ""},
		{"ps # a comment; sys", [][]string{{"ps"}}, ""},
		{`sym 'open`, nil, "unterminated single quote"},
		{`rd "open`, nil, "unterminated double quote"},
	} {
		got, err := SplitLine(c.in)
		if c.err != "" {
			var pe *ParseError
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &pe) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q %v, want %q", c.in, got, err, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	tb := testTable(t)
	for _, c := range []struct {
		words     []string
		name      string
		flags     []string
		args      []string
		shorthand bool
		errCmd    string
		errWord   string
	}{
		{words: []string{"rd", "-32", "ffff", "8"}, name: "rd", flags: []string{"-32"}, args: []string{"ffff", "8"}},
		{words: []string{"px", "jiffies"}, name: "p", args: []string{"jiffies"}},
		{words: []string{"union", "bpf_attr", "ffff"}, name: "struct", args: []string{"bpf_attr", "ffff"}},
		{words: []string{"sk_buff", "ffff8afc013cd300"}, name: "struct", args: []string{"sk_buff", "ffff8afc013cd300"}, shorthand: true},
		{words: []string{"dis", "-lr", "ffff"}, name: "dis", flags: []string{"-l", "-r"}, args: []string{"ffff"}},
		{words: []string{"dis", "--", "-l"}, name: "dis", args: []string{"-l"}},
		{words: []string{"rd", "-q", "ffff"}, errCmd: "rd", errWord: "-q"},
		{words: []string{"dis", "-lq", "ffff"}, errCmd: "dis", errWord: "-lq"},
		{words: []string{"rd"}, errCmd: "rd", errWord: "rd"},
		{words: []string{"rd", "a", "b", "c"}, errCmd: "rd", errWord: "c"},
		{words: []string{"frobnicate"}, errCmd: "frobnicate", errWord: "frobnicate"},
		{words: []string{"0xffff", "1"}, errCmd: "0xffff", errWord: "0xffff"},
		{words: []string{"sys", "extra"}, errCmd: "sys", errWord: "extra"},
		{words: []string{"bt", "104", "105"}, errCmd: "bt", errWord: "105"},
	} {
		call, err := tb.Parse(c.words)
		if c.errCmd != "" {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Command != c.errCmd || pe.Word != c.errWord {
				t.Errorf("%q: error %v, want command %q word %q", c.words, err, c.errCmd, c.errWord)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.words, err)
			continue
		}
		if call.Name != c.name || !reflect.DeepEqual(sortedFlags(call.Flags), c.flags) && len(c.flags)+len(call.Flags) > 0 || !reflect.DeepEqual(call.Args, c.args) || call.Shorthand != c.shorthand {
			t.Errorf("%q: %+v", c.words, call)
		}
	}
}

// FuzzParse: any line splits and parses without a panic, within its
// bounds, and an error is a *ParseError naming a word of the line.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"sys; ps", `rd -64 "a;b" 4`, "sk_buff ffff 1", "dis -lr x", `'`, `"\`, "help rd; q", "struct -o sk_buff.len,data_len 0 2"} {
		f.Add(s)
	}
	var tb Table
	for _, c := range builtins() {
		_ = tb.Add(c)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmds, err := SplitLine(line)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: %T %v", line, err, err)
			}
			return
		}
		n := 0
		for _, w := range cmds {
			n += len(w)
			call, err := tb.Parse(w)
			if err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Command == "" {
					t.Fatalf("%q: %T %v", w, err, err)
				}
				continue
			}
			if tb.Lookup(call.Name) == nil {
				t.Fatalf("%q parsed to unknown command %q", w, call.Name)
			}
		}
		if n > MaxWords {
			t.Fatalf("%d words kept", n)
		}
	})
}

func TestGdbString(t *testing.T) {
	z := func(n int) []byte { return make([]byte, n) }
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{append([]byte("insmod"), z(10)...), `"insmod\000\000\000\000\000\000\000\000\000"`},
		{append([]byte{0xd2}, z(47)...), `"\322", '\000' <repeats 46 times>`},
		{z(16), `'\000' <repeats 15 times>`},
		{z(4), `"\000\000\000"`},
		{nil, `""`},
		{[]byte("abc"), `"abc"`},
		{[]byte("a\"b'\n\x7f"), `"a\"b'\n\177"`},
		{append(append([]byte("x"), bytes.Repeat([]byte("y"), 11)...), 'z', 0), `"x", 'y' <repeats 11 times>, "z"`},
		{bytes.Repeat([]byte("y"), 10), `"yyyyyyyyyy"`},
		{bytes.Repeat([]byte("ab"), 150), `"` + strings.Repeat("ab", 100) + `"...`},
	} {
		if got := gdbString(c.in); got != c.want {
			t.Errorf("%q: %s, want %s", c.in, got, c.want)
		}
	}
}
