package kernel

// AddrType is Addr with the symbol's nm type letter ('T' a global text
// symbol, 't' a static one, 'D', 'd', 'B', 'R', ...), as crash(8)'s sym
// prints it in parentheses.
func (s *Symbols) AddrType(addr uint64) (name string, off uint64, typ byte, ok bool) {
	name, off, ok = s.Addr(addr)
	if !ok {
		return "", 0, 0, false
	}
	return name, off, s.typeAt(addr - off), true
}

// LookupType is Lookup with the symbol's nm type letter.
func (s *Symbols) LookupType(name string) (addr uint64, typ byte, ok bool) {
	addr, ok = s.Lookup(name)
	if !ok {
		return 0, 0, false
	}
	// Of aliases at one address, prefer the one of that name.
	for i := s.first(addr); i < len(s.syms) && s.syms[i].addr == addr; i++ {
		if s.name(i) == name {
			return addr, s.syms[i].typ, true
		}
	}
	return addr, s.typeAt(addr), true
}

// first returns the index of the first symbol at addr.
func (s *Symbols) first(addr uint64) int {
	lo, hi := 0, len(s.syms)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.syms[m].addr < addr {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// typeAt is the type of the first symbol at addr, '?' when none is.
func (s *Symbols) typeAt(addr uint64) byte {
	if i := s.first(addr); i < len(s.syms) && s.syms[i].addr == addr {
		return s.syms[i].typ
	}
	return '?'
}
