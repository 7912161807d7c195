package shellquote

import "testing"

func TestJoin(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"ethtool", "-K", "eth0", "tso", "off"}, "ethtool -K eth0 tso off"},
		{[]string{"nmcli", "connection", "up", "System eth0"}, "nmcli connection up 'System eth0'"},
		{[]string{"x", "", "a;b", "`id`", "it's", "$(reboot)"}, `x '' 'a;b' '` + "`id`" + `' 'it'\''s' '$(reboot)'`},
	} {
		if got := Join(c.in); got != c.want {
			t.Errorf("Join(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
