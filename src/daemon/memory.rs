//! Memory after start-up: what start-up alone touched is given back, the
//! rest is locked.
//!
//! Start-up (command line, configuration parsing, logging set-up) runs code
//! and reads data that the daemon never needs again, several MiB of our
//! program file mapped in 64 KiB blocks by the kernel's fault-around; and
//! the allocator keeps pages that start-up freed. Once everything runs,
//! [`settle`] unmaps the program's read-only pages (the kernel maps back,
//! from the page cache, those that are used again), returns the
//! allocator's free pages, then locks the process's memory. The daemon
//! settles when it has started, again when the first state changes are
//! done ([`SETTLE_AGAIN`] later: becoming MASTER and its delayed
//! gratuitous ARPs run code once), and after each reload.
//!
//! The section of the VRRP engine's steady-state code, named on each of its
//! functions (`#[link_section = "krs_hot"]`: the receive path from
//! `recvmmsg` to the state machine, the advert encoder, the timers). After
//! [`settle`] the kernel maps code back in large blocks (fault-around and
//! the page cache's large folios: 128–512 KiB here), so a handful of small
//! functions scattered over the 9 MiB text by codegen-unit partitioning
//! keep several such blocks resident each; in one section of their own
//! (the linker puts it whole after `.text`, in the same read-only
//! executable segment) they share one or two.

/// When the daemon with virtual servers settles after start or a reload:
/// after the IPVS syncer's pass and the checkers' first round.
pub const SETTLE_AFTER_IPVS: std::time::Duration = std::time::Duration::from_secs(2);

/// When to settle again after start.
pub const SETTLE_AGAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Drop start-up's pages, then `mlockall`. Best effort: each step that
/// fails is skipped (logged at debug level).
pub fn settle() {
    // Locked pages cannot be dropped: unlock first (a second settle).
    #[allow(unsafe_code)]
    // SAFETY: munlockall only changes how the kernel treats our pages.
    let _ = unsafe { libc::munlockall() };
    let dropped = drop_readonly_segments();
    collect_allocator();
    restore_purge();
    // Keep what the daemon uses from now on resident, so that a page fault
    // to swap never delays an advert. MCL_ONFAULT locks pages on first touch
    // instead of faulting every mapping in at once (the allocator reserves
    // large address ranges; pre-faulting them would take seconds and
    // gigabytes).
    #[allow(unsafe_code)]
    // SAFETY: mlockall only changes how the kernel treats our pages.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "mlockall not permitted");
    }
    tracing::debug!(bytes = dropped, "start-up pages of the program dropped");
}

/// The page-aligned address ranges of our program's loaded segments that
/// are never written: code and read-only data, not the RELRO part (written
/// by the dynamic linker before it is made read-only) nor data.
fn readonly_segments() -> Vec<(usize, usize)> {
    struct Found {
        ranges: Vec<(usize, usize)>,
        done: bool,
    }
    extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        #[allow(unsafe_code)]
        // SAFETY: `data` is the `Found` passed to dl_iterate_phdr below,
        // alive and not otherwise borrowed during the call; `info` is valid
        // for the duration of the callback.
        let (found, info) = unsafe { (&mut *data.cast::<Found>(), &*info) };
        if found.done {
            return 1;
        }
        // The first object is the program itself.
        found.done = true;
        if info.dlpi_phdr.is_null() {
            return 1;
        }
        #[allow(unsafe_code)]
        // SAFETY: dl_iterate_phdr gives `dlpi_phnum` headers at `dlpi_phdr`.
        let phdrs =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let base = info.dlpi_addr as usize;
        let relro: Vec<(usize, usize)> = phdrs
            .iter()
            .filter(|p| p.p_type == libc::PT_GNU_RELRO)
            .map(|p| {
                (
                    base + p.p_vaddr as usize,
                    base + (p.p_vaddr + p.p_memsz) as usize,
                )
            })
            .collect();
        let page = page_size();
        for p in phdrs {
            if p.p_type != libc::PT_LOAD || p.p_flags & libc::PF_W != 0 {
                continue;
            }
            // Only whole pages inside the segment: a page shared with a
            // neighbouring segment is left alone.
            let start = (base + p.p_vaddr as usize).div_ceil(page) * page;
            let end = (base + p.p_vaddr as usize + p.p_filesz as usize) / page * page;
            if start >= end {
                continue;
            }
            if relro
                .iter()
                .any(|&(a, b)| a < end + page && start < b + page)
            {
                continue;
            }
            found.ranges.push((start, end));
        }
        1
    }
    let mut found = Found {
        ranges: Vec::new(),
        done: false,
    };
    #[allow(unsafe_code)]
    // SAFETY: the callback only reads the headers it is given and writes to
    // `found`, which outlives the call.
    unsafe {
        libc::dl_iterate_phdr(Some(each), (&raw mut found).cast());
    }
    found.ranges
}

fn page_size() -> usize {
    #[allow(unsafe_code)]
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// Unmap our program's read-only pages (see the module doc). They are
/// never written, so the kernel brings back the same bytes from the file
/// when one is used again. Returns the bytes of address range given back.
fn drop_readonly_segments() -> usize {
    let mut total = 0;
    for (start, end) in readonly_segments() {
        #[allow(unsafe_code)]
        // SAFETY: [start, end) is page-aligned and inside a read-only,
        // never-written, file-backed segment of our own program: dropping
        // its pages changes no content, the next access maps the file's
        // page again.
        let rc =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if rc == 0 {
            total += end - start;
        } else {
            tracing::debug!(error = %std::io::Error::last_os_error(), "madvise(MADV_DONTNEED) refused");
        }
    }
    total
}

#[allow(unsafe_code)]
// SAFETY: the declarations match mimalloc.h: `void mi_collect(bool force)`,
// `void mi_option_set(mi_option_t option, long value)`.
unsafe extern "C" {
    fn mi_option_set(option: libc::c_int, value: libc::c_long);
    /// mimalloc (the global allocator of the keepalived-rs binary): free
    /// what can be freed now and return free pages to the system.
    fn mi_collect(force: bool);
}

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_t` (v2 and v3), and
/// its default (milliseconds).
const MI_OPTION_PURGE_DELAY: libc::c_int = 15;
const DEFAULT_PURGE_DELAY_MS: libc::c_long = 10;

/// For start-up and one-shot commands (`-t`): mimalloc gives freed memory
/// back to the kernel after a delay (10 ms), and the pages it takes again
/// afterwards are faulted in and zeroed anew. A parse of a large file frees
/// and reallocates all along (the preprocessor's lines, the tree's vectors):
/// 350 purges of 38 MiB on a 100,000-line file. [`settle`] gives everything
/// back once and restores the default.
pub fn never_purge() {
    set_purge_delay(-1);
}

/// The allocator's default purge delay again (after [`never_purge`]).
pub fn restore_purge() {
    set_purge_delay(DEFAULT_PURGE_DELAY_MS);
}

fn set_purge_delay(ms: libc::c_long) {
    #[allow(unsafe_code)]
    // SAFETY: sets one integer option of the allocator, which reads it when
    // it next considers purging; any value is valid (-1: never purge).
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, ms)
    };
}

/// Return the allocator's free pages to the system (start-up's parse freed
/// many) before `mlockall` makes them stay.
fn collect_allocator() {
    #[allow(unsafe_code)]
    // SAFETY: mi_collect only walks the allocator's own structures; it is
    // safe to call from any thread at any time.
    unsafe {
        mi_collect(true)
    };
}
