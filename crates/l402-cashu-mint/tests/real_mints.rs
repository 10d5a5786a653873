//! Against both real mints (Nutshell FakeWallet, cdk-mintd fakewallet): info and NUT support,
//! keys loaded and verified (every id derived from its keys, NUT-02), DLEQ of a real token
//! against them, checkstate (NUT-07) of a real token's Ys before and after a wallet spends it,
//! the cache's background load, and the timings of each call.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::peers::{available, cdk_exe, nutshell_exe, Kind, Mint, Wallet};
use l402_cashu::{parse_token, proof_y, KeysetId};
use l402_cashu_mint::{Keys, KeysCache, MintError, Refresh, State};

fn exe(kind: Kind) -> std::path::PathBuf {
    match kind {
        Kind::Nutshell => nutshell_exe(),
        Kind::Cdk => cdk_exe(),
    }
}

async fn against(kind: Kind) {
    // The wallet (and so tokens) needs Nutshell's venv for both mints.
    if !available(&exe(kind)) || !available(&nutshell_exe()) {
        return;
    }
    let mint = tokio::task::spawn_blocking(move || Mint::start(kind)).await.unwrap();
    let client = mint.client(Duration::from_secs(10));

    let t = Instant::now();
    let info = client.info().await.unwrap();
    let info_rt = t.elapsed();
    assert!(info.check_p2pk().is_ok(), "{kind:?}: {info:?}");
    for nut in [4, 5, 7, 10, 11, 12] {
        assert!(info.supports(nut), "{kind:?} NUT-{nut}: {info:?}");
    }
    assert!(info.version.is_some(), "{kind:?}");

    let t = Instant::now();
    let keys = client.load_keys().await.unwrap();
    let load = t.elapsed();
    assert!(keys.keysets().all(|k| k.unit == "sat" && !k.keys.is_empty()));
    assert!(keys.keysets().any(|k| k.active), "{kind:?}: an active keyset");
    let listed = client.keysets().await.unwrap();
    assert!(listed.iter().filter(|k| k.unit == "sat").all(|k| keys.resolve(&k.id).is_ok()));

    // A real token: its keysets resolve (short ids included) and its DLEQs verify.
    let url = mint.url.clone();
    let (wallet, token_text) = tokio::task::spawn_blocking(move || {
        let w = Wallet::new();
        let t = w.send(&url, 21);
        (w, t)
    })
    .await
    .unwrap();
    let token = parse_token(&token_text).unwrap();
    assert_eq!(token.amount(), 21);
    for p in &token.proofs {
        let ks = keys.resolve(&p.keyset_id).unwrap();
        let a = ks.keys[&p.amount];
        let d = p.dleq.expect("the wallet includes DLEQ");
        assert!(l402_cashu::dleq::verify_proof(&p.secret, &p.c, &d, &a).is_ok(), "{kind:?}: DLEQ");
    }

    let ys: Vec<[u8; 33]> = token.proofs.iter().map(|p| proof_y(&p.secret).unwrap()).collect();
    let t = Instant::now();
    let states = client.check_state(&ys).await.unwrap();
    let check_rt = t.elapsed();
    assert!(states.iter().all(|s| s.state == State::Unspent), "{kind:?}: {states:?}");
    assert_eq!(states.iter().map(|s| s.y).collect::<Vec<_>>(), ys);
    // The real token in the proof store, read back whole.
    let dir = tempfile::tempdir().unwrap();
    let mut store = l402_cashu_store::ProofStore::new(dir.path().join("proofs.db"));
    let db = store.open().unwrap();
    assert_eq!(db.store_token(&token, &ys, Some("tenant@pay.example")).unwrap().inserted, ys.len());
    let group = &db.unspent_by_tenant().unwrap()[0];
    assert_eq!((group.mint.as_str(), group.amount()), (mint.url.as_str(), 21));
    assert_eq!(group.proofs.iter().map(|p| p.proof().clone()).collect::<Vec<_>>().len(), token.proofs.len());

    // Another wallet receives it: the mint spends the proofs.
    let tt = token_text.clone();
    let received = tokio::task::spawn_blocking(move || Wallet::new().receive(&tt)).await.unwrap().unwrap();
    assert_eq!(received, 21);
    let states = client.check_state(&ys).await.unwrap();
    assert!(states.iter().all(|s| s.state == State::Spent), "{kind:?}: {states:?}");
    // Spending again: refused with NUT-00 code 11001 (checked by the wallet's own answer).
    let again = tokio::task::spawn_blocking(move || wallet.receive(&token_text)).await.unwrap();
    assert!(again.unwrap_err().contains("11001"), "{kind:?}");

    // An unknown keyset: a refusal with the mint's NUT error code, not a broken reply.
    match client.keys(&KeysetId::Full([0x01; 33])).await {
        Err(e @ MintError::Refused { .. }) => assert!(!e.retry_later(), "{e}"),
        other => panic!("{kind:?}: unknown keyset gave {other:?}"),
    }

    // The cache: not loaded until its task runs, then ready without I/O on the read.
    let cache = KeysCache::new(vec![client.clone()]);
    assert!(matches!(cache.get(client.url()), Keys::NotLoaded(None)));
    assert!(matches!(cache.get("https://other.example"), Keys::UnknownMint));
    let _refresher = cache.spawn(&tokio::runtime::Handle::current(), Refresh::default());
    let deadline = Instant::now() + Duration::from_secs(10);
    let snapshot = loop {
        if let Keys::Ready(s) = cache.get(client.url()) {
            break s;
        }
        assert!(Instant::now() < deadline, "{kind:?}: the cache never loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(snapshot.keys, keys);
    let t = Instant::now();
    for _ in 0..10_000 {
        assert!(matches!(cache.get(client.url()), Keys::Ready(_)));
    }
    let read = t.elapsed() / 10_000;

    // Pooled round trip (info, connection reused).
    let t = Instant::now();
    for _ in 0..20 {
        client.info().await.unwrap();
    }
    let pooled = t.elapsed() / 20;
    eprintln!(
        "TIMING {kind:?}: info first {info_rt:?}, info pooled {pooled:?}; load_keys ({} keysets) {load:?}; \
         checkstate ({} Ys) {check_rt:?}; cache read {read:?}",
        keys.keysets().count(),
        ys.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nutshell_fakewallet() {
    against(Kind::Nutshell).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdk_mintd_fakewallet() {
    against(Kind::Cdk).await;
}
