//! The wallet against real mints (Nutshell with FakeWallet, cdk-mintd with fakewallet), tokens
//! minted by the real Nutshell wallet: standard-mode receive (NUT-03 swap) and its refusals,
//! P2PK (NUT-11) signing, an unreachable mint, and a melt (NUT-05) of stored proofs with its
//! change (NUT-08).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::peers::{available, cdk_exe, free_port, mint_invoice, nutshell_exe, Kind, Mint, Wallet};
use l402_cashu_store::ProofStore;
use l402_cashu_wallet::{plan_melt, MeltError, MeltPlan, MeltSettings, ReceiveError, Redeemer, SigningKey};

const T: Duration = Duration::from_secs(20);

fn exe(kind: Kind) -> std::path::PathBuf {
    match kind {
        Kind::Nutshell => nutshell_exe(),
        Kind::Cdk => cdk_exe(),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn our_key() -> SigningKey {
    SigningKey::from_bytes(&[0x42; 32]).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn redeemer(mint: &str, dir: &std::path::Path) -> Redeemer {
    Redeemer::new(mint, &dir.join("wallet.sqlite"), [7u8; 64]).await.unwrap()
}

fn receive_standard(kind: Kind) {
    if !available(&exe(kind)) || !available(&nutshell_exe()) {
        return;
    }
    let mint = Mint::start(kind);
    let wallet = Wallet::new();
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let r = redeemer(&mint.url, dir.path()).await;
        let token = wallet.send(&mint.url, 21);
        let got = r.receive(&token, None, T).await.unwrap();
        assert_eq!((got.amount, got.fee), (21, 0));
        assert_eq!(r.balance_sat().await.unwrap(), 21);
        // The same token again: the mint says spent (11001).
        assert_eq!(r.receive(&token, None, T).await.unwrap_err(), ReceiveError::Spent);
        // Spent elsewhere first (the Nutshell wallet swaps it), then offered to us.
        let token2 = wallet.send(&mint.url, 8);
        let other = Wallet::new();
        other.receive(&token2).unwrap();
        assert_eq!(r.receive(&token2, None, T).await.unwrap_err(), ReceiveError::Spent);
        // A second wallet on the same database file (another worker): both see one balance.
        let r2 = Redeemer::from_secret(&mint.url, &dir.path().join("wallet.sqlite"), &[9u8; 32]).await.unwrap();
        let token3 = wallet.send(&mint.url, 5);
        assert_eq!(r2.receive(&token3, None, T).await.unwrap().amount, 5);
        assert_eq!(r.balance_sat().await.unwrap(), 26);
        assert_eq!(r2.receive(&token3, None, T).await.unwrap_err(), ReceiveError::Spent);
        assert!(matches!(Redeemer::from_secret(&mint.url, dir.path(), b"short").await, Err(l402_cashu_wallet::OpenError::Secret(_))));
        // Garbage is rejected without a mint call.
        assert!(matches!(r.receive("cashuBnotatoken", None, T).await, Err(ReceiveError::Rejected(_))));
    });
}

#[test]
fn nutshell_receive_standard() {
    receive_standard(Kind::Nutshell);
}

#[test]
fn cdk_receive_standard() {
    receive_standard(Kind::Cdk);
}

fn receive_p2pk(kind: Kind) {
    if !available(&exe(kind)) || !available(&nutshell_exe()) {
        return;
    }
    let mint = Mint::start(kind);
    let wallet = Wallet::new();
    let dir = tempfile::tempdir().unwrap();
    let key = our_key();
    let token = wallet
        .call(&serde_json::json!({"op": "send", "mint": mint.url, "amount": 13, "version": "B", "p2pk_pubkey": hex(&key.public_key())}))
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    rt().block_on(async {
        let r = redeemer(&mint.url, dir.path()).await;
        let without = r.receive(&token, None, T).await.unwrap_err();
        assert!(matches!(without, ReceiveError::Rejected(_)), "{without:?}");
        let wrong = SigningKey::from_bytes(&[0x43; 32]).unwrap();
        let wrong_err = r.receive(&token, Some(&wrong), T).await.unwrap_err();
        assert!(matches!(wrong_err, ReceiveError::Rejected(_)), "{wrong_err:?}");
        let got = r.receive(&token, Some(&key), T).await.unwrap();
        assert_eq!(got.amount, 13);
    });
}

#[test]
fn nutshell_receive_p2pk() {
    receive_p2pk(Kind::Nutshell);
}

#[test]
fn cdk_receive_p2pk() {
    receive_p2pk(Kind::Cdk);
}

#[test]
fn mint_stopped_is_unavailable_quickly() {
    if !available(&nutshell_exe()) {
        return;
    }
    let mint = Mint::start(Kind::Nutshell);
    let wallet = Wallet::new();
    let token = wallet.send(&mint.url, 5);
    let url = mint.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let invoice = mint_invoice(&url, 3);
    rt().block_on(async {
        let r = redeemer(&url, dir.path()).await;
        drop(mint);
        let start = Instant::now();
        let e = r.receive(&token, None, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(e, ReceiveError::Unavailable(_)), "{e:?}");
        assert!(start.elapsed() < Duration::from_secs(6), "{:?}", start.elapsed());
        let q = r.quote_melt(&invoice, 4, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(q, MeltError::Unavailable(_)), "{q:?}");
        // A port where nothing ever listened.
        let dead = format!("http://127.0.0.1:{}", free_port());
        let r2 = Redeemer::new(&dead, &dir.path().join("w2.sqlite"), [8u8; 64]).await.unwrap();
        let start = Instant::now();
        let q = r2.quote_melt(&invoice, 4, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(q, MeltError::Unavailable(_)), "{q:?}");
        assert!(start.elapsed() < Duration::from_secs(6));
    });
}

/// P2PK-mode proofs (locked to our key) stored in the proof store, planned, melted to an
/// invoice of another mint of the same kind (a NUT-04 mint quote's bolt11; the melting mint's
/// fake Lightning backend pays any invoice, but refuses its own already-settled quotes).
fn melt_stored(kind: Kind) {
    if !available(&exe(kind)) || !available(&nutshell_exe()) {
        return;
    }
    let mint = Mint::start(kind);
    let wallet = Wallet::new();
    let dir = tempfile::tempdir().unwrap();
    let key = our_key();
    let mut store = ProofStore::new(dir.path().join("proofs.sqlite"));
    for amount in [100u64, 28] {
        let text = wallet
            .call(&serde_json::json!({"op": "send", "mint": mint.url, "amount": amount, "version": "B", "p2pk_pubkey": hex(&key.public_key())}))
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let token = l402_cashu::parse_token(&text).unwrap();
        let ys: Vec<[u8; 33]> = token.proofs.iter().map(|p| l402_cashu::proof_y(&p.secret).unwrap()).collect();
        store.open().unwrap().store_token(&token, &ys, None).unwrap();
    }
    let groups = store.open().unwrap().unspent_by_tenant().unwrap();
    assert_eq!(groups.len(), 1);
    let stored = &groups[0].proofs;
    let amounts: Vec<u64> = stored.iter().map(|p| p.amount()).collect();
    let MeltPlan::Melt { take, selected_sat, reserve_sat, invoice_sat, deferred } = plan_melt(&amounts, &MeltSettings::default()) else {
        panic!("no melt planned for {amounts:?}");
    };
    assert_eq!((selected_sat, reserve_sat, invoice_sat, deferred), (128, 4, 124, 0));
    let payee = Mint::start(kind);
    let invoice = mint_invoice(&payee.url, invoice_sat);
    rt().block_on(async {
        let r = redeemer(&mint.url, dir.path()).await;
        let quote = r.quote_melt(&invoice, reserve_sat, T).await.unwrap();
        assert_eq!(quote.amount_sat, invoice_sat);
        assert!(!quote.reserve_exceeded, "{quote:?}");
        let ys: Vec<[u8; 33]> = stored[..take].iter().map(|p| *p.y()).collect();
        store.open().unwrap().mark_pending(&ys, &quote.id).unwrap();
        let proofs: Vec<l402_cashu::Proof> = stored[..take].iter().map(|p| p.proof().clone()).collect();
        // Without a key: refused before any mint call. With a wrong key: the mint refuses the
        // NUT-11 witness; nothing is spent.
        let e = r.melt(&quote, &proofs, None, T).await.unwrap_err();
        assert!(matches!(e, MeltError::Rejected(_)), "{e:?}");
        let wrong = SigningKey::from_bytes(&[0x43; 32]).unwrap();
        let e = r.melt(&quote, &proofs, Some(&wrong), T).await.unwrap_err();
        assert!(matches!(e, MeltError::Rejected(_)), "{e:?}");
        // Too little for the quote: refused before the mint is asked to melt; cdk's database
        // keeps none of our proofs afterwards.
        let e = r.melt(&quote, &proofs[..1], Some(&key), T).await.unwrap_err();
        assert_eq!(e, MeltError::InsufficientFunds);
        assert_eq!(r.balance_sat().await.unwrap(), 0);
        // A reserve of ours below the mint's is flagged (Nutshell reserves 2 sat; our cdk-mintd
        // is configured with none).
        let flagged = r.quote_melt(&mint_invoice(&payee.url, 10), 0, T).await.unwrap();
        assert_eq!(flagged.reserve_exceeded, flagged.fee_reserve_sat > 0, "{flagged:?}");
        let melted = r.melt(&quote, &proofs, Some(&key), T).await.unwrap_or_else(|e| panic!("{e:?}; mint log:\n{}", std::fs::read_to_string(mint.dir.path().join("mint.log")).unwrap_or_default()));
        eprintln!("{:?} melted: {melted:?} (quote fee reserve {})", mint.kind, quote.fee_reserve_sat);
        assert_eq!(melted.paid_sat, invoice_sat);
        assert!(melted.fee_sat <= reserve_sat, "{melted:?}");
        assert_eq!(melted.paid_sat + melted.fee_sat + melted.change_sat, selected_sat, "{melted:?}");
        assert_eq!(r.balance_sat().await.unwrap(), melted.change_sat);
        store.open().unwrap().mark_redeemed(&ys).unwrap();
        // Melting the same proofs again: already spent.
        let invoice2 = mint_invoice(&payee.url, invoice_sat);
        let quote2 = r.quote_melt(&invoice2, reserve_sat, T).await.unwrap();
        let again = r.melt(&quote2, &proofs, Some(&key), T).await.unwrap_err();
        assert_eq!(again, MeltError::Spent);
        // A malformed invoice.
        let bad = r.quote_melt("lnbc1notaninvoice", reserve_sat, T).await.unwrap_err();
        assert!(matches!(bad, MeltError::InvoiceRejected(_) | MeltError::Rejected(_)), "{bad:?}");
    });
}

#[test]
fn nutshell_melt_stored_proofs() {
    melt_stored(Kind::Nutshell);
}

#[test]
fn cdk_melt_stored_proofs() {
    melt_stored(Kind::Cdk);
}
