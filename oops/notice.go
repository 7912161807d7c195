package oops

import "strings"

// Notices: kernel warnings that are not crashes in syzkaller's sense (its
// rules have no title for them, and hold a page allocation failure's stack
// for information only) but that abrt counts as reports: a page allocation
// failure, and the machine check summary. They are reports of their own,
// listed after the document's crashes so that a crash they precede keeps
// its place as the first report. The title templates are ours.

// noticeFormats is built by noticeTable on first use.
var noticeFormats []*format

func noticeTable() []*format {
	return []*format{
		// "kworker/0:1: page allocation failure: order:4, mode:0x40d0(...)",
		// "swapper/0: page allocation failure: order:0, mode:0x20" (2.6).
		{token: "page allocation failure", re: re(`: page allocation failure: order:\s*\d+, mode:\s*0x[0-9a-f]+`),
			title: "page allocation failure in {FUNC}", typ: "WARNING", mode: gmTrace,
			skip: re(`^warn_alloc|^__warn_alloc|^__alloc_pages|^alloc_pages|^__alloc|^_alloc|^alloc_page|^kmalloc|^__kmalloc|^kmem_cache_alloc|^kmalloc_order|^kmalloc_large|^__get_free_pages|^get_page_from_freelist|^new_slab|^allocate_slab|^___slab_alloc|^__slab_alloc|^cache_grow|^cache_alloc|^fallback_alloc|^____cache_alloc|^__do_kmalloc|^__vmalloc|^vmalloc|^vzalloc|^kvmalloc|^__kvmalloc|^dump_stack|^show_stack|^__dump_stack|^slab_alloc|^folio_alloc|^__folio_alloc|^kmalloc_reserve|^__alloc_skb|^alloc_skb|^__netdev_alloc|^netdev_alloc|^__napi_alloc|^napi_alloc|^page_frag_alloc|^__page_frag`)},
		// "mce: [Hardware Error]: Machine check events logged": the
		// record itself is in the mcelog, not in the kernel log.
		{token: "Machine check events logged", re: re(`Machine check events logged`),
			title: "Machine check events logged", typ: "HARDWARE", mode: gmNone, flags: fNoStack},
	}
}

// detectNotice is detect for the notices.
func detectNotice(t string) *format {
	if !strings.Contains(t, "page allocation failure") && !strings.Contains(t, "Machine check events logged") {
		return nil
	}
	for _, f := range noticeFormats {
		if f.re.MatchString(t) {
			return f
		}
	}
	return nil
}

// isNotice tells a notice's format.
func isNotice(f *format) bool {
	for _, n := range noticeFormats {
		if n == f {
			return true
		}
	}
	return false
}
