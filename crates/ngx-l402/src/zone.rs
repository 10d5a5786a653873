//! The usage zone: token-use claims and invoice rate entries in nginx shared memory, shared by
//! all workers of one host (`l402_usage_zone name:size`, declared like `limit_req_zone`).
//!
//! The zone holds nginx's slab pool; at zone init we allocate one block for a small header
//! and a fixed array of [`Slot`]s, and every operation runs under the slab pool's mutex
//! (`ngx_shmtx_t`, which the master force-unlocks if a worker dies holding it). The table logic
//! is `l402_usage::table`; this file only maps memory and holds the lock.
//!
//! The table survives `nginx -s reload` when the zone keeps its name and size (nginx reuses
//! the mapping and passes the old data to init), so claims are never forgotten on reload.

use std::ffi::c_void;
use std::ptr::NonNull;

use l402_usage::table::{Slot, PROBE_WINDOW, SLOT_SIZE};
use ngx::ffi::{
    ngx_conf_t, ngx_int_t, ngx_shared_memory_add, ngx_shm_zone_t, ngx_shmtx_lock,
    ngx_shmtx_unlock, ngx_slab_alloc, ngx_slab_pool_t,
};

use crate::ffi::{NGX_ERROR, NGX_OK};

/// Marks our header in shared memory ("l402zone" + layout version 1).
const MAGIC: u64 = u64::from_be_bytes(*b"l402zon1");

/// Smallest zone accepted, like nginx's other zones: 8 pages.
const MIN_PAGES: usize = 8;

#[repr(C)]
struct Header {
    magic: u64,
    slots: u64,
}

/// A declared usage zone. The pointer is owned by the cycle and valid in every worker for the
/// worker's life (and in the master until the next reload).
#[derive(Clone, Copy)]
pub struct UsageZone {
    shm: NonNull<ngx_shm_zone_t>,
}

// SAFETY: the zone object is only dereferenced on an nginx main thread; workers never share
// it across threads (the tokio runtime never sees it).
unsafe impl Send for UsageZone {}
// SAFETY: as above.
unsafe impl Sync for UsageZone {}

/// Marker stored as the zone's `data` between declaration and init, so a second declaration of
/// the same name is detected.
static DECLARED: u8 = 0;

fn page_size() -> usize {
    // SAFETY: ngx_pagesize is set by ngx_os_init before any configuration is read.
    unsafe { ngx::ffi::ngx_pagesize }
}

/// Declares the zone `name` of `size` bytes for this module.
pub fn declare(cf: *mut ngx_conf_t, name: &str, size: usize, tag: *const c_void) -> Result<UsageZone, String> {
    let min = MIN_PAGES * page_size();
    if size < min {
        return Err(format!("zone \"{name}\" is too small: at least {}k", min / 1024));
    }
    // nginx keeps the name pointer for the cycle's life: copy it into the cycle pool.
    let mut ngx_name = crate::ffi::conf_pool_str(cf, name.as_bytes()).ok_or("cannot allocate")?;
    // SAFETY: `cf` is live during parsing; `tag` identifies our module's zones.
    let shm = unsafe { ngx_shared_memory_add(cf, &mut ngx_name, size, tag.cast_mut()) };
    let shm = NonNull::new(shm).ok_or_else(|| format!("cannot add zone \"{name}\""))?;
    // SAFETY: nginx returned a live zone object of the new cycle.
    unsafe {
        let z = shm.as_ptr();
        if !(*z).data.is_null() {
            return Err(format!("zone \"{name}\" is already declared"));
        }
        (*z).data = std::ptr::addr_of!(DECLARED).cast_mut().cast();
        (*z).init = Some(init_zone);
    }
    Ok(UsageZone { shm })
}

/// `ngx_shm_zone_t.init`: runs in the master for every (re)load.
unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> ngx_int_t {
    let mut rc = NGX_ERROR;
    crate::guard::guard_void(|| {
        // SAFETY: nginx passes the live zone and the previous cycle's data (or null).
        rc = unsafe { init(zone, old) };
    });
    rc
}

unsafe fn init(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> ngx_int_t {
    // SAFETY: the zone's memory starts with nginx's slab pool (ngx_init_zone_pool ran).
    unsafe {
        let pool = (*zone).shm.addr.cast::<ngx_slab_pool_t>();
        if !old.is_null() && (*old.cast::<Header>()).magic == MAGIC {
            // Reload with the same name and size: same mapping, keep every claim.
            (*zone).data = old;
            return NGX_OK;
        }
        if (*zone).shm.exists != 0 {
            (*zone).data = (*pool).data;
            return NGX_OK;
        }
        let page = page_size();
        let mut bytes = (*pool).pfree.saturating_sub(1) * page;
        // We probe for the largest block that fits: a refusal here is expected, not an error
        // worth nginx's "ngx_slab_alloc() failed: no memory" line.
        (*pool).set_log_nomem(0);
        loop {
            let slots = (bytes.saturating_sub(size_of::<Header>()) / SLOT_SIZE) / PROBE_WINDOW * PROBE_WINDOW;
            if slots < PROBE_WINDOW {
                (*pool).set_log_nomem(1);
                return NGX_ERROR;
            }
            let total = size_of::<Header>() + slots * SLOT_SIZE;
            let p = ngx_slab_alloc(pool, total);
            if p.is_null() {
                bytes = bytes.saturating_sub(page);
                continue;
            }
            std::ptr::write_bytes(p.cast::<u8>(), 0, total);
            let header = p.cast::<Header>();
            (*header).magic = MAGIC;
            (*header).slots = slots as u64;
            (*pool).data = p;
            (*pool).set_log_nomem(1);
            (*zone).data = p;
            return NGX_OK;
        }
    }
}

impl UsageZone {
    /// Runs `f` on the table with the zone locked: one atomic step for every worker.
    /// `None` when the zone is not initialised (never after a successful start).
    ///
    /// # Safety
    /// Main thread of a worker (or the single process), after the cycle's zones were
    /// initialised.
    pub unsafe fn with_table<R>(&self, f: impl FnOnce(&mut [Slot]) -> R) -> Option<R> {
        // SAFETY: see the contract; `data` is our header (set by init) and the slab pool sits
        // at the start of the mapping.
        unsafe {
            let z = self.shm.as_ptr();
            let header = (*z).data.cast::<Header>();
            if header.is_null() || (*header).magic != MAGIC {
                return None;
            }
            let len = usize::try_from((*header).slots).ok()?;
            let pool = (*z).shm.addr.cast::<ngx_slab_pool_t>();
            let _locked = Locked::new(pool);
            let slots = std::slice::from_raw_parts_mut(header.add(1).cast::<Slot>(), len);
            Some(f(slots))
        }
    }

    /// Number of slots, for logs and the README's sizing note.
    ///
    /// # Safety
    /// As [`UsageZone::with_table`].
    pub unsafe fn capacity(&self) -> usize {
        // SAFETY: forwarded contract.
        unsafe { self.with_table(|t| t.len()).unwrap_or(0) }
    }
}

/// Holds the slab pool mutex; unlocks on drop (also while unwinding).
struct Locked(*mut ngx_slab_pool_t);

impl Locked {
    /// # Safety
    /// `pool` is a live slab pool in shared memory.
    unsafe fn new(pool: *mut ngx_slab_pool_t) -> Locked {
        // SAFETY: forwarded contract.
        unsafe { ngx_shmtx_lock(&mut (*pool).mutex) };
        Locked(pool)
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: we hold the lock taken in `new` on this live pool.
        unsafe { ngx_shmtx_unlock(&mut (*self.0).mutex) };
    }
}
