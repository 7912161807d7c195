package oops

import (
	"regexp"
	"strings"
	"testing"
)

// TestNameMatcher: the split matcher agrees with the plain alternation on
// every frame name the corpus and fixtures use, and on tricky ones.
func TestNameMatcher(t *testing.T) {
	loadTables()
	genericRe := regexp.MustCompile(strings.Join(genericFrames, "|"))
	names := []string{"kmalloc", "kfree", "kfree_skb", "memcpy", "memcpy_erms", "strlen", "strncpy_from_user",
		"copy_from_user", "dev_err", "dev_err_probe", "tcp_sendmsg", "skb_put", "panic", "panic_print", "__schedule",
		"schedule", "mutex_lock_nested", "list_del", "__list_del_entry_valid", "ixgbe_poll", "x", ""}
	for _, n := range names {
		if got, want := genericNames.match(n), genericRe.MatchString(n); got != want {
			t.Errorf("%q: matcher %v, regexp %v", n, got, want)
		}
	}
}
