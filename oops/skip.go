package oops

import (
	"slices"
	"sync"
)

// syzSkipFrames are the frames syzkaller never blames, whatever the report:
// sanitizer and reporting machinery, allocators, locking, string and copy
// helpers, list and tree helpers, printk, timers and workqueues, the driver
// core, USB core, completions, checksums, bitops and atomics, xarray, the
// arm64 fault path. They are linuxStackParams.skipPatterns of
// google/syzkaller pkg/report/linux.go at
// 1e72964b0111319984575e60f266d1fa0a98abb5: regular expressions matched
// anywhere in the function's name (clone suffixes stripped), as there.
var syzSkipFrames = []string{
	"__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint", "check_memory_region", "check_heap_object", "check_object",
	"read_word_at_a_time", "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op", "report_bug", "fixup_bug", "print_report",
	"print_usage_bug", "do_error", "invalid_op", `_trap$|do_trap`, "show_stack", "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath",
	"warn_alloc", "warn_bogus", "__warn", "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab", "__alloc_frozen_pages_noprof",
	"folio_(?:alloc|unlock)", "filemap_alloc_folio", "__filemap_get_folio", "find_or_create_page", "do_read_cache_folio", "read_cache_page",
	"pagecache_get_page", "grab_cache_page_write_begin", "slab_", "debug_object", "timer_is_static_object", "work_is_static_object", "__might_fault",
	"print_unlock", "imbalance_bug", "lockdep", "bh_enable", "bh_disable", "perf_trace", "lock_acquire", "lock_release", "lock_class", "mark_lock",
	"(reacquire|mark)_held_locks", "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock", "write_lock", "write_trylock",
	"read_unlock", "write_unlock", "^down$", "down_read", "down_write", "down_read_trylock", "down_write_trylock", "down_trylock", "up_read", "up_write",
	"^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
	"atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)", "(set|clear|change|test)_bit", "__wake_up", "^refcount_", "^kref_",
	"ref_tracker", "seqprop_assert", "memcpy", "memcmp", "memset", "memchr", "memmove", "memdup", "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy",
	"strscpy", "strlen", "strstr", "strnstr", "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
	"copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter", "^copyin$", "^copyout$", "put_user", "get_user", "might_fault",
	"might_sleep", "list_add", "list_del", "list_replace", "list_move", "list_splice", "^rb_", "^__rb_", "_indirect_thunk_", "string", "pointer",
	"snprintf", "scnprintf", "kasprintf", "kvasprintf", "printk", "va_format", "dev_info", "dev_notice", "dev_warn", "dev_err", "dev_alert", "dev_crit",
	"dev_emerg", "program_check_exception", "program_check_common", "del_timer", "flush_work", "__cancel_work_timer", "cancel_work_sync",
	"try_to_grab_pending", "flush_workqueue", "drain_workqueue", "destroy_workqueue", "queue_work", "finish_wait", "kthread_stop", "kobject_",
	"add_uevent_var", "get_device_parent", "device_add", "device_del", "device_unregister", "device_destroy", "device_release", "devres_release_all",
	"hwrng_unregister", "i2c_del_adapter", "__unregister_client", "device_for_each_child", "rollback_registered", "unregister_netdev", "sysfs_remove",
	"device_remove_file", "tty_unregister_device", "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg",
	"usb_hcd_submit_urb", "usb_submit_urb", "^complete$", "wait_for_completion", "^kv?free$", "kfree_skb", "readb$", "readw$", "readl$", "readq$",
	"writeb$", "writew$", "writel$", "writeq$", "logic_in", "logic_out", "^crc\\d+", "crc_itu_t", "__might_resched", "assertfail", "^iput$",
	"^iput_final$", "^ihold$", "hex_dump_to_buffer", "print_hex_dump", "^klist_", "(trace|lockdep)_(hard|soft)irq", "^(un)?lock_page",
	"stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save", "insert_work", "__queue_delayed_work", "queue_delayed_work_on", "ida_free",
	"do_(kernel|translation)_fault", "do_mem_abort", "el1_abort", "el1h_64_sync(?:_handler)?", "print_tainted", "xas_(?:start|load|find)",
	"find_lock_entries", "truncate_inode_pages_range", "__phys_addr", "__fortify_report", "cleanup_srcu_struct", "rhashtable_lookup",
	"extract_(user|iter)_to_sg", "drop_nlink", "^get_taint$", "^put_device$", "lock_timer_base", "__timer_delete_sync", "sk_stop_timer_sync",
	"__mod_timer", "fast_dput", "dput", "mark_buffer_dirty",
}

// genericFrames are the frames the guilty-function choice passes over in
// every report: syzkaller's list and ourSkipFrames (the entry code and
// dispatchers our old list named are passed over by where each format's
// stack starts, as syzkaller does).
var genericFrames = append(slices.Clip(syzSkipFrames), ourSkipFrames...)

// ourSkipFrames are stack-dump helpers syzkaller's list misses because its
// stack parts never read them: arm's unwinder, which prints a trace
// without a keyword that our fallback reads.
var ourSkipFrames = []string{"^unwind_backtrace$"}

// genericNames matches genericFrames with string checks and a small
// regexp; built by loadTables.
var genericNames *nameMatcher

// isGeneric reports whether fn (clone suffixes stripped) is a frame the
// guilty-function choice passes over.
func isGeneric(fn string) bool {
	return cachedMatch(nil, StripCloneSuffixes(fn), genericNames.match)
}

// matchFn is re.MatchString(fn), remembered: the matchers over function
// names see the same names in every report.
func matchFn(re matcher, fn string) bool {
	return cachedMatch(re, fn, re.MatchString)
}

// cachedMatch remembers match(fn) per matcher (re; nil for the generic
// frames), in a table bounded so that a log of random names cannot grow it
// without limit.
func cachedMatch(re matcher, fn string, match func(string) bool) bool {
	k := fnKey{re, fn}
	fnMu.Lock()
	v, ok := fnCache[k]
	fnMu.Unlock()
	if ok {
		return v
	}
	v = match(fn)
	fnMu.Lock()
	if fnCache == nil {
		fnCache = map[fnKey]bool{} // on first use, as the tables
	} else if len(fnCache) >= 1<<16 {
		clear(fnCache)
	}
	fnCache[k] = v
	fnMu.Unlock()
	return v
}

type fnKey struct {
	re matcher // a pointer: comparable, one per matcher
	fn string
}

var (
	fnMu    sync.Mutex
	fnCache map[fnKey]bool
)
