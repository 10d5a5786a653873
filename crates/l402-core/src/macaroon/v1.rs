//! libmacaroons V1 layout (libmacaroons `v1.c`), accepted on input only.
//!
//! A V1 macaroon is a run of packets, each `LLLL key value\n` where `LLLL` is
//! four hex digits giving the whole packet's length. Keys, in order:
//! `location`, `identifier`, then per caveat `cid` [`vid`] [`cl`], then
//! `signature` (32 raw bytes). libmacaroons sends the packets base64-encoded;
//! go-macaroon's binary form is the raw packets.

use super::{Caveat, DecodeError, Macaroon};
use crate::limits::{MAX_CAVEATS, MAX_FIELD_BYTES};

const PREFIX_LEN: usize = 4;

/// A packet's key and value.
type Packet<'a> = (&'a [u8], &'a [u8]);

/// Splits one packet off `rest`: returns it and the remaining bytes.
fn next_packet(rest: &[u8]) -> Result<(Packet<'_>, &[u8]), DecodeError> {
    let (prefix, _) = rest
        .split_at_checked(PREFIX_LEN)
        .ok_or(DecodeError::Truncated)?;
    let mut packet_len = 0usize;
    for &digit in prefix {
        let value = char::from(digit)
            .to_digit(16)
            .ok_or(DecodeError::BadPacket)?;
        packet_len = packet_len * 16 + value as usize;
    }
    let (packet, tail) = rest
        .split_at_checked(packet_len)
        .ok_or(DecodeError::Truncated)?;
    let body = packet.get(PREFIX_LEN..).ok_or(DecodeError::BadPacket)?;
    let body = body.strip_suffix(b"\n").ok_or(DecodeError::BadPacket)?;
    let space = body
        .iter()
        .position(|&c| c == b' ')
        .ok_or(DecodeError::BadPacket)?;
    let (key, value) = body.split_at(space);
    let value = value.get(1..).ok_or(DecodeError::BadPacket)?;
    if value.len() > MAX_FIELD_BYTES {
        return Err(DecodeError::FieldTooLarge);
    }
    Ok(((key, value), tail))
}

/// Decodes raw V1 packets; the caller has capped the input size.
pub(super) fn decode_packets(bytes: &[u8]) -> Result<Macaroon, DecodeError> {
    let mut packets = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        // Bounded: location + identifier + 3 per caveat + signature.
        if packets.len() > 3 * MAX_CAVEATS + 3 {
            return Err(DecodeError::TooManyCaveats);
        }
        let (packet, tail) = next_packet(rest)?;
        packets.push(packet);
        rest = tail;
    }
    let mut packets = packets.into_iter().peekable();

    let location = match packets.peek() {
        Some((b"location", value)) => {
            let value = value.to_vec();
            packets.next();
            Some(value)
        }
        _ => None,
    };
    let identifier = match packets.next() {
        Some((b"identifier", value)) => value.to_vec(),
        _ => return Err(DecodeError::MissingIdentifier),
    };
    let mut caveats: Vec<Caveat> = Vec::new();
    loop {
        match packets.next() {
            Some((b"cid", value)) => {
                if caveats.len() >= MAX_CAVEATS {
                    return Err(DecodeError::TooManyCaveats);
                }
                caveats.push(Caveat {
                    location: None,
                    id: value.to_vec(),
                    verification_id: None,
                });
            }
            Some((b"vid", value)) => {
                let caveat = caveats.last_mut().ok_or(DecodeError::UnexpectedField)?;
                if caveat.verification_id.is_some() || caveat.location.is_some() {
                    return Err(DecodeError::UnexpectedField);
                }
                caveat.verification_id = Some(value.to_vec());
            }
            Some((b"cl", value)) => {
                let caveat = caveats.last_mut().ok_or(DecodeError::UnexpectedField)?;
                if caveat.location.is_some() {
                    return Err(DecodeError::UnexpectedField);
                }
                caveat.location = Some(value.to_vec());
            }
            Some((b"signature", value)) => {
                let signature = value.try_into().map_err(|_| DecodeError::BadSignature)?;
                if packets.next().is_some() {
                    return Err(DecodeError::TrailingBytes);
                }
                return Ok(Macaroon {
                    location,
                    identifier,
                    caveats,
                    signature,
                });
            }
            Some(_) => return Err(DecodeError::UnexpectedField),
            None => return Err(DecodeError::BadSignature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(key: &str, value: &[u8]) -> Vec<u8> {
        let len = PREFIX_LEN + key.len() + 1 + value.len() + 1;
        let mut out = format!("{len:04x}{key} ").into_bytes();
        out.extend_from_slice(value);
        out.push(b'\n');
        out
    }

    #[test]
    fn decodes_packets() {
        let sig = [9u8; 32];
        let bytes = [
            packet("location", b"http://mybank/"),
            packet("identifier", b"we used our secret key"),
            packet("cid", b"account = 3735928559"),
            packet("cid", b"third party"),
            packet("vid", b"\x00 \n"),
            packet("cl", b"http://auth/"),
            packet("signature", &sig),
        ]
        .concat();
        let mac = decode_packets(&bytes).unwrap();
        assert_eq!(mac.location.as_deref(), Some(&b"http://mybank/"[..]));
        assert_eq!(mac.identifier, b"we used our secret key");
        assert_eq!(mac.caveats.len(), 2);
        assert_eq!(
            mac.caveats[1].verification_id.as_deref(),
            Some(&b"\x00 \n"[..])
        );
        assert_eq!(
            mac.caveats[1].location.as_deref(),
            Some(&b"http://auth/"[..])
        );
        assert_eq!(mac.signature, sig);
    }

    #[test]
    fn rejects_bad_packets() {
        let sig = [9u8; 32];
        let id = packet("identifier", b"id");
        let good_sig = packet("signature", &sig);
        assert!(decode_packets(&[id.clone(), good_sig.clone()].concat()).is_ok());
        let trailing = [id.clone(), good_sig.clone(), packet("cid", b"x")].concat();
        assert_eq!(decode_packets(&trailing), Err(DecodeError::TrailingBytes));
        let short = [id.clone(), packet("signature", &sig[..31])].concat();
        assert_eq!(decode_packets(&short), Err(DecodeError::BadSignature));
        let orphan_vid = [id.clone(), packet("vid", b"v"), good_sig.clone()].concat();
        assert_eq!(
            decode_packets(&orphan_vid),
            Err(DecodeError::UnexpectedField)
        );
        assert_eq!(decode_packets(&id), Err(DecodeError::BadSignature));
        assert_eq!(decode_packets(b"0003"), Err(DecodeError::BadPacket));
        assert_eq!(decode_packets(b"00zz"), Err(DecodeError::BadPacket));
        assert_eq!(decode_packets(b"0fff"), Err(DecodeError::Truncated));
        assert_eq!(decode_packets(b"0007ab\nx"), Err(DecodeError::BadPacket));
    }
}
