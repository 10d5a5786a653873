//! The usage zone: token-use claims and invoice rate entries shared by all workers of one host
//! (`l402_usage_zone name:size [state=path|off]`, declared like `limit_req_zone`).
//!
//! The table logic is `l402_usage::table`, its byte layout `l402_usage::layout`; this module
//! declares the zone, maps the table ([`table_map`]) and holds its lock. The table lives in a
//! usage state file by default (`docs/usage-state.md`), so claims survive a stop and start, a
//! crash, a binary upgrade and a resize; `state=off` keeps it in anonymous shared memory.
//!
//! nginx's shared-zone machinery is used only for its bookkeeping across reloads: the zone
//! nginx allocates is the minimum size and unused, and its `data` is our per-cycle [`Handle`]
//! in process memory. On reload nginx hands the new zone's init the previous cycle's handle,
//! whose table is shared when nothing changed, or carried into the new one when the size or
//! the state file changed.

mod table_map;

use std::ffi::c_void;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::rc::Rc;

use l402_usage::layout::slots_for;
use l402_usage::table::{Slot, PROBE_WINDOW};
use ngx::ffi::{
    ngx_conf_t, ngx_int_t, ngx_log_t, ngx_pool_cleanup_add, ngx_shared_memory_add, ngx_shm_zone_t, NGX_LOG_ALERT,
    NGX_LOG_EMERG, NGX_LOG_NOTICE,
};

use crate::ffi::{NGX_ERROR, NGX_OK};
use table_map::{Checked, Opened, TableMap};

/// Identifies our handle when nginx passes a zone's `data` back to us.
const HANDLE_MAGIC: u64 = u64::from_be_bytes(*b"l402zon2");

/// nginx's zone, unused but for its bookkeeping: the minimum nginx accepts (8 pages).
const NGX_ZONE_PAGES: usize = 8;

/// What `l402_usage_zone` declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    pub name: String,
    /// Bytes of the table, header included.
    pub size: usize,
    /// The usage state file (absolute), or `None` for `state=off`.
    pub state: Option<PathBuf>,
}

impl ZoneSpec {
    /// Smallest size accepted: room for two buckets.
    pub fn min_size() -> usize {
        l402_usage::layout::bytes_for(2 * PROBE_WINDOW).next_multiple_of(1024).max(32 * 1024)
    }
}

/// One cycle's view of the zone, owned by the cycle pool.
struct Handle {
    magic: u64,
    spec: ZoneSpec,
    /// Set by init in the master (or the single process); `None` in `nginx -t`.
    table: Option<Rc<TableMap>>,
}

/// A declared usage zone. The handle is owned by the cycle and valid in every worker for the
/// worker's life (and in the master until the cycle is freed).
#[derive(Clone, Copy)]
pub struct UsageZone {
    handle: NonNull<Handle>,
}

// SAFETY: the zone object is only dereferenced on an nginx main thread; workers never share
// it across threads (the tokio runtime never sees it).
unsafe impl Send for UsageZone {}
// SAFETY: as above.
unsafe impl Sync for UsageZone {}

fn page_size() -> usize {
    // SAFETY: ngx_pagesize is set by ngx_os_init before any configuration is read.
    unsafe { ngx::ffi::ngx_pagesize }
}

