//! How the process gives memory back. glibc serves a large allocation with its own mapping and
//! unmaps it when freed, but after the first such free it raises that threshold to the size
//! freed (up to 32 MiB), so later argon2 working memories (19 MiB each) come from the heap
//! arenas of the hashing threads and stay resident after a burst. A fixed threshold keeps
//! every allocation of 1 MiB or more a mapping of its own, returned to the system when freed.

/// Called once by `tapd serve` before it starts serving.
pub fn give_large_allocations_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt only sets a parameter of glibc's allocator, under its own lock.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
        }
    }
}

/// Puts the calling thread below the others in the scheduler (nice 10), for CPU-bound work that
/// must not delay requests: password hashing. Linux keeps a nice value per thread.
pub fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        const PRIO_PROCESS: std::ffi::c_int = 0;
        unsafe extern "C" {
            fn setpriority(
                which: std::ffi::c_int,
                who: u32,
                prio: std::ffi::c_int,
            ) -> std::ffi::c_int;
        }
        // SAFETY: setpriority only changes the scheduling priority of the thread `who = 0`
        // names, the caller; a failure leaves it as it was.
        unsafe {
            setpriority(PRIO_PROCESS, 0, 10);
        }
    }
}
