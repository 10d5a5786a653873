//! The module's Prometheus metrics in nginx: the shared memory zone that holds the counters
//! (`l402_metrics::Table`, one per host, kept across `reload`), what each request and backend
//! call adds to it ([`count`]), and the `l402_metrics` location that serves them ([`scrape`]).
//! Families and labels are listed in `l402_metrics::catalogue` and the README.
//!
//! The zone is declared in postconfiguration whenever the module is used; its init (master, or
//! `nginx -t`) allocates the table from the zone's slab pool once and hands the same words to
//! every later cycle (nginx reuses a zone of the same name and size on reload). Each worker
//! takes the words from its own cycle at start ([`attach`]) into a process global, so backend
//! jobs on the worker's runtime threads count too.

pub mod count;
pub mod scrape;

use std::ffi::c_void;
use std::ptr::{null_mut, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use l402_metrics::{words_for, Table};
use ngx::ffi::{ngx_conf_t, ngx_int_t, ngx_shared_memory_add, ngx_shm_zone_t, ngx_slab_alloc, ngx_slab_pool_t, NGX_LOG_EMERG};

use crate::ffi::{NGX_ERROR, NGX_OK};

/// Series the table holds: every family of a few hundred services, backends and reasons.
/// A series that finds no room is counted in `l402_metrics_series_dropped_total`.
pub const SLOTS: usize = 4096;
const ZONE_NAME: &[u8] = b"l402_metrics";
/// Room in the zone for nginx's slab pool bookkeeping besides the table.
const SLAB_PAGES: usize = 8;

/// The words of this process's table (workers: set once at start; null elsewhere).
static WORDS: AtomicPtr<AtomicU64> = AtomicPtr::new(null_mut());
static WORDS_LEN: AtomicUsize = AtomicUsize::new(0);

/// The declared zone of a cycle.
#[derive(Clone, Copy)]
pub struct MetricsZone(NonNull<ngx_shm_zone_t>);

// SAFETY: the zone object belongs to the cycle and is only read on nginx's main thread.
unsafe impl Send for MetricsZone {}
// SAFETY: as above.
unsafe impl Sync for MetricsZone {}

fn table_bytes() -> usize {
    words_for(SLOTS) * std::mem::size_of::<AtomicU64>()
}

/// Declares the metrics zone of this cycle.
pub fn declare(cf: *mut ngx_conf_t, tag: *const c_void) -> Result<MetricsZone, String> {
    let mut name = crate::ffi::conf_pool_str(cf, ZONE_NAME).ok_or("cannot allocate")?;
    // SAFETY: ngx_pagesize is set by ngx_os_init before any configuration is read.
    let page = unsafe { ngx::ffi::ngx_pagesize };
    let size = (table_bytes() + SLAB_PAGES * page).next_multiple_of(page);
    // SAFETY: `cf` is live during parsing; `tag` identifies our module's zones.
    let shm = unsafe { ngx_shared_memory_add(cf, &mut name, size, tag.cast_mut()) };
    let shm = NonNull::new(shm).ok_or("cannot add the metrics zone \"l402_metrics\" (is the name taken?)")?;
    // SAFETY: a live zone object of the new cycle.
    unsafe { (*shm.as_ptr()).init = Some(init_zone) };
    Ok(MetricsZone(shm))
}

/// `ngx_shm_zone_t.init`: master (or `nginx -t`), every (re)load.
unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> ngx_int_t {
    let mut rc = NGX_ERROR;
    crate::guard::guard_void(|| {
        // SAFETY: nginx passes the live zone and, when it reuses the memory, the previous
        // cycle's `data` for it (our table's words in that same memory).
        rc = unsafe { init(zone, old) };
    });
    rc
}

unsafe fn init(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> ngx_int_t {
    // SAFETY: see init_zone; a new zone's memory starts with the slab pool nginx set up.
    unsafe {
        let log = (*zone).shm.log;
        let words = if old.is_null() {
            ngx_slab_alloc((*zone).shm.addr.cast::<ngx_slab_pool_t>(), table_bytes())
        } else {
            old
        };
        if words.is_null() {
            ngx::ngx_log_error!(NGX_LOG_EMERG, log, "l402: cannot allocate the metrics table");
            return NGX_ERROR;
        }
        let slice = std::slice::from_raw_parts(words.cast::<AtomicU64>(), words_for(SLOTS));
        if Table::open(slice).is_none() {
            ngx::ngx_log_error!(NGX_LOG_EMERG, log, "l402: the metrics zone is too small");
            return NGX_ERROR;
        }
        (*zone).data = words;
        NGX_OK
    }
}

/// Takes this worker's table from its cycle's zone.
///
/// # Safety
/// Main thread of a worker (or the single process) at start, after the cycle's zones were
/// initialised; the zone belongs to the cycle the process serves for its whole life.
pub unsafe fn attach(zone: Option<MetricsZone>) {
    // SAFETY: forwarded contract.
    let words = zone.map_or(null_mut(), |z| unsafe { (*z.0.as_ptr()).data.cast::<AtomicU64>() });
    WORDS_LEN.store(if words.is_null() { 0 } else { words_for(SLOTS) }, Ordering::Relaxed);
    WORDS.store(words, Ordering::Release);
}

/// This process's table; `None` outside workers or when the module is not used.
pub fn table() -> Option<Table<'static>> {
    let words = WORDS.load(Ordering::Acquire);
    if words.is_null() {
        return None;
    }
    // SAFETY: set by `attach` from the zone of the cycle this process serves until it exits;
    // nginx unmaps shared memory only when that cycle is freed, which a worker never sees.
    let slice = unsafe { std::slice::from_raw_parts(words.cast_const(), WORDS_LEN.load(Ordering::Relaxed)) };
    Table::attach(slice)
}
