//! Stateless preimage derivation: what lets any worker pay any fake invoice.
//!
//! For each invoice a random 32-byte payment secret is chosen (BOLT11 `s` field, public in
//! the invoice). Then
//!
//! ```text
//! preimage     = HMAC-SHA256(preimage_secret, "l402-fake-preimage/v1" || payment_secret)
//! payment_hash = SHA256(preimage)                      (BOLT11 `p` field)
//! ```
//!
//! Knowing the invoice alone does not give the preimage; knowing the `preimage_secret`
//! (held only by the server) does.

use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};

/// Domain-separation prefix of the HMAC input; bump the version if the scheme changes.
pub const PREIMAGE_DOMAIN: &[u8] = b"l402-fake-preimage/v1";

/// The preimage of the invoice whose payment secret is `payment_secret`.
pub fn preimage(preimage_secret: &[u8; 32], payment_secret: &[u8; 32]) -> [u8; 32] {
    let mut engine = HmacEngine::<sha256::Hash>::new(preimage_secret);
    engine.input(PREIMAGE_DOMAIN);
    engine.input(payment_secret);
    Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

/// SHA-256 of a preimage: the payment hash (BOLT11 `p` field).
pub fn payment_hash(preimage: &[u8; 32]) -> [u8; 32] {
    sha256::Hash::hash(preimage).to_byte_array()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 test case 2, to show the HMAC used is plain HMAC-SHA256.
    #[test]
    fn hmac_is_rfc4231_hmac_sha256() {
        let mut engine = HmacEngine::<sha256::Hash>::new(b"Jefe");
        engine.input(b"what do ya want for nothing?");
        let mac = Hmac::<sha256::Hash>::from_engine(engine).to_byte_array();
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn derivation_is_deterministic_and_keyed() {
        let a = preimage(&[1; 32], &[2; 32]);
        assert_eq!(a, preimage(&[1; 32], &[2; 32]));
        assert_ne!(a, preimage(&[9; 32], &[2; 32]));
        assert_ne!(a, preimage(&[1; 32], &[3; 32]));
        assert_eq!(
            hex(&payment_hash(&[0; 32])),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }
}
