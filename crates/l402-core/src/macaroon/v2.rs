//! libmacaroons V2 binary layout (libmacaroons `doc/format.txt`, "Binary Format"):
//! `0x02 [LOC(1)] ID(2) EOS(0) ( [LOC] ID [VID(4)] EOS )* EOS SIG(6)`,
//! each field = varint type, varint length, bytes; nothing after the signature.

use super::{Caveat, DecodeError, Macaroon};
use crate::limits::{MAX_CAVEATS, MAX_FIELD_BYTES, MAX_MACAROON_BYTES};

/// The version byte that starts a V2 binary macaroon.
pub(super) const VERSION: u8 = 0x02;
const EOS: u64 = 0;
const LOCATION: u64 = 1;
const IDENTIFIER: u64 = 2;
const VERIFICATION_ID: u64 = 4;
const SIGNATURE: u64 = 6;

/// Serializes `mac` in the V2 binary layout.
pub(super) fn encode(mac: &Macaroon) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len_hint(mac));
    out.push(VERSION);
    if let Some(location) = &mac.location {
        put_field(&mut out, LOCATION, location);
    }
    put_field(&mut out, IDENTIFIER, &mac.identifier);
    put_varint(&mut out, EOS);
    for caveat in &mac.caveats {
        if let Some(location) = &caveat.location {
            put_field(&mut out, LOCATION, location);
        }
        put_field(&mut out, IDENTIFIER, &caveat.id);
        if let Some(vid) = &caveat.verification_id {
            put_field(&mut out, VERIFICATION_ID, vid);
        }
        put_varint(&mut out, EOS);
    }
    put_varint(&mut out, EOS);
    put_field(&mut out, SIGNATURE, &mac.signature);
    out
}

fn encoded_len_hint(mac: &Macaroon) -> usize {
    let caveat_bytes: usize = mac
        .caveats
        .iter()
        .map(|c| c.id.len() + c.location.as_ref().map_or(0, Vec::len) + 8)
        .sum();
    mac.identifier.len() + mac.location.as_ref().map_or(0, Vec::len) + caveat_bytes + 48
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_field(out: &mut Vec<u8>, field_type: u64, value: &[u8]) {
    put_varint(out, field_type);
    put_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// A cursor over untrusted bytes; every read is bounds-checked.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self
            .rest
            .split_at_checked(len)
            .ok_or(DecodeError::Truncated)?;
        self.rest = tail;
        Ok(head)
    }

    /// Unsigned LEB128, as Go's `binary.Uvarint`.
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first().ok_or(DecodeError::Truncated)?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::BadVarint);
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint)
    }

    /// A field's value; its declared length is checked against `max` before use.
    fn value(&mut self, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::FieldTooLarge)?;
        if len > max {
            return Err(DecodeError::FieldTooLarge);
        }
        self.take(len)
    }
}

/// The fields of one section (the macaroon header or one caveat).
#[derive(Default)]
struct Section<'a> {
    location: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    verification_id: Option<&'a [u8]>,
}

/// Reads fields up to and including the section's EOS; types must increase.
fn read_section<'a>(reader: &mut Reader<'a>, is_caveat: bool) -> Result<Section<'a>, DecodeError> {
    let mut section = Section::default();
    let mut previous_type = EOS;
    loop {
        let field_type = reader.varint()?;
        if field_type == EOS {
            return Ok(section);
        }
        if field_type <= previous_type {
            return Err(DecodeError::UnexpectedField);
        }
        previous_type = field_type;
        let slot = match field_type {
            LOCATION => &mut section.location,
            IDENTIFIER => &mut section.id,
            VERIFICATION_ID if is_caveat => &mut section.verification_id,
            _ => return Err(DecodeError::UnexpectedField),
        };
        *slot = Some(reader.value(MAX_FIELD_BYTES)?);
    }
}

