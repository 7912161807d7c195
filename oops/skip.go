package oops

import (
	"sync"
)

// genericFrames are functions that appear in traces because of how the
// kernel reports, allocates, locks or copies, not because they hold the bug:
// the guilty function is the first frame that is none of these. The list is
// ours, built from kernel knowledge and checked against the corpus.
var genericFrames = []string{
	// reporting machinery
	`^panic$`, `^__panic`, `^nmi_panic`, `^report_bug`, `^fixup_bug`, `^handle_bug`, `^do_error_trap`,
	`^do_invalid_op`, `^invalid_op`, `^exc_`, `^asm_exc_`, `^do_trap`, `^die$`, `^__die`, `^oops_`,
	`^show_stack`, `^show_regs`, `^__show_regs`, `^dump_stack`, `^__dump_stack`, `^dump_backtrace`, `^unwind_backtrace`,
	`^warn_slowpath`, `^__warn`, `^warn_`, `^WARN`, `^print_`, `^printk`, `^vprintk`, `^_printk`,
	`^__printk`, `^stack_trace_`, `^save_stack`, `^arch_stack_walk`, `^show_trace`, `^bug_handler`,
	`^brk_handler`, `^call_break_hook`, `^el1_`, `^el1h_`, `^do_mem_abort`, `^die_kernel_fault`,
	`^__do_kernel_fault`, `^do_page_fault`, `^__do_page_fault`, `^page_fault`, `^do_translation_fault`,
	`^do_bad_area`, `^no_context`, `^__bad_area`, `^bad_area`, `^do_user_addr_fault`,
	`^do_kern_addr_fault`, `^page_fault_oops`, `^kernelmode_fixup_or_oops`, `^spurious_kernel_fault`,
	`^fixup_exception`, `^ex_handler`, `^do_general_protection`, `^general_protection`,
	`^do_divide_error`, `^divide_error`, `^do_int3`, `^do_double_fault`, `^math_error`,
	`^handle_stack_overflow`, `^check_panic_on_warn`, `^program_check`, `^ubsan_`, `^__ubsan`, `^__sanitizer`, `^__asan`, `^asan_`, `^kasan`,
	`^__kasan`, `^check_memory_region`, `^memory_is_poisoned`, `^hwasan`, `^__hwasan`, `^__msan`,
	`^kmsan`, `^__kmsan`, `^kcsan`, `^__tsan`, `^kfence`, `^__kfence`, `^print_address_description`,
	`^describe_object`, `^end_report`, `^start_report`, `^should_fail`, `^__should_fail`,
	`^fail_dump`, `^fault_create`, `lockdep`, `^check_noncircular`, `^check_prev_add`,
	`^validate_chain`, `^__lock_acquire`, `^lock_acquire`, `^lock_release`, `^__lock_release`,
	`^mark_lock`, `^debug_lockdep`, `^do_raw_spin`, `^do_raw_read`, `^do_raw_write`,
	`^debug_object`, `^debug_check_no`, `^debug_print_object`, `^__debug_object`,
	`^skb_panic$`, `^skb_over_panic$`, `^skb_under_panic$`,
	// memory allocation and freeing
	`^kmalloc`, `^__kmalloc`, `^___kmalloc`, `^kzalloc`, `^kcalloc`, `^kvmalloc`, `^__kvmalloc`, `^kvzalloc`,
	`^kvcalloc`, `^krealloc`, `^__krealloc`, `^kmem_cache`, `^slab_`, `^__slab`, `^___slab`,
	`^kfree$`, `^kvfree`, `^__kfree`, `^kfree_sensitive`, `^kzfree`, `^vmalloc`, `^__vmalloc`,
	`^vzalloc`, `^vfree$`, `^__vfree`, `^alloc_pages`, `^__alloc_pages`, `^page_alloc`,
	`^kmemdup`, `^kstrdup`, `^kstrndup`, `^memdup_user`, `^alloc_slab_obj_exts`, `^__do_kmalloc`,
	`^kmalloc_trace`, `^kmalloc_node`, `^__kmalloc_node`, `^kmalloc_array`, `^cache_alloc`,
	`^___cache_free`, `^__cache_free`, `^cache_free`, `^do_slab_free`, `^free_debug_processing`,
	`^kmemleak`, `^__kmemleak`, `^create_object`, `^memcg_slab`, `^__memcg`, `^alloc_debug_processing`,
	`^new_slab`, `^allocate_slab`, `^setup_object`, `^__free_pages`, `^free_pages`, `^__free_one`,
	`^free_unref`, `^free_pcp`, `^__put_page`, `^put_page`, `^release_pages`, `^__page_cache_release`,
	`^__folio_put`, `^folio_put`, `^prep_new_page`, `^post_alloc_hook`, `^get_page_from_freelist`,
	// locking and scheduling
	`^_raw_`, `^__raw_`, `^raw_spin`, `^spin_`, `^__spin`, `^_spin`, `^read_lock`, `^write_lock`,
	`^read_unlock`, `^write_unlock`, `^mutex_`, `^__mutex`, `^__ww_mutex`, `^ww_mutex`, `^down$`,
	`^down_`, `^__down`, `^up_read`, `^up_write`, `^up$`, `^rwsem_`, `^__rwsem`, `^rt_mutex`,
	`^__rt_mutex`, `^percpu_down`, `^percpu_up`, `^__percpu_down`, `^rcu_read_lock`,
	`^rcu_read_unlock`, `^__rcu_read`, `^rcu_lock_`, `^__might_sleep`, `^___might_sleep`,
	`^__might_fault`, `^__might_resched`, `^might_fault`, `^might_sleep`, `^__cant_sleep`,
	`^preempt_`, `^__preempt`, `^preempt_schedule`, `^_cond_resched`, `^__cond_resched`,
	`^schedule$`, `^__schedule`, `^schedule_`, `^io_schedule`, `^context_switch`, `^__switch_to`,
	`^finish_task_switch`, `^sched_show_task`, `^wait_for_completion`, `^__wait_for_common`,
	`^wait_for_common`, `^do_wait_for_common`, `^bit_wait`, `^__wait_on_bit`, `^out_of_line_wait_on_bit`,
	`^wait_on_page_bit`, `^folio_wait_bit`, `^__folio_lock`, `^__lock_page`, `^lock_page`, `^local_bh`,
	`^__local_bh`, `^trace_hardirqs`, `^lockdep_hardirqs`, `^arch_local_irq`, `^queued_spin`,
	`^queued_read`, `^queued_write`, `^native_queued`, `^pv_queued`, `^__pv_queued`, `^atomic_`,
	`^arch_atomic`, `^refcount_`, `^__refcount`, `^kref_`, `^__kref`,
	// copies and string helpers
	`^mem(cpy|set|cmp|move|chr|scan|dup)`, `^__mem(cpy|set|move)`, `^str[a-z]*$`, `^__str[a-z]*$`,
	`^_copy_(to|from)_user`, `^copy_(to|from)_user`, `^__copy_(to|from)_user`, `^raw_copy_`,
	`^_?copy_(?:from|to)_iter`, `^copy_page_(?:from|to)_iter`, `^copyin$`, `^copyout$`, `^copy_user_`, `^simple_copy_to_iter`, `^rep_movs`, `^__check_object_size`, `^check_object_size`,
	`^csum_partial`, `^skb_copy_bits`, `^__sw_hweight`,
	// data structure helpers that report others' bugs
	`^list_add`, `^list_del`, `^__list_add`, `^__list_del`, `^list_replace`, `^__list_`, `^hlist_`,
	`^__hlist`, `^rb_insert`, `^rb_erase`, `^kobject_`, `^device_add`, `^device_del`,
	`^dev_printk`, `^_dev_(err|warn|info)`, `^__dev_printk`, `^dev_(err|warn|info)$`, `^dev_vprintk_emit`, `^__kobject`,
	`^queue_work`, `^__queue_work`, `^flush_work`, `^__flush_work`, `^usb_submit_urb`, `^kfree_skb`,
	`^__kfree_skb`, `^skb_release_all`, `^skb_release_head`, `^refcount_warn`, `^idr_`, `^xa_`, `^__xa_`,
	`^irq_work`, `^__irq_work`, `^on_each_cpu`,
	// helpers that warn about their caller's misuse
	`^iput$`, `^_atomic_dec_and_lock`, `^atomic_dec_and_lock`, `^lock_sock`, `^__lock_sock`, `^release_sock`,
	`^console_lock`, `^console_unlock`, `^perf_trace_`, `^raw_spin_rq`, `^print_usage_bug`, `^mark_held_locks`, `^check_irq_usage`, `^check_usage`, `^check_prevs_add`, `^print_lock`,
	`^destroy_workqueue`, `^insert_work`, `^__queue_delayed_work`, `^queue_delayed_work`, `^do_tag_check_fault`,
	`^vscnprintf`, `^vsnprintf`, `^snprintf`, `^scnprintf`, `^sprintf`, `^va_format`, `^hex_dump_to_buffer`,
	`^print_hex_dump`, `^crc16$`, `^crc32`, `^__crc32`, `^lock_timer_base`, `^__try_to_del_timer`, `^try_to_del_timer`,
	`^__timer_delete`, `^timer_delete`, `^del_timer`, `^sk_stop_timer`, `^rhashtable_`, `^__rhashtable`,
	`^device_remove_file`, `^device_destroy`, `^usb_kill_anchored_urbs`, `^rb_next`, `^rb_prev`, `^rb_first`,
	`^rb_last`, `^__rb_insert`, `^rb_insert_augmented`, `^__rb_erase`, `^klist_`, `^fortify_panic`, `^__fortify_panic`,
	`^assertfail`, `^__reiserfs_panic`, `^reiserfs_panic`, `^__phys_addr`, `^folio_unlock$`,
	`^kernel_fpu_begin`, `^msleep`, `^usleep_range`, `^ssleep$`, `^dput$`, `^fast_dput`, `^ida_`, `^__cancel_work`, `^cancel_work`, `^cancel_delayed_work`,
	`^sysfs_`, `^ref_tracker`, `^devres_`, `^device_release`, `^device_unregister`, `^put_device`,
	`^get_device`, `^add_uevent_var`, `^kobject_uevent`, `^rollback_registered`, `^unregister_netdevice`,
	`^unregister_netdev$`, `^mark_buffer_dirty`, `^__vunmap`, `^vunmap$`, `^free_large_kmalloc`,
	`^alloc_page_interleave`, `^__alloc_frozen_pages`, `^alloc_frozen_pages`, `^walk_stackframe`,
	// entry code and dispatch
	`^do_syscall`, `^entry_SYSCALL`, `^entry_SYSENTER`, `^entry_INT80`, `^ret_from_fork`,
	`^ret_from_intr`, `^syscall_exit`, `^invoke_syscall`, `^el0_`, `^do_el0`, `^el0t_`,
	`^__do_softirq`, `^do_softirq`, `^irq_exit`, `^__irq_exit`, `^common_interrupt`,
	`^asm_common_interrupt`, `^sysvec_`, `^asm_sysvec_`, `^smp_apic_timer_interrupt`,
	`^apic_timer_interrupt`, `^kthread$`, `^worker_thread`,
	`^smpboot_thread_fn`, `^run_ksoftirqd`, `^call_timer_fn`, `^expire_timers`, `^__hrtimer_run_queues`, `^hrtimer_interrupt`, `^tick_sched`, `^update_process_times`,
	`^__sysvec_`, `^instrument_`, `^check_preemption_disabled`, `^debug_smp_processor_id`,
	`^__this_cpu_preempt_check`, `^__x86_indirect_thunk`, `^__x86_return_thunk`, `^drain_workqueue`, `^do_one_initcall`, `^kernel_init`, `^rest_init`,
}

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
