package dump

// pageCache is an LRU of decompressed pages keyed by page frame number,
// bounded in pages. Its buffers are recycled, so a long scan allocates
// nothing once the cache is full. Not safe for concurrent use: the owner
// holds its lock.
type pageCache struct {
	max   int
	idx   map[uint64]*cacheEntry
	head  cacheEntry // sentinel: head.next is the most recent
	size  int
	spare *cacheEntry
}

type cacheEntry struct {
	pfn        uint64
	buf        []byte
	prev, next *cacheEntry
}

func newPageCache(maxPages int) *pageCache {
	if maxPages < 4 {
		maxPages = 4
	}
	c := &pageCache{max: maxPages, idx: make(map[uint64]*cacheEntry)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

func (c *pageCache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *pageCache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

// get returns the cached page, marking it recently used, or nil.
func (c *pageCache) get(pfn uint64) []byte {
	e := c.idx[pfn]
	if e == nil {
		return nil
	}
	c.unlink(e)
	c.pushFront(e)
	return e.buf
}

// put makes room for pfn and returns its buffer (pageSize bytes, content
// undefined) for the caller to fill; drop it if filling fails.
func (c *pageCache) put(pfn uint64, pageSize int) []byte {
	if e := c.idx[pfn]; e != nil {
		return e.buf
	}
	var e *cacheEntry
	if c.size >= c.max {
		e = c.head.prev
		c.unlink(e)
		delete(c.idx, e.pfn)
		c.size--
	} else if c.spare != nil {
		e, c.spare = c.spare, nil
	} else {
		e = &cacheEntry{buf: make([]byte, pageSize)}
	}
	e.pfn = pfn
	c.idx[pfn] = e
	c.pushFront(e)
	c.size++
	return e.buf
}

func (c *pageCache) drop(pfn uint64) {
	e := c.idx[pfn]
	if e == nil {
		return
	}
	c.unlink(e)
	delete(c.idx, pfn)
	c.size--
	c.spare = e
}
