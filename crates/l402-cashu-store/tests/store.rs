//! The proof store's operations, one connection: idempotent storing, states moving forward
//! all-or-none, reopening, file mode, nothing secret in `Debug` or errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use common::{token, MINT};
use l402_cashu_store::{check_path, ProofState, ProofStore, Stored, StoreError};

fn fresh() -> (tempfile::TempDir, ProofStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ProofStore::new(dir.path().join("proofs.db"));
    (dir, store)
}

#[test]
fn new_does_no_io_and_open_creates_a_private_wal_file() {
    let (dir, mut store) = fresh();
    assert!(!store.path().exists(), "new touched the file");
    assert!(!store.is_open());
    let (t, ys) = token(3);
    store.open().unwrap().store_token(&t, &ys, None).unwrap();
    assert!(store.is_open());
    for name in ["proofs.db", "proofs.db-wal", "proofs.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[test]
fn a_second_store_of_the_same_ys_changes_nothing() {
    let (_dir, mut store) = fresh();
    let db = store.open().unwrap();
    let (t, ys) = token(5);
    assert_eq!(db.store_token(&t, &ys, Some("alice@pay.example")).unwrap(), Stored { inserted: 5, already: 0 });
    db.mark_pending(&ys[..2], "quote-1").unwrap();
    // Again, even for another tenant: nothing changes, and it is not an error.
    assert_eq!(db.store_token(&t, &ys, Some("bob@pay.example")).unwrap(), Stored { inserted: 0, already: 5 });
    let p = db.proof(&ys[0]).unwrap().unwrap();
    assert_eq!(p.tenant(), Some("alice@pay.example"));
    assert_eq!(p.state(), &ProofState::PendingMelt { quote: "quote-1".into() });
    assert_eq!(p.proof(), &t.proofs[0]);
    // A token overlapping a stored one: only its new proofs are inserted.
    let (mut t2, mut ys2) = token(2);
    t2.proofs.push(t.proofs[4].clone());
    ys2.push(ys[4]);
    assert_eq!(db.store_token(&t2, &ys2, None).unwrap(), Stored { inserted: 2, already: 1 });
}

#[test]
fn ys_must_be_the_tokens_own() {
    let (_dir, mut store) = fresh();
    let db = store.open().unwrap();
    let (t, mut ys) = token(3);
    assert!(matches!(db.store_token(&t, &ys[..2], None), Err(StoreError::Rejected(_))));
    ys.swap(0, 1);
    let e = db.store_token(&t, &ys, None).unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert!(db.unspent_by_tenant().unwrap().is_empty());
    assert!(matches!(db.store_token(&t, &ys, Some(&"x".repeat(600))), Err(StoreError::Rejected(_))));
}

#[test]
fn unspent_proofs_come_grouped_by_tenant_then_mint() {
    let (_dir, mut store) = fresh();
    let db = store.open().unwrap();
    let (a, ya) = token(2);
    let (b, yb) = token(3);
    let (own, yo) = token(1);
    let (mut other_mint, yom) = token(1);
    other_mint.mint = "https://other.example".into();
    db.store_token(&a, &ya, Some("alice@pay.example")).unwrap();
    db.store_token(&b, &yb, Some("bob@pay.example")).unwrap();
    db.store_token(&own, &yo, None).unwrap();
    db.store_token(&other_mint, &yom, Some("alice@pay.example")).unwrap();
    let groups = db.unspent_by_tenant().unwrap();
    let shape: Vec<(Option<&str>, &str, usize, u64)> =
        groups.iter().map(|g| (g.tenant.as_deref(), g.mint.as_str(), g.proofs.len(), g.amount())).collect();
    assert_eq!(
        shape,
        vec![
            (None, MINT, 1, 1),
            (Some("alice@pay.example"), MINT, 2, 3),
            (Some("alice@pay.example"), "https://other.example", 1, 1),
            (Some("bob@pay.example"), MINT, 3, 7),
        ]
    );
    // Pending and redeemed proofs are not unspent.
    db.mark_pending(&yb, "q-bob").unwrap();
    assert_eq!(db.unspent_by_tenant().unwrap().len(), 3);
}

#[test]
fn states_move_forward_all_or_none() {
    let (_dir, mut store) = fresh();
    let db = store.open().unwrap();
    let (t, ys) = token(4);
    db.store_token(&t, &ys, None).unwrap();
    db.mark_pending(&ys[..2], "q1").unwrap();
    db.mark_pending(&ys[..2], "q1").unwrap(); // again: fine
    // One of them is pending under q1: the whole call is refused, the others stay received.
    let e = db.mark_pending(&ys[1..], "q2").unwrap_err();
    assert_eq!(e.kind(), "rejected", "{e}");
    assert_eq!(db.proof(&ys[2]).unwrap().unwrap().state(), &ProofState::Received);
    let pending = db.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].quote.as_str(), pending[0].proofs.len()), ("q1", 2));
    // Redeeming needs a pending melt first.
    assert!(matches!(db.mark_redeemed(&ys[1..3]), Err(StoreError::Rejected(_))));
    assert_eq!(db.proof(&ys[1]).unwrap().unwrap().state(), &ProofState::PendingMelt { quote: "q1".into() });
    db.mark_redeemed(&ys[..2]).unwrap();
    db.mark_redeemed(&ys[..2]).unwrap();
    assert!(db.pending().unwrap().is_empty());
    assert!(matches!(db.mark_pending(&ys[..1], "q3"), Err(StoreError::Rejected(_))));
    assert!(matches!(db.release(&ys[..1]), Err(StoreError::Rejected(_))));
    // A failed melt: pending back to received.
    db.mark_pending(&ys[2..], "q4").unwrap();
    db.release(&ys[2..]).unwrap();
    assert_eq!(db.proof(&ys[3]).unwrap().unwrap().state(), &ProofState::Received);
    assert_eq!(db.unspent_by_tenant().unwrap()[0].proofs.len(), 2);
    // Unknown Y, bad quote ids.
    let (_, unknown) = token(1);
    assert!(matches!(db.mark_pending(&unknown, "q5"), Err(StoreError::Rejected(_))));
    assert!(matches!(db.mark_pending(&ys[2..], ""), Err(StoreError::Rejected(_))));
    assert!(matches!(db.mark_pending(&ys[2..], &"q".repeat(300)), Err(StoreError::Rejected(_))));
}

