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
