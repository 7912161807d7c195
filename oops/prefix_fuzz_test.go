package oops

import (
	"bytes"
	"testing"
)

// FuzzPrefixLearning feeds the prefix learner, the shape matcher and the
// wrap width reader hostile lines: they must not panic, and a learned
// shape must match the line it was learned from.
func FuzzPrefixLearning(f *testing.F) {
	loadTables() // the header formats, which the fallbacks consult
	for _, s := range []string{
		"déc. 04 03:12:44 host kernel: [ 12.345678] Call Trace:",
		"> [Fri Dec  4 03:12:44 2026] RIP: 0010:foo+0x1/0x2",
		"<4>1 2026-12-04T03:12:44.123Z host kernel - - - CPU: 0 PID: 1 Comm: x Not tainted 6.1.0 #1",
		"   12  [   1.000000] RAX: 0000000000000000 RBX: 0",
		" kernel:[ 1.0] ---[ end trace 0 ]---",
		"[<ffffffff81000000>] foo+0x1/0x2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := normalize(b, nil)
		a := anchorAt(v.text)
		if shape, ok := learnPrefix(v.text, a); ok {
			if _, ok := shape.match(v.text); !ok {
				t.Fatalf("shape %+v learned from %q does not match it", shape, v.text)
			}
			applyShape(shape, v)
		}
		shapeOf(b).match(b)
		stampedPrefix([]heldLine{{text: v.text}, {text: b}})
		commonPrefix([]heldLine{{text: v.text, kernel: true}, {text: b, kernel: true}, {text: v.text, kernel: true}})
		soleStampedPrefix(v.text)
		soleTaggedPrefix(v.text)
		stampedLine(b)
		wrapWidth(append(bytes.Clone(b), '\n'))
		stripHTMLTags(b)
		isModuleContinuation(string(b))
	})
}