/// Declares the zone for this module.
pub fn declare(cf: *mut ngx_conf_t, spec: ZoneSpec, tag: *const c_void) -> Result<UsageZone, String> {
    if spec.size < ZoneSpec::min_size() {
        return Err(format!("zone \"{}\" is too small: at least {}k", spec.name, ZoneSpec::min_size() / 1024));
    }
    // nginx keeps the name pointer for the cycle's life: copy it into the cycle pool.
    let mut ngx_name = crate::ffi::conf_pool_str(cf, spec.name.as_bytes()).ok_or("cannot allocate")?;
    let size = NGX_ZONE_PAGES * page_size();
    // SAFETY: `cf` is live during parsing; `tag` identifies our module's zones.
    let shm = unsafe { ngx_shared_memory_add(cf, &mut ngx_name, size, tag.cast_mut()) };
    let shm = NonNull::new(shm).ok_or_else(|| format!("cannot add zone \"{}\"", spec.name))?;
    // SAFETY: nginx returned a live zone object of the new cycle; `cf->pool` is the cycle pool,
    // whose cleanup frees the handle when the cycle goes.
    unsafe {
        let z = shm.as_ptr();
        if !(*z).data.is_null() {
            return Err(format!("zone \"{}\" is already declared", spec.name));
        }
        let cleanup = ngx_pool_cleanup_add((*cf).pool, 0);
        if cleanup.is_null() {
            return Err("cannot allocate".into());
        }
        let handle = Box::into_raw(Box::new(Handle { magic: HANDLE_MAGIC, spec, table: None }));
        (*cleanup).handler = Some(free_handle);
        (*cleanup).data = handle.cast();
        (*z).data = handle.cast();
        (*z).init = Some(init_zone);
        Ok(UsageZone { handle: NonNull::new_unchecked(handle) })
    }
}

/// Cycle pool cleanup: drops the handle (and unmaps its table if no newer cycle shares it).
unsafe extern "C" fn free_handle(data: *mut c_void) {
    crate::guard::guard_void(|| {
        // SAFETY: `data` is the Box leaked in `declare`, freed only here.
        drop(unsafe { Box::from_raw(data.cast::<Handle>()) });
    });
}