#[test]
fn reopening_after_close_keeps_everything() {
    let (_dir, mut store) = fresh();
    let (t, ys) = token(6);
    {
        let db = store.open().unwrap();
        db.store_token(&t, &ys, Some("t@pay.example")).unwrap();
        db.mark_pending(&ys[..3], "q").unwrap();
        db.mark_redeemed(&ys[..1]).unwrap();
    }
    store.close();
    assert!(!store.is_open());
    let mut again = ProofStore::new(store.path());
    let db = again.open().unwrap();
    let states: Vec<ProofState> = ys.iter().map(|y| db.proof(y).unwrap().unwrap().state().clone()).collect();
    let q = ProofState::PendingMelt { quote: "q".into() };
    assert_eq!(states[..3], [ProofState::Redeemed, q.clone(), q]);
    assert_eq!(db.unspent_by_tenant().unwrap()[0].proofs.len(), 3);
    for (p, y) in t.proofs.iter().zip(&ys) {
        assert_eq!(db.proof(y).unwrap().unwrap().proof(), p, "every field read back as stored");
    }
}

#[test]
fn nothing_secret_in_debug_or_errors() {
    let (_dir, mut store) = fresh();
    let db = store.open().unwrap();
    let (t, ys) = token(2);
    db.store_token(&t, &ys, None).unwrap();
    let shown = format!("{:?} {:?}", db.unspent_by_tenant().unwrap(), db.pending().unwrap());
    let secret = &t.proofs[0].secret;
    assert!(!shown.contains(secret.as_str()), "{shown}");
    assert!(!shown.contains("0202020202"), "C shown: {shown}");
    assert!(!shown.contains("signatures"), "witness shown: {shown}");
    let e = db.store_token(&t, &ys[..1], None).unwrap_err();
    assert!(!format!("{e} {e:?}").contains(secret.as_str()));
}

#[test]
fn check_path_refuses_what_cannot_hold_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("proofs.db");
    check_path(&ok).unwrap();
    assert!(!ok.exists(), "check_path created the store");
    let missing = dir.path().join("no/such/dir/proofs.db");
    assert_eq!(check_path(&missing).unwrap_err().kind(), "unusable");
    let file = dir.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(check_path(&file.join("proofs.db")).unwrap_err().kind(), "unusable");
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(check_path(&sub).unwrap_err().kind(), "unusable", "a directory is not a file");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&ok, &link).unwrap();
    assert_eq!(check_path(&link).unwrap_err().kind(), "unusable");
    assert_eq!(ProofStore::new(&link).open().unwrap_err().kind(), "unusable");
    // Not a database: opening says so (unusable, not transient).
    std::fs::write(&ok, vec![b'z'; 8192]).unwrap();
    check_path(&ok).unwrap();
    let e = ProofStore::new(&ok).open().unwrap_err();
    assert_eq!(e.kind(), "unusable", "{e}");
    // A wider mode is taken back to 0600 on open.
    let wide = dir.path().join("wide.db");
    std::fs::write(&wide, b"").unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
    ProofStore::new(&wide).open().unwrap();
    assert_eq!(std::fs::metadata(&wide).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_newer_schema_is_refused() {
    let (_dir, mut store) = fresh();
    store.open().unwrap();
    store.close();
    bump_user_version(store.path());
    let e = ProofStore::new(store.path()).open().unwrap_err();
    assert_eq!(e.kind(), "unusable", "{e}");
    assert!(e.to_string().contains("newer"), "{e}");
}

/// Sets user_version to 99 by rewriting the header field (offset 60, big-endian) directly.
fn bump_user_version(path: &std::path::Path) {
    let mut b = std::fs::read(path).unwrap();
    b[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(path, b).unwrap();
}

/// Prints the cost of storing a token (run with --nocapture): synchronous=FULL, so each
/// commit waits for the disk.
#[test]
fn timing_store_insert_per_token() {
    let (_dir, mut store) = fresh();
    let db = store.open().unwrap();
    let tokens: Vec<_> = (0..200).map(|_| token(4)).collect();
    let start = Instant::now();
    for (t, ys) in &tokens {
        db.store_token(t, ys, Some("alice@pay.example")).unwrap();
    }
    let per = start.elapsed() / 200;
    let again = Instant::now();
    for (t, ys) in &tokens {
        db.store_token(t, ys, None).unwrap();
    }
    let dup = again.elapsed() / 200;
    let read = Instant::now();
    let n: usize = db.unspent_by_tenant().unwrap().iter().map(|g| g.proofs.len()).sum();
    eprintln!("store_token (4 proofs): {per:?} per token new, {dup:?} already stored; unspent_by_tenant of {n}: {:?}", read.elapsed());
}
