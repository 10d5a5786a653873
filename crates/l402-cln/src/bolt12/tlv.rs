//! TLV streams (BOLT1 "Type-Length-Value Format") as BOLT12 messages use them: `BigSize`
//! type, `BigSize` length, value; types strictly increasing.

/// One TLV record, borrowed from the stream it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record type.
    pub tlv_type: u64,
    /// The value bytes.
    pub value: &'a [u8],
    /// The whole record as encoded (type, length and value): what BOLT12 merkle leaves hash.
    pub raw: &'a [u8],
}

/// Reads a BigSize (BOLT1 "Fundamental Types"), refusing non-minimal encodings.
fn read_bigsize(bytes: &[u8], pos: &mut usize) -> Result<u64, String> {
    let first = *bytes.get(*pos).ok_or("truncated BigSize")?;
    *pos += 1;
    let (len, min) = match first {
        0xfd => (2, 0xfd),
        0xfe => (4, 0x1_0000),
        0xff => (8, 0x1_0000_0000),
        small => return Ok(u64::from(small)),
    };
    let end = pos.checked_add(len).ok_or("truncated BigSize")?;
    let slice = bytes.get(*pos..end).ok_or("truncated BigSize")?;
    *pos = end;
    let value = slice.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if value < min {
        return Err("non-minimal BigSize".to_owned());
    }
    Ok(value)
}

/// Appends a BigSize encoding of `v`.
pub fn write_bigsize(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0xfc => out.push(v as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Appends one record; callers write records in increasing type order.
pub fn write_record(out: &mut Vec<u8>, tlv_type: u64, value: &[u8]) {
    write_bigsize(out, tlv_type);
    write_bigsize(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Parses a whole TLV stream. Types must be strictly increasing and every length must fit.
pub fn parse(bytes: &[u8]) -> Result<Vec<Record<'_>>, String> {
    let mut records = Vec::new();
    let mut pos = 0;
    let mut last: Option<u64> = None;
    while pos < bytes.len() {
        let start = pos;
        let tlv_type = read_bigsize(bytes, &mut pos)?;
        if last.is_some_and(|l| tlv_type <= l) {
            return Err("TLV types not strictly increasing".to_owned());
        }
        last = Some(tlv_type);
        let len = read_bigsize(bytes, &mut pos)?;
        let len = usize::try_from(len).map_err(|_| "TLV length too large".to_owned())?;
        let end = pos.checked_add(len).ok_or("TLV length too large")?;
        let value = bytes.get(pos..end).ok_or("TLV value truncated")?;
        let raw = bytes.get(start..end).ok_or("TLV value truncated")?;
        pos = end;
        records.push(Record {
            tlv_type,
            value,
            raw,
        });
    }
    Ok(records)
}

/// Reads a `tu64` (BOLT1: big-endian, minimal, leading zero bytes omitted).
pub fn read_tu64(value: &[u8]) -> Result<u64, String> {
    if value.len() > 8 {
        return Err("tu64 longer than 8 bytes".to_owned());
    }
    if value.first() == Some(&0) {
        return Err("non-minimal tu64".to_owned());
    }
    Ok(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Encodes a `tu64`: big-endian with leading zero bytes removed.
pub fn tu64(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.get(skip..).unwrap_or_default().to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bigsize_round_trip_and_minimality() {
        for v in [
            0,
            1,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_bigsize(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_bigsize(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
        let mut pos = 0;
        assert!(read_bigsize(&[0xfd, 0x00, 0xfc], &mut pos).is_err());
    }

    #[test]
    fn parse_records_and_order() {
        let mut s = Vec::new();
        write_record(&mut s, 1, &[1, 2]);
        write_record(&mut s, 300, b"xyz");
        let recs = parse(&s).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].tlv_type, 300);
        assert_eq!(recs[1].value, b"xyz");
        assert_eq!(recs[0].raw, &[1, 2, 1, 2]);

        let mut bad = Vec::new();
        write_record(&mut bad, 5, &[]);
        write_record(&mut bad, 5, &[]);
        assert!(parse(&bad).is_err());
        assert!(parse(&[1, 5, 0]).is_err());
    }

    #[test]
    fn tu64_codec() {
        assert_eq!(tu64(0), Vec::<u8>::new());
        assert_eq!(tu64(1000), vec![0x03, 0xe8]);
        assert_eq!(read_tu64(&[0x03, 0xe8]).unwrap(), 1000);
        assert_eq!(read_tu64(&[]).unwrap(), 0);
        assert!(read_tu64(&[0, 1]).is_err());
        assert!(read_tu64(&[1; 9]).is_err());
    }
}
