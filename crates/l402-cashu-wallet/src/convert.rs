//! Our proofs (`l402_cashu::Proof`, as the store keeps them) as cdk's, for a melt: short
//! keyset ids (NUT-02, V4 tokens) resolved against the mint's keysets, P2PK-locked secrets
//! (NUT-10/11) signed with our key (SIG_INPUTS: one signature over the secret).

use cdk::nuts::{Id, Proof as CdkProof, PublicKey};
use cdk::secret::Secret;
use cdk::Amount;
use l402_cashu::{KeysetId, Proof};

use crate::error::MeltError;
use crate::key::SigningKey;

/// `known`: the ids of the mint's keysets (ours: one mint).
pub(crate) fn to_cdk(p: &Proof, known: &[Id], key: Option<&SigningKey>) -> Result<CdkProof, MeltError> {
    let keyset_id = resolve(&p.keyset_id, known)?;
    let c = PublicKey::from_slice(&p.c).map_err(|_| MeltError::Local("a stored proof has an invalid C".into()))?;
    let secret: Secret = p.secret.parse().map_err(|_| MeltError::Local("a stored proof has an invalid secret".into()))?;
    let mut proof = CdkProof::new(Amount::from(p.amount), keyset_id, secret, c);
    if let Ok(lock) = l402_cashu::parse_p2pk_secret(&p.secret) {
        let key = key.ok_or_else(|| MeltError::Rejected("a proof is P2PK-locked and no signing key was given".into()))?;
        // Our signature satisfies the lock only if it names our key (x-coordinates compared:
        // NUT-11 keys may come with either parity); the mint's refusal would reach us as a
        // bare "payment failed" (cdk 0.18.3 replaces the melt error when the quote is unpaid).
        let ours = key.public_key();
        let names_us = std::iter::once(&lock.data).chain(lock.pubkeys.iter()).any(|k| k.serialize()[1..] == ours[1..]);
        if !names_us {
            return Err(MeltError::Rejected("a proof is P2PK-locked to another key".into()));
        }
        proof.sign_p2pk(key.cdk()).map_err(|e| MeltError::Local(format!("signing a P2PK proof: {e}")))?;
    }
    Ok(proof)
}

/// A short id (8 bytes: a whole V1 id or a V2 prefix) must match exactly one keyset.
fn resolve(id: &KeysetId, known: &[Id]) -> Result<Id, MeltError> {
    let want = id.as_bytes();
    let mut found = known.iter().filter(|k| {
        let b = k.to_bytes();
        b == want || (want.len() == 8 && b.len() > 8 && b.starts_with(want))
    });
    match (found.next(), found.next()) {
        (Some(k), None) => Ok(*k),
        (None, _) => Err(MeltError::Rejected(format!("keyset {} unknown to the mint", id.to_hex()))),
        (Some(_), Some(_)) => Err(MeltError::Rejected(format!("short keyset id {} is ambiguous", id.to_hex()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_short_and_full_ids() {
        let v1 = Id::from_bytes(&[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        let mut full = [1u8; 33];
        full[0] = 1;
        let v2 = Id::from_bytes(&full).unwrap();
        let known = [v1, v2];
        assert_eq!(resolve(&KeysetId::Short([0, 1, 2, 3, 4, 5, 6, 7]), &known).unwrap(), v1);
        assert_eq!(resolve(&KeysetId::Short([1; 8]), &known).unwrap(), v2);
        assert_eq!(resolve(&KeysetId::Full(full), &known).unwrap(), v2);
        assert!(matches!(resolve(&KeysetId::Short([9; 8]), &known), Err(MeltError::Rejected(_))));
    }
}
