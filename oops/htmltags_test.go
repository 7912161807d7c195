package oops

import "testing"

// TestStripHTMLTagsAddress checks that a line starting with a 2.6.9
// x86_64 frame "<ffffffff8018a1b2>{vfs_getattr+59}" keeps it, while the
// tags a page wraps a paste in are still dropped.
func TestStripHTMLTagsAddress(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"<ffffffff8018a1b2>{vfs_getattr+59} <ffffffff8018b2c3>{vfs_lstat+44}", "<ffffffff8018a1b2>{vfs_getattr+59} <ffffffff8018b2c3>{vfs_lstat+44}"},
		{"<deadbeef>{f+1}", "<deadbeef>{f+1}"},
		{"<pre>BUG: x", "BUG: x"},
		{"<h1>Oops</h1>", "Oops</h1>"},
		{"<details><summary>dmesg", "dmesg"},
	} {
		if got := string(stripHTMLTags([]byte(c.in))); got != c.want {
			t.Errorf("stripHTMLTags(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