/// Decodes a V2 binary macaroon, rejecting trailing bytes after the signature.
pub(super) fn decode(bytes: &[u8]) -> Result<Macaroon, DecodeError> {
    if bytes.len() > MAX_MACAROON_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let mut reader = Reader { rest: bytes };
    if reader.take(1)? != [VERSION] {
        return Err(DecodeError::UnknownFormat);
    }
    let header = read_section(&mut reader, false)?;
    let identifier = header.id.ok_or(DecodeError::MissingIdentifier)?;
    let mut caveats = Vec::new();
    loop {
        match reader.peek() {
            None => return Err(DecodeError::Truncated),
            Some(0) => {
                reader.take(1)?;
                break;
            }
            Some(_) => {}
        }
        if caveats.len() >= MAX_CAVEATS {
            return Err(DecodeError::TooManyCaveats);
        }
        let section = read_section(&mut reader, true)?;
        caveats.push(Caveat {
            location: section.location.map(<[u8]>::to_vec),
            id: section.id.ok_or(DecodeError::MissingCaveatId)?.to_vec(),
            verification_id: section.verification_id.map(<[u8]>::to_vec),
        });
    }
    if reader.varint()? != SIGNATURE {
        return Err(DecodeError::BadSignature);
    }
    let signature: [u8; 32] = reader
        .value(32)?
        .try_into()
        .map_err(|_| DecodeError::BadSignature)?;
    if !reader.rest.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(Macaroon {
        location: header.location.map(<[u8]>::to_vec),
        identifier: identifier.to_vec(),
        caveats,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint_of(bytes: &[u8]) -> Result<u64, DecodeError> {
        Reader { rest: bytes }.varint()
    }

    #[test]
    fn varints() {
        assert_eq!(varint_of(&[0x00]), Ok(0));
        assert_eq!(varint_of(&[0x7f]), Ok(127));
        assert_eq!(varint_of(&[0x80, 0x01]), Ok(128));
        assert_eq!(varint_of(&[0x80]), Err(DecodeError::Truncated));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(varint_of(&max), Ok(u64::MAX));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(varint_of(&over), Err(DecodeError::BadVarint));
        assert_eq!(varint_of(&[0xff; 11]), Err(DecodeError::BadVarint));
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn rejects_malformed_layouts() {
        let sig = [0u8; 32];
        let mut good = vec![0x02, 0x02, 0x01, b'i', 0x00, 0x00, 0x06, 0x20];
        good.extend_from_slice(&sig);
        assert!(decode(&good).is_ok());

        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(DecodeError::TrailingBytes));

        let mut no_id = vec![0x02, 0x01, 0x01, b'l', 0x00, 0x00, 0x06, 0x20];
        no_id.extend_from_slice(&sig);
        assert_eq!(decode(&no_id), Err(DecodeError::MissingIdentifier));

        let mut out_of_order = vec![
            0x02, 0x02, 0x01, b'i', 0x01, 0x01, b'l', 0x00, 0x00, 0x06, 0x20,
        ];
        out_of_order.extend_from_slice(&sig);
        assert_eq!(decode(&out_of_order), Err(DecodeError::UnexpectedField));

        let mut vid_in_header = vec![
            0x02, 0x02, 0x01, b'i', 0x04, 0x01, b'v', 0x00, 0x00, 0x06, 0x20,
        ];
        vid_in_header.extend_from_slice(&sig);
        assert_eq!(decode(&vid_in_header), Err(DecodeError::UnexpectedField));

        let mut short_sig = vec![0x02, 0x02, 0x01, b'i', 0x00, 0x00, 0x06, 0x1f];
        short_sig.extend_from_slice(&sig[..31]);
        assert_eq!(decode(&short_sig), Err(DecodeError::BadSignature));

        let mut long_sig = vec![0x02, 0x02, 0x01, b'i', 0x00, 0x00, 0x06, 0x21];
        long_sig.extend_from_slice(&[0; 33]);
        assert_eq!(decode(&long_sig), Err(DecodeError::FieldTooLarge));

        let huge_field = [0x02, 0x02, 0xff, 0xff, 0x03];
        assert_eq!(decode(&huge_field), Err(DecodeError::FieldTooLarge));

        assert_eq!(decode(&[0x02]), Err(DecodeError::Truncated));
        assert_eq!(
            decode(&vec![0x02; MAX_MACAROON_BYTES + 1]),
            Err(DecodeError::TooLarge)
        );
    }

    #[test]
    fn caps_caveat_count() {
        let mut mac = Macaroon {
            location: None,
            identifier: b"i".to_vec(),
            caveats: Vec::new(),
            signature: [7; 32],
        };
        for _ in 0..MAX_CAVEATS {
            mac.caveats.push(Caveat {
                location: None,
                id: b"c".to_vec(),
                verification_id: None,
            });
        }
        assert_eq!(decode(&encode(&mac)).as_ref(), Ok(&mac));
        mac.caveats.push(Caveat {
            location: None,
            id: b"c".to_vec(),
            verification_id: None,
        });
        assert_eq!(decode(&encode(&mac)), Err(DecodeError::TooManyCaveats));
    }
}
