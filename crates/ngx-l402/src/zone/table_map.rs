//! Where a usage table lives: anonymous shared memory (`state=off`), or a usage state file
//! mapped `MAP_SHARED` by the master and inherited by every worker (`docs/usage-state.md`).
//!
//! A file-backed table is the state itself: a claim is written to the page cache by the same
//! store that makes it, so it survives a stop and start, a crash or `kill -9` of any process,
//! and is shared live by the old and new workers of a binary upgrade (both map the same file
//! and take the lock word in its header). Only a crash of the kernel or a power loss can lose
//! the claims of the last writeback interval; the table is `msync`ed when a process unmaps it.
//!
//! Every process that maps a state file holds a shared `flock` on it, so the master that
//! opens it can tell whether any other process still uses it: only then (exclusive) is a lock
//! word left by a dead process cleared.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::ptr::NonNull;

use l402_usage::layout::{self, bytes_for, migrate, read_header, TableHeader, HEADER_SIZE};
use l402_usage::lock::{self, Held};
use l402_usage::table::{occupancy, Slot, SLOT_SIZE};

/// A mapped usage table.
pub struct TableMap {
    base: NonNull<TableHeader>,
    len: usize,
    slots: usize,
    /// The state file, holding a shared `flock` while mapped; `None` for anonymous memory.
    file: Option<File>,
}

/// What opening a state file found, for the master's notice line.
pub enum Opened {
    /// No file yet: created empty (or with the claims of the zone it replaces).
    Created { carried: usize },
    /// The file's table, used as it is.
    Loaded { claims: usize, shared: bool },
    /// The file held a table of another size: its claims were carried into a new file.
    Resized { from_slots: usize, claims: usize },
}

