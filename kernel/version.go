package kernel

// kernelVersion parses the leading a.b.c of a release string; missing parts
// are zero. It packs them like the kernel's KERNEL_VERSION macro (with room
// for c > 255) so versions compare as integers.
func kernelVersion(release string) int {
	var parts [3]int
	i := 0
	for p := 0; p < 3; p++ {
		n, start := 0, i
		for i < len(release) && release[i] >= '0' && release[i] <= '9' && i-start < 6 {
			n = n*10 + int(release[i]-'0')
			i++
		}
		if i == start {
			break
		}
		parts[p] = n
		if i >= len(release) || release[i] != '.' {
			break
		}
		i++
	}
	return kver(parts[0], parts[1], parts[2])
}

func kver(a, b, c int) int { return a<<32 | b<<16 | min(c, 0xffff) }
