//! `nginx -t` warnings for configurations that make a paid location free (payment-integrity
//! item 10; the README's *Pitfalls*).
//!
//! nginx tries regex locations after the longest matching prefix location unless that prefix
//! is `^~` or `=` (nginx docs, "location"), so with `location /paid/ { l402 on; }` and
//! `location ~* \.txt$ { }` a request for `/paid/x.txt` is served by the free regex location.
//! This runs in postconfiguration, after nginx built its location trees, and warns for every
//! such pair at the same level (a server, or inside one location).

use ngx::ffi::{ngx_conf_t, NGX_LOG_WARN};

use crate::ffi;
use crate::loc_tree::{children, name, paid, servers, Clcf, MAX_DEPTH};

/// Warns for every free regex location that wins over a paid prefix location.
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration.
pub unsafe fn warn_regex_over_paid_prefix(cf: *mut ngx_conf_t) {
    // SAFETY: forwarded contract.
    for (_, server) in unsafe { servers(cf) } {
        // SAFETY: a server-level conf of this cycle.
        unsafe { check_level(cf, server, 0) };
    }
}

unsafe fn check_level(cf: *mut ngx_conf_t, parent: Clcf, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    // SAFETY: every conf reached from `parent` belongs to the configured cycle.
    unsafe {
        let level = children(parent);
        let free_regex: Vec<String> = level.regex.iter().filter(|&&c| !paid(c)).map(|&c| name(c)).collect();
        for &prefix in level.prefix.iter().filter(|&&c| paid(c) && (*c).noregex() == 0) {
            let prefix = name(prefix);
            for regex in &free_regex {
                ffi::conf_log(
                    cf,
                    NGX_LOG_WARN,
                    &format!(
                        "l402: the free regex location \"{regex}\" is tried after the paid prefix \
                         location \"{prefix}\" and wins for requests both match, serving them \
                         without payment; write \"location ^~ {prefix}\" or put \"l402 on\" in the \
                         regex location"
                    ),
                );
            }
        }
        for child in level.all() {
            check_level(cf, child, depth + 1);
        }
    }
}