/// What `nginx -t` found at the state path.
pub enum Checked {
    /// No file: it will be created.
    WillCreate,
    /// A usable table holding `claims` live claims.
    Usable { claims: usize },
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn os_error(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("cannot {what} the usage state file \"{}\": {e}", path.display())
}

/// How to recover from a file we must not overwrite.
const MOVE_AWAY: &str = "move it away to start with an empty table (tokens it recorded as used \
                         are then accepted again until they expire), or set state=off";

/// `flock(2)` on `file`; `false` when `LOCK_NB` was asked and another holder conflicts.
fn flock(file: &File, op: libc::c_int) -> bool {
    // SAFETY: flock only acts on the open file description of a valid descriptor.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

impl TableMap {
    /// A fresh table of `slots` slots in anonymous shared memory.
    pub fn anonymous(slots: usize) -> Result<TableMap, String> {
        // SAFETY: a new anonymous shared mapping; nothing else refers to it.
        let map = unsafe { map(bytes_for(slots), None) }.map_err(|e| format!("cannot map the usage zone: {e}"))?;
        // SAFETY: `map` is a fresh zeroed mapping of bytes_for(slots) bytes.
        unsafe { map.as_ptr().write(TableHeader::new(slots as u64)) };
        Ok(TableMap { base: map, len: bytes_for(slots), slots, file: None })
    }

    /// Opens (or creates) the state file at `path` for a table of `slots` slots, carrying into
    /// it the claims of `previous` (the table of the zone before a reload) if that is another
    /// table. Runs in the master (or the single process), never in `nginx -t`.
    pub fn open(path: &Path, slots: usize, previous: Option<&TableMap>) -> Result<(TableMap, Opened), String> {
        // Never through a symlink: the master often runs as root.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| os_error("open", path, e))?;
        // Exclusive means no other process maps this file: no lock holder can be alive.
        let exclusive = flock(&file, libc::LOCK_EX | libc::LOCK_NB);
        let len = file.metadata().map_err(|e| os_error("stat", path, e))?.len();
        let (table, opened) = if len == 0 {
            if !exclusive {
                return Err(format!("the usage state file \"{}\" is empty and in use by another process", path.display()));
            }
            let table = Self::create_in(file, path, slots)?;
            let carried = table.merge_from(previous, path)?;
            (table, Opened::Created { carried })
        } else {
            let mut head = [0u8; HEADER_SIZE];
            let got = file.read_at(&mut head, 0).map_err(|e| os_error("read", path, e))?;
            let found = read_header(&head[..got], len)
                .map_err(|e| format!("the usage state file \"{}\" {e}: {MOVE_AWAY}", path.display()))?;
            // SAFETY: the file is `len` bytes, as its header says.
            let map = unsafe { map(len as usize, Some(&file)) }.map_err(|e| os_error("map", path, e))?;
            let table = TableMap { base: map, len: len as usize, slots: found, file: Some(file) };
            if exclusive {
                // Left by a process that died holding it: nobody else maps the file.
                table.header().lock.store(0, std::sync::atomic::Ordering::Relaxed);
            }
            if found == slots {
                table.merge_from(previous, path)?;
                let claims = table.claims();
                (table, Opened::Loaded { claims, shared: !exclusive })
            } else {
                let resized = table.resized(path, slots)?;
                resized.merge_from(previous, path)?;
                let claims = resized.claims();
                (resized, Opened::Resized { from_slots: found, claims })
            }
        };
        if let Some(f) = &table.file {
            // Downgrade (or take) the shared lock every user of the file holds.
            flock(f, libc::LOCK_SH);
        }
        Ok((table, opened))
    }

    /// A new table of `slots` slots in `file` (empty, or being replaced).
    fn create_in(file: File, path: &Path, slots: usize) -> Result<TableMap, String> {
        let len = bytes_for(slots);
        file.set_len(len as u64).map_err(|e| os_error("size", path, e))?;
        // SAFETY: the file was just sized to `len` bytes (of zeros).
        let map = unsafe { map(len, Some(&file)) }.map_err(|e| os_error("map", path, e))?;
        // SAFETY: the mapping is `len` ≥ HEADER_SIZE bytes and nobody else maps this file yet.
        unsafe { map.as_ptr().write(TableHeader::new(slots as u64)) };
        Ok(TableMap { base: map, len, slots, file: Some(file) })
    }

    /// Carries this file's table into a new file of `slots` slots that replaces it at `path`.
    /// Processes still mapping the old file keep it until they exit.
    fn resized(self, path: &Path, slots: usize) -> Result<TableMap, String> {
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".new");
        let tmp_path = Path::new(&tmp_name);
        // A leftover of a resize interrupted by a crash is ours to replace; a new file is made
        // with O_EXCL so nothing (a planted symlink) is followed.
        let _ = std::fs::remove_file(tmp_path);
        let tmp = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(tmp_path)
            .map_err(|e| os_error("create", tmp_path, e))?;
        flock(&tmp, libc::LOCK_EX);
        let new = Self::create_in(tmp, tmp_path, slots)?;
        if let Err(e) = new.merge_from(Some(&self), path) {
            drop(new);
            let _ = std::fs::remove_file(tmp_path);
            return Err(e);
        }
        new.sync();
        std::fs::rename(tmp_path, path).map_err(|e| os_error("replace", path, e))?;
        Ok(new)
    }

    /// Copies the live entries of `from` (when it is another table) into this one, holding
    /// both locks. Fails when this table cannot hold every claim.
    fn merge_from(&self, from: Option<&TableMap>, path: &Path) -> Result<usize, String> {
        let Some(from) = from.filter(|f| f.base != self.base) else { return Ok(0) };
        let _a = from.lock();
        let _b = self.lock();
        // SAFETY: both tables are mapped and locked; they are distinct mappings.
        let (src, dst) = unsafe { (from.slots_mut(), self.slots_mut()) };
        match migrate(src, dst, now_secs()) {
            Ok(m) => Ok(m.claims),
            Err(e) => Err(too_small(e.claims, path)),
        }
    }

    /// `nginx -t`: whether `path` can hold a table of `slots` slots, reading only.
    pub fn check(path: &Path, slots: usize) -> Result<Checked, String> {
        let file = match OpenOptions::new().read(true).custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                return match writable_dir(dir) {
                    true => Ok(Checked::WillCreate),
                    false => Err(format!(
                        "the usage state file \"{}\" cannot be created: directory \"{}\" does not exist or is not writable",
                        path.display(),
                        dir.display()
                    )),
                };
            }
            Err(e) => return Err(os_error("open", path, e)),
        };
        let len = file.metadata().map_err(|e| os_error("stat", path, e))?.len();
        if len == 0 {
            return Ok(Checked::WillCreate);
        }
        let mut head = [0u8; HEADER_SIZE];
        let got = file.read_at(&mut head, 0).map_err(|e| os_error("read", path, e))?;
        let found = read_header(&head[..got], len)
            .map_err(|e| format!("the usage state file \"{}\" {e}: {MOVE_AWAY}", path.display()))?;
        let old = read_slots(&file, found).map_err(|e| os_error("read", path, e))?;
        let now = now_secs();
        if found != slots {
            let mut scratch = vec![Slot::default(); slots];
            if let Err(e) = migrate(&old, &mut scratch, now) {
                return Err(too_small(e.claims, path));
            }
        }
        Ok(Checked::Usable { claims: occupancy(&old, now).claims })
    }

    /// The header, with the lock word.
    pub fn header(&self) -> &TableHeader {
        // SAFETY: the mapping starts with a header written at creation or checked at open.
        unsafe { self.base.as_ref() }
    }

    /// Takes the table lock for this process.
    pub fn lock(&self) -> Held<'_> {
        // SAFETY: ngx_pid is this process's pid, set by nginx before any module code runs in it.
        let me = unsafe { ngx::ffi::ngx_pid } as u64;
        lock::lock(&self.header().lock, me.max(1), alive)
    }

    /// The slots.
    ///
    /// # Safety
    /// The caller holds [`TableMap::lock`] for as long as it uses the slice.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slots_mut(&self) -> &mut [Slot] {
        // SAFETY: the mapping holds `slots` slots after the header; the lock gives exclusive
        // access across every process that maps it.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr().add(1).cast::<Slot>(), self.slots) }
    }

    /// Whether this table is the file now at `path` (an anonymous table never is): false
    /// when the file was deleted or replaced behind nginx's back.
    pub fn is_at(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Some(f) = &self.file else { return false };
        match (f.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Live claims, for notices.
    fn claims(&self) -> usize {
        let _held = self.lock();
        // SAFETY: locked above.
        occupancy(unsafe { self.slots_mut() }, now_secs()).claims
    }

    /// Writes the mapping's dirty pages to the file and waits for it.
    fn sync(&self) {
        if self.file.is_some() {
            // SAFETY: `base`/`len` are our live mapping.
            unsafe { libc::msync(self.base.as_ptr().cast(), self.len, libc::MS_SYNC) };
        }
    }
}

impl Drop for TableMap {
    fn drop(&mut self) {
        self.sync();
        // SAFETY: our mapping, not used after this point (the zone handle owning us is gone).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

fn too_small(claims: usize, path: &Path) -> String {
    let need = bytes_for(claims * 100 / 85 + l402_usage::table::PROBE_WINDOW * 2);
    format!(
        "the usage zone is too small for the {claims} live claims of \"{}\": make it at least {}k",
        path.display(),
        need.div_ceil(1024)
    )
}

/// Whether process `pid` exists (`kill(pid, 0)`; a process of another user counts as alive).
fn alive(pid: u64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks for the process; no signal is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

fn writable_dir(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_encoded_bytes()) else { return false };
    // SAFETY: `c` is a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// The slots of a state file's table, read (not mapped) for `nginx -t`.
fn read_slots(file: &File, slots: usize) -> std::io::Result<Vec<Slot>> {
    let mut bytes = vec![0u8; slots * SLOT_SIZE];
    file.read_exact_at(&mut bytes, HEADER_SIZE as u64)?;
    let word = |c: &[u8], at: usize| u64::from_ne_bytes(c[at..at + 8].try_into().unwrap_or([0; 8]));
    Ok(bytes
        .chunks_exact(SLOT_SIZE)
        .map(|c| Slot {
            key: c[..16].try_into().unwrap_or([0; 16]),
            expires_at: word(c, 16),
            value: word(c, 24),
        })
        .collect())
}

/// `mmap` of `len` bytes, shared: of `file`, or anonymous (zeroed) when `None`.
///
/// # Safety
/// `file`, when given, is at least `len` bytes long.
unsafe fn map(len: usize, file: Option<&File>) -> std::io::Result<NonNull<TableHeader>> {
    let (flags, fd) = match file {
        Some(f) => (libc::MAP_SHARED, f.as_raw_fd()),
        None => (libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1),
    };
    // SAFETY: a new mapping chosen by the kernel; arguments as documented in mmap(2).
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    NonNull::new(p.cast::<TableHeader>()).ok_or_else(|| std::io::Error::other("mmap returned null"))
}

// The layout module's sizes are what we map.
const _: () = assert!(layout::HEADER_SIZE == size_of::<TableHeader>());
