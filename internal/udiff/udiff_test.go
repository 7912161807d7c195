package udiff

import "testing"

func TestFile(t *testing.T) {
	got := File("/f", []byte("a\nb\nc\n"), []byte("a\nB\nc\nd"), false)
	want := "--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n\\ No newline at end of file\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if File("/f", []byte("x\n"), []byte("x\n"), false) != "" {
		t.Error("diff of equal files")
	}
}
