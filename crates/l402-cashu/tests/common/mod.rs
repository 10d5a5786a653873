//! A test mint built from the `cashu` crate's mint-side crypto (code we did not write): keys,
//! blind signatures with DLEQ (NUT-12), proofs unblinded by its wallet side, tokens it encodes.
#![allow(dead_code)]

use std::collections::BTreeMap;

use cashu::dhke::{blind_message, construct_proofs, sign_message};
use cashu::nuts::nut00::{BlindSignature, CurrencyUnit, Proof as CProof};
use cashu::nuts::nut01::{Keys, PublicKey as CPublicKey, SecretKey as CSecretKey};
use cashu::nuts::nut02::Id;
use cashu::secret::Secret;
use cashu::{Amount, MintUrl};

pub const MINT: &str = "https://mint.example.com";
pub const NOW: u64 = 1_750_000_000;

pub struct TestMint {
    pub secrets: BTreeMap<u64, CSecretKey>,
    pub keys: Keys,
    pub id: Id,
    pub input_fee_ppk: u64,
}

impl TestMint {
    /// Amounts 1..=2^10; a V1 id when `v2` is false, else a V2 id (NUT-02) from cashu's code.
    pub fn new(v2: bool, input_fee_ppk: u64) -> TestMint {
        let mut secrets = BTreeMap::new();
        let mut map = BTreeMap::new();
        for i in 0..=10u32 {
            let sk = CSecretKey::generate();
            map.insert(Amount::from(1u64 << i), sk.public_key());
            secrets.insert(1u64 << i, sk);
        }
        let keys = Keys::new(map);
        let id = if v2 {
            Id::v2_from_data(&keys, &CurrencyUnit::Sat, input_fee_ppk, None)
        } else {
            Id::v1_from_keys(&keys)
        };
        TestMint { secrets, keys, id, input_fee_ppk }
    }

    pub fn keysets_json(&self) -> String {
        format!(
            r#"{{"keysets":[{{"id":"{}","unit":"sat","active":true,"input_fee_ppk":{},"final_expiry":null}}]}}"#,
            self.id, self.input_fee_ppk
        )
    }

    pub fn keys_json(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(|(a, k)| format!(r#""{}":"{}""#, u64::from(*a), k.to_hex())).collect();
        format!(r#"{{"keysets":[{{"id":"{}","unit":"sat","keys":{{{}}}}}]}}"#, self.id, keys.join(","))
    }

    pub fn mint_keys(&self) -> l402_cashu::MintKeys {
        let info = l402_cashu::parse_keysets(&self.keysets_json()).unwrap().remove(0);
        let keys = l402_cashu::parse_keys(&self.keys_json()).unwrap().remove(0);
        let mut mk = l402_cashu::MintKeys::new(MINT).unwrap();
        mk.insert(&info, keys).unwrap();
        mk
    }

    /// A proof of `amount` on `secret`, signed blindly with a DLEQ and unblinded by cashu.
    pub fn proof(&self, amount: u64, secret: &str) -> CProof {
        let secret = Secret::new(secret.to_string());
        let (b_, r) = blind_message(secret.as_bytes(), None).unwrap();
        let k = &self.secrets[&amount];
        let c_ = sign_message(k, &b_).unwrap();
        let sig = BlindSignature::new(Amount::from(amount), c_, self.id, &b_, k).unwrap();
        construct_proofs(vec![sig], vec![r], vec![secret], &self.keys).unwrap().remove(0)
    }

    pub fn token_v4(&self, proofs: Vec<CProof>) -> String {
        cashu::nuts::nut00::token::Token::new(MINT.parse::<MintUrl>().unwrap(), proofs, None, CurrencyUnit::Sat).to_string()
    }

    pub fn token_v3(&self, proofs: Vec<CProof>) -> String {
        cashu::nuts::nut00::token::TokenV3::new(MINT.parse::<MintUrl>().unwrap(), proofs, Some("memo".into()), Some(CurrencyUnit::Sat))
            .unwrap()
            .to_string()
    }
}

/// Our key pair for P2PK (cashu's types, our public key from its bytes).
pub fn our_key() -> (CSecretKey, l402_cashu::PublicKey) {
    let sk = CSecretKey::generate();
    let pk = l402_cashu::PublicKey::from_slice(&sk.public_key().to_bytes()).unwrap();
    (sk, pk)
}

pub fn to_cashu_pk(pk: &l402_cashu::PublicKey) -> CPublicKey {
    CPublicKey::from_slice(&pk.serialize()).unwrap()
}

/// A NUT-11 secret as cashu writes it, locked to `pk`.
pub fn cashu_p2pk_secret(pk: &l402_cashu::PublicKey, locktime: Option<u64>) -> String {
    use cashu::nuts::nut10::{Conditions, SpendingConditions};
    let conditions = locktime.map(|l| Conditions { locktime: Some(l), ..Conditions::default() });
    let sc = SpendingConditions::new_p2pk(to_cashu_pk(pk), conditions);
    let s: Secret = sc.try_into().unwrap();
    s.to_string()
}

/// A NUT-11 secret written by hand.
pub fn p2pk_secret(data_hex: &str, tags: &str) -> String {
    format!(r#"["P2PK",{{"nonce":"5d11913ee0f92fefdc82a6764fd2457a","data":"{data_hex}","tags":{tags}}}]"#)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
