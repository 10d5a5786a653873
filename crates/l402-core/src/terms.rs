//! What a token was sold for, bound into its identifier's token id.
//!
//! The L402 protocol specification ("Macaroon identifier": version, payment hash, token id)
//! leaves the 32-byte token id to the minting server. This server spends it
//! on `magic[4] || nonce[12] || paid_msat[8, big-endian] || valid_until[8, big-endian, 0 =
//! never]`. The identifier is what the macaroon's HMAC chain starts from and the per-token root
//! key is derived from the token id ([`crate::keys`]), so no client can change these bytes
//! without breaking the signature. Caveats, by contrast, can be *added* by any holder
//! (macaroon attenuation, L402 "Caveats"): a client-added `<service>_valid_until` may shorten what a token accepts,
//! but it must never decide how long the server remembers a claim, and nothing a client adds
//! may raise the price a token covers. Both facts therefore come from here, never from caveats.
//!
//! 96 random bits of nonce keep token ids distinct (claims are keyed by token id, and each
//! token also has its own payment hash). Tokens whose id does not start with [`MAGIC`] were
//! not minted by this scheme (an Aperture test vector, or a token of an older build) and have
//! no [`Terms`].

/// First bytes of a token id that carries [`Terms`] ("l402 terms", layout 1).
pub const MAGIC: [u8; 4] = *b"l4t1";

/// Random bytes in a token id.
pub const NONCE_LEN: usize = 12;

/// What the server sold: the amount the invoice asked for and how long the token is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Terms {
    /// Millisatoshis the token's invoice asked for; the token opens requests priced at most
    /// this much.
    pub paid_msat: u64,
    /// Unix seconds until which the server minted the token valid (exclusive); `None` =
    /// never expires.
    pub valid_until: Option<u64>,
}

impl Terms {
    /// The token id carrying these terms after a fresh random `nonce`.
    pub fn token_id(&self, nonce: [u8; NONCE_LEN]) -> [u8; 32] {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&MAGIC);
        id[4..16].copy_from_slice(&nonce);
        id[16..24].copy_from_slice(&self.paid_msat.to_be_bytes());
        id[24..].copy_from_slice(&self.valid_until.unwrap_or(0).to_be_bytes());
        id
    }

    /// The terms a token id carries, if it was minted with them.
    pub fn from_token_id(id: &[u8; 32]) -> Option<Terms> {
        if id[..4] != MAGIC {
            return None;
        }
        let word = |from: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&id[from..from + 8]);
            u64::from_be_bytes(b)
        };
        let valid_until = match word(24) {
            0 => None,
            t => Some(t),
        };
        Some(Terms { paid_msat: word(16), valid_until })
    }

    /// Whether the token covers a request priced `price_msat`.
    pub fn covers(&self, price_msat: u64) -> bool {
        price_msat <= self.paid_msat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_and_layout() {
        let t = Terms { paid_msat: 1000, valid_until: Some(1_700_000_000) };
        let id = t.token_id([7; NONCE_LEN]);
        assert_eq!(&id[..4], b"l4t1");
        assert_eq!(&id[4..16], &[7; 12]);
        assert_eq!(Terms::from_token_id(&id), Some(t));
        let never = Terms { paid_msat: 5, valid_until: None };
        assert_eq!(Terms::from_token_id(&never.token_id([0; 12])), Some(never));
    }

    #[test]
    fn foreign_token_ids_have_no_terms() {
        assert_eq!(Terms::from_token_id(&[0xab; 32]), None);
        let mut id = Terms { paid_msat: 1, valid_until: None }.token_id([1; 12]);
        id[0] ^= 1;
        assert_eq!(Terms::from_token_id(&id), None);
    }

    #[test]
    fn covers_only_prices_up_to_what_was_paid() {
        let t = Terms { paid_msat: 1000, valid_until: None };
        assert!(t.covers(1) && t.covers(1000));
        assert!(!t.covers(1001));
    }

    proptest! {
        #[test]
        fn any_terms_round_trip(paid in any::<u64>(), until in 1u64.., nonce in any::<[u8; 12]>()) {
            let t = Terms { paid_msat: paid, valid_until: Some(until) };
            prop_assert_eq!(Terms::from_token_id(&t.token_id(nonce)), Some(t));
        }
    }
}
