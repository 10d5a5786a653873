//! `nginx -t` warnings for configurations that make a paid location free (payment-integrity
//! item 10; the README's *Pitfalls*).
//!
//! nginx tries regex locations after the longest matching prefix location unless that prefix
//! is `^~` or `=` (nginx docs, "location"), so with `location /paid/ { l402 on; }` and
//! `location ~* \.txt$ { }` a request for `/paid/x.txt` is served by the free regex location.
//! This runs in postconfiguration, after nginx built its location trees, and warns for every
//! such pair at the same level (a server, or inside one location).
//!
//! A `return` with a 2xx status in a paid location (also inside an `if`), or at the level of a
//! server that has paid locations, answers in the rewrite phase, before the access check: it
//! serves its text to everyone ([`warn_rewrite_answers`]).

use ngx::ffi::{ngx_array_t, ngx_conf_t, NGX_LOG_WARN};

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

/// The rewrite module's location conf, as nginx lays it out (`ngx_http_rewrite_loc_conf_t`,
/// private to `ngx_http_rewrite_module.c`, unchanged since nginx 0.7): only `codes` is read.
#[repr(C)]
struct RewriteLocConf {
    /// The compiled rewrite-phase program: a byte array of code structs, each starting with
    /// its code function, all made of pointer-sized words; an `if` block's codes are inlined
    /// into its location's array.
    codes: *mut ngx_array_t,
    stack_size: usize,
    log: isize,
    uninitialized_variable_warn: isize,
}

/// Warns for a content-serving `return` that runs before the paywall (see the module docs).
///
/// # Safety
/// `cf` is the live configuration of the http{} block, in postconfiguration.
pub unsafe fn warn_rewrite_answers(cf: *mut ngx_conf_t) {
    // SAFETY: forwarded contract; `rewrite_ctx_index` only reads a module object.
    unsafe {
        let Some(index) = rewrite_ctx_index() else { return };
        for (cscf, server) in servers(cf) {
            let mut paid_locations = Vec::new();
            collect_paid(server, 0, &mut paid_locations);
            if paid_locations.is_empty() {
                continue;
            }
            // The server level's confs are its ctx's (a server's core conf has no `loc_conf`).
            if serves_by_return((*(*cscf).ctx).loc_conf, index) {
                ffi::conf_log(
                    cf,
                    NGX_LOG_WARN,
                    "l402: a server with paid locations answers with \"return\" at server level: it \
                     runs before the access check and serves every request without payment",
                );
            }
            for clcf in paid_locations {
                if serves_by_return((*clcf).loc_conf, index) {
                    let location = name(clcf);
                    ffi::conf_log(
                        cf,
                        NGX_LOG_WARN,
                        &format!(
                            "l402: the paid location \"{location}\" answers with \"return\" (a 2xx \
                             status): it runs in the rewrite phase, before the access check, and \
                             serves its text without payment; serve paid content with root, alias \
                             or a proxy"
                        ),
                    );
                }
            }
        }
    }
}

unsafe fn collect_paid(parent: Clcf, depth: usize, out: &mut Vec<Clcf>) {
    if depth > MAX_DEPTH {
        return;
    }
    // SAFETY: confs reached from `parent` belong to the configured cycle.
    unsafe {
        for child in children(parent).all() {
            if paid(child) {
                out.push(child);
            }
            collect_paid(child, depth + 1, out);
        }
    }
}

/// The rewrite module's conf index, when nginx has the module (`--without-http_rewrite_module`
/// builds do not: then nothing is checked). Looked up by name so the module loads either way.
unsafe fn rewrite_ctx_index() -> Option<usize> {
    // SAFETY: dlsym on the running binary's exported symbols; the result, if any, is nginx's
    // module object, alive for the process.
    unsafe {
        let sym = libc::dlsym(libc::RTLD_DEFAULT, c"ngx_http_rewrite_module".as_ptr());
        let module = sym.cast::<ngx::ffi::ngx_module_t>().as_ref()?;
        (module.ctx_index != usize::MAX).then_some(module.ctx_index)
    }
}

/// Whether the location's rewrite program holds a `return` with a 2xx status: a word equal to
/// `ngx_http_script_return_code` (only a code struct's first word holds a code function)
/// followed by the status word of `ngx_http_script_return_code_t`.
unsafe fn serves_by_return(confs: *mut *mut std::ffi::c_void, index: usize) -> bool {
    // SAFETY: a loc_conf array has one entry per HTTP module; the rewrite module's is a
    // RewriteLocConf; its codes array is in the configuration pool.
    unsafe {
        if confs.is_null() {
            return false;
        }
        let Some(rlcf) = (*confs.add(index)).cast::<RewriteLocConf>().as_ref() else { return false };
        let Some(codes) = rlcf.codes.as_ref() else { return false };
        if codes.elts.is_null() {
            return false;
        }
        let words = codes.nelts * codes.size / std::mem::size_of::<usize>();
        let code = std::slice::from_raw_parts(codes.elts.cast::<usize>(), words);
        let return_code = ngx::ffi::ngx_http_script_return_code as *const () as usize;
        code.windows(2).any(|w| w[0] == return_code && (200..300).contains(&w[1]))
    }
}
