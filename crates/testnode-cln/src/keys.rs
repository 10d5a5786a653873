//! Randomness and keys of the test node.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Keypair, PublicKey, Secp256k1, SecretKey};

/// 32 random bytes from the OS; if that fails, a hash of a counter, the time and the pid
/// (a test node must not stop because of it).
pub fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    if getrandom::fill(&mut b).is_ok() {
        return b;
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut m = n.to_le_bytes().to_vec();
    m.extend_from_slice(&t.to_le_bytes());
    m.extend_from_slice(&std::process::id().to_le_bytes());
    sha256::Hash::hash(&m).to_byte_array()
}

/// A random secret key (retrying the negligible chance of an invalid scalar).
pub fn random_key() -> SecretKey {
    loop {
        if let Ok(k) = SecretKey::from_slice(&random32()) {
            return k;
        }
    }
}

/// The node's identity: signs BOLT11 (ECDSA) and BOLT12 (BIP-340) invoices.
pub struct NodeKey {
    pub secp: Secp256k1<bitcoin::secp256k1::All>,
    pub secret: SecretKey,
    pub keypair: Keypair,
    pub id: PublicKey,
}

impl NodeKey {
    /// A fresh random node key.
    pub fn generate() -> NodeKey {
        let secp = Secp256k1::new();
        let secret = random_key();
        let keypair = Keypair::from_secret_key(&secp, &secret);
        let id = secret.public_key(&secp);
        NodeKey {
            secp,
            secret,
            keypair,
            id,
        }
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
