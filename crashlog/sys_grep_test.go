package crashlog

import "testing"

// TestSysGrep: after a `sys` prompt one key line is a block; without the
// prompt a lone "RELEASE:" line in prose is not.
func TestSysGrep(t *testing.T) {
	feed := func(lines ...string) *Session {
		s := NewScanner()
		for i, l := range lines {
			s.Line(i+1, l)
		}
		return s.Finish()
	}
	s := feed("crash> sys | grep RELEASE", "     RELEASE: 2.6.32-71.el6.i686", "crash> ")
	if s.Sys == nil || s.Sys.Release != "2.6.32-71.el6.i686" {
		t.Errorf("sys %+v", s.Sys)
	}
	s = feed("The fix shipped in", "RELEASE: 7.9", "of the product.")
	if s.Sys != nil {
		t.Errorf("prose taken as sys: %+v", s.Sys)
	}
}
