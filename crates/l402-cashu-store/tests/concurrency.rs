//! Several writers on one store file: threads with their own connections, processes (this
//! test binary run again as a child), and a writer killed mid-transaction (SIGKILL) leaving
//! every token whole or absent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::token;
use l402_cashu_store::ProofStore;

/// Set for a child run of this binary: the store path it writes to.
const CHILD_ENV: &str = "L402_CASHU_STORE_CHILD";

/// Runs `test` of this binary in a child process writing to `path` (`mode` says what to do).
fn child(test: &str, path: &Path, mode: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .env("L402_CASHU_STORE_CHILD_MODE", mode)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn total(path: &Path) -> usize {
    let mut store = ProofStore::new(path);
    store.open().unwrap().unspent_by_tenant().unwrap().iter().map(|g| g.proofs.len()).sum()
}

#[test]
fn threads_with_their_own_connections_store_overlapping_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proofs.db");
    let tokens: Arc<Vec<_>> = Arc::new((0..60).map(|_| token(3)).collect());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (tokens, barrier, path) = (Arc::clone(&tokens), Arc::clone(&barrier), path.clone());
            std::thread::spawn(move || {
                let mut store = ProofStore::new(&path);
                let db = store.open().unwrap();
                barrier.wait();
                let mut inserted = 0;
                // Each thread stores every token, in its own order: all race on the same Ys.
                for k in 0..tokens.len() {
                    let (t, ys) = &tokens[(k * (i + 1)) % tokens.len()];
                    inserted += db.store_token(t, ys, None).unwrap().inserted;
                }
                inserted
            })
        })
        .collect();
    let inserted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(inserted, 180, "each proof inserted exactly once across the threads");
    assert_eq!(total(&path), 180);
}

/// The child side of the process tests (ignored when run directly).
#[test]
#[ignore]
fn child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    let mut store = ProofStore::new(path);
    let db = store.open().unwrap();
    match std::env::var("L402_CASHU_STORE_CHILD_MODE").as_deref() {
        // 100 tokens of 5 proofs, then exit.
        Ok("batch") => {
            for _ in 0..100 {
                let (t, ys) = token(5);
                db.store_token(&t, &ys, Some("child@pay.example")).unwrap();
            }
        }
        // Large tokens until killed.
        Ok("forever") => loop {
            let (t, ys) = token(200);
            db.store_token(&t, &ys, None).unwrap();
        },
        other => panic!("unknown child mode {other:?}"),
    }
}

#[test]
fn two_processes_and_this_one_store_at_the_same_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proofs.db");
    let mut children: Vec<Child> = (0..2).map(|_| child("child_writer", &path, "batch")).collect();
    let mut store = ProofStore::new(&path);
    let db = store.open().unwrap();
    for _ in 0..100 {
        let (t, ys) = token(5);
        assert_eq!(db.store_token(&t, &ys, None).unwrap().inserted, 5);
    }
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(total(&path), 3 * 100 * 5);
}

#[test]
fn a_writer_killed_mid_transaction_leaves_no_half_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proofs.db");
    for round in 0..4 {
        let mut c = child("child_writer", &path, "forever");
        // Let it commit a few tokens, then kill it at an arbitrary point.
        let deadline = Instant::now() + Duration::from_secs(20);
        let target = (round + 1) * 200;
        while total(&path) < target {
            assert!(Instant::now() < deadline, "the child stores nothing");
            std::thread::sleep(Duration::from_millis(5 + 7 * round as u64));
        }
        c.kill().unwrap();
        c.wait().unwrap();
        let n = total(&path);
        assert_eq!(n % 200, 0, "round {round}: {n} proofs is not a whole number of 200-proof tokens");
    }
    // And the file still takes writes.
    let mut store = ProofStore::new(&path);
    let (t, ys) = token(2);
    assert_eq!(store.open().unwrap().store_token(&t, &ys, None).unwrap().inserted, 2);
}