/// `ngx_shm_zone_t.init`: runs in the master (or `nginx -t`) for every (re)load.
unsafe extern "C" fn init_zone(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> ngx_int_t {
    let mut rc = NGX_ERROR;
    crate::guard::guard_void(|| {
        // SAFETY: nginx passes the live zone (whose data is our handle) and the previous
        // cycle's data for the same zone name (our handle, alive until that cycle is freed).
        rc = unsafe { init(zone, old) };
    });
    rc
}

unsafe fn init(zone: *mut ngx_shm_zone_t, old: *mut c_void) -> ngx_int_t {
    // SAFETY: see init_zone.
    let (handle, previous, log) = unsafe {
        let handle = &mut *(*zone).data.cast::<Handle>();
        let previous = old.cast::<Handle>().as_ref().filter(|h| h.magic == HANDLE_MAGIC);
        (handle, previous, (*zone).shm.log)
    };
    let slots = slots_for(handle.spec.size);
    // SAFETY: nginx's global, set once from the command line.
    if unsafe { ngx::ffi::ngx_test_config } != 0 {
        return check_only(&handle.spec, slots, log);
    }
    let prev_table = previous.and_then(|p| p.table.clone().map(|t| (p.spec.state == handle.spec.state, t)));
    if let Some((same_state, t)) = &prev_table {
        let file_in_place = handle.spec.state.as_deref().is_none_or(|p| t.is_at(p));
        if *same_state && t.slots() == slots && file_in_place {
            // Reload with nothing changed: the same table. (A state file deleted or replaced
            // while nginx ran is opened again below and the table's claims merged into it.)
            handle.table = Some(t.clone());
            return NGX_OK;
        }
    }
    let prev = prev_table.as_ref().map(|(_, t)| &**t);
    let name = &handle.spec.name;
    let made = match &handle.spec.state {
        None => TableMap::anonymous(slots).and_then(|t| {
            let carried = carry(prev, &t)?;
            if carried > 0 {
                notice(log, &format!("l402: usage zone \"{name}\": carried {carried} claims into the new zone"));
            }
            Ok(t)
        }),
        Some(path) => TableMap::open(path, slots, prev).map(|(t, opened)| {
            let p = path.display();
            notice(
                log,
                &match opened {
                    Opened::Created { carried } => {
                        format!("l402: usage zone \"{name}\": created state file \"{p}\" ({carried} claims carried over)")
                    }
                    Opened::Loaded { claims, shared } => format!(
                        "l402: usage zone \"{name}\": {claims} live claims in state file \"{p}\"{}",
                        if shared { ", shared with the processes still using it" } else { "" }
                    ),
                    Opened::Resized { from_slots, claims } => format!(
                        "l402: usage zone \"{name}\": state file \"{p}\" resized from {from_slots} to {slots} \
                         slots, {claims} live claims kept"
                    ),
                },
            );
            t
        }),
    };
    match made {
        Ok(t) => {
            handle.table = Some(Rc::new(t));
            NGX_OK
        }
        Err(msg) => {
            ngx::ngx_log_error!(NGX_LOG_EMERG, log, "l402: usage zone \"{}\": {}", name, msg);
            NGX_ERROR
        }
    }
}

/// Carries the previous anonymous or file table's claims into a new anonymous one.
fn carry(prev: Option<&TableMap>, into: &TableMap) -> Result<usize, String> {
    let Some(prev) = prev else { return Ok(0) };
    let _a = prev.lock();
    let _b = into.lock();
    // SAFETY: both locked, distinct mappings.
    let (src, dst) = unsafe { (prev.slots_mut(), into.slots_mut()) };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    l402_usage::layout::migrate(src, dst, now).map(|m| m.claims).map_err(|e| {
        format!(
            "the new zone size cannot hold the {} live claims of the current zone; make it larger",
            e.claims
        )
    })
}

/// `nginx -t`: the state file must be usable as configured; nothing is written.
fn check_only(spec: &ZoneSpec, slots: usize, log: *mut ngx_log_t) -> ngx_int_t {
    let Some(path) = &spec.state else { return NGX_OK };
    match TableMap::check(path, slots) {
        Ok(Checked::WillCreate) => NGX_OK,
        Ok(Checked::Usable { claims }) => {
            notice(log, &format!("l402: usage zone \"{}\": {claims} live claims in \"{}\"", spec.name, path.display()));
            NGX_OK
        }
        Err(msg) => {
            ngx::ngx_log_error!(NGX_LOG_EMERG, log, "l402: usage zone \"{}\": {}", spec.name, msg);
            NGX_ERROR
        }
    }
}

fn notice(log: *mut ngx_log_t, msg: &str) {
    ngx::ngx_log_error!(NGX_LOG_NOTICE, log, "{}", msg);
}

impl UsageZone {
    /// Runs `f` on the table with it locked: one atomic step for every process that maps it.
    /// `None` when the zone has no table (never after a successful start).
    ///
    /// # Safety
    /// Main thread of a worker (or the single process), after the cycle's zones were
    /// initialised.
    pub unsafe fn with_table<R>(&self, f: impl FnOnce(&mut [Slot]) -> R) -> Option<R> {
        // SAFETY: the handle lives as long as the cycle (see the contract).
        let table = unsafe { self.handle.as_ref() }.table.as_ref()?;
        let held = table.lock();
        if let Some(pid) = held.took_over_from {
            let log = ngx::log::ngx_cycle_log().as_ptr();
            ngx::ngx_log_error!(
                NGX_LOG_ALERT,
                log,
                "l402: took over the usage table lock from process {}, which died holding it or \
                 held it for over a second",
                pid
            );
        }
        // SAFETY: locked for the duration of `f`.
        Some(f(unsafe { table.slots_mut() }))
    }

    /// Number of slots, for logs and the README's sizing note.
    ///
    /// # Safety
    /// As [`UsageZone::with_table`].
    pub unsafe fn capacity(&self) -> usize {
        // SAFETY: forwarded contract.
        unsafe { self.handle.as_ref() }.table.as_ref().map_or(0, |t| t.slots())
    }

    /// What was declared.
    pub fn spec(&self) -> &ZoneSpec {
        // SAFETY: the handle lives as long as the cycle that holds this zone.
        unsafe { &self.handle.as_ref().spec }
    }
}
