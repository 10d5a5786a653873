//! A small bounded CBOR (RFC 8949) decoder and encoder: just what NUT-00 V4 tokens and NUT-18
//! payment requests need.
//!
//! Decoding never recurses deeper than [`MAX_DEPTH`], never allocates more than the input can
//! hold (every declared length is checked against the bytes left before anything is reserved),
//! and refuses trailing bytes. Tags are skipped (their content is kept), floats and simple
//! values other than booleans and null decode to [`Value::Other`] so unknown fields can be
//! ignored as NUT-00 asks.

/// Nesting deeper than this is refused (a token is 5 levels deep, a payment request 4).
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Unsigned(u64),
    /// A negative integer `-1 - n`, kept as `n`.
    Negative(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    /// Entries in the order they appear; duplicates are the reader's business.
    Map(Vec<(Value, Value)>),
    Bool(bool),
    Null,
    /// A float, `undefined` or another simple value: nothing a Cashu field is.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CborError;

/// Decodes exactly one item filling all of `input`.
pub fn decode(input: &[u8]) -> Result<Value, CborError> {
    let mut r = Reader { input, pos: 0 };
    let v = r.item(0)?;
    if r.pos != input.len() {
        return Err(CborError);
    }
    Ok(v)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

/// What the initial byte's low 5 bits said about the length.
enum Arg {
    Value(u64),
    Indefinite,
}

impl Reader<'_> {
    fn left(&self) -> usize {
        self.input.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.input.get(self.pos).ok_or(CborError)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&[u8], CborError> {
        let n = usize::try_from(n).map_err(|_| CborError)?;
        if n > self.left() {
            return Err(CborError);
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn arg(&mut self, info: u8) -> Result<Arg, CborError> {
        let n = match info {
            0..=23 => return Ok(Arg::Value(u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Ok(Arg::Indefinite),
            _ => return Err(CborError),
        };
        let bytes = self.take(n)?;
        Ok(Arg::Value(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))))
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError);
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        match major {
            0 => match self.arg(info)? {
                Arg::Value(n) => Ok(Value::Unsigned(n)),
                Arg::Indefinite => Err(CborError),
            },
            1 => match self.arg(info)? {
                Arg::Value(n) => Ok(Value::Negative(n)),
                Arg::Indefinite => Err(CborError),
            },
            2 => Ok(Value::Bytes(self.string_bytes(2, info)?)),
            3 => {
                let bytes = self.string_bytes(3, info)?;
                String::from_utf8(bytes).map(Value::Text).map_err(|_| CborError)
            }
            4 => self.array(info, depth),
            5 => self.map(info, depth),
            6 => match self.arg(info)? {
                // A tag: keep what it tags.
                Arg::Value(_) => self.item(depth + 1),
                Arg::Indefinite => Err(CborError),
            },
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                23 => Ok(Value::Other),
                24 => self.take(1).map(|_| Value::Other),
                25 => self.take(2).map(|_| Value::Other),
                26 => self.take(4).map(|_| Value::Other),
                27 => self.take(8).map(|_| Value::Other),
                0..=19 => Ok(Value::Other),
                // 31 is a "break" outside an indefinite item.
                _ => Err(CborError),
            },
        }
    }

    /// A byte or text string, definite or made of definite chunks of the same major type.
    fn string_bytes(&mut self, major: u8, info: u8) -> Result<Vec<u8>, CborError> {
        match self.arg(info)? {
            Arg::Value(n) => Ok(self.take(n)?.to_vec()),
            Arg::Indefinite => {
                let mut out = Vec::new();
                loop {
                    let b = self.byte()?;
                    if b == 0xff {
                        return Ok(out);
                    }
                    if b >> 5 != major {
                        return Err(CborError);
                    }
                    match self.arg(b & 0x1f)? {
                        Arg::Value(n) => out.extend_from_slice(self.take(n)?),
                        Arg::Indefinite => return Err(CborError),
                    }
                }
            }
        }
    }

    fn array(&mut self, info: u8, depth: usize) -> Result<Value, CborError> {
        let mut items = Vec::new();
        match self.arg(info)? {
            Arg::Value(n) => {
                // Every item takes at least one byte.
                if n > self.left() as u64 {
                    return Err(CborError);
                }
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
            }
            Arg::Indefinite => loop {
                if self.input.get(self.pos) == Some(&0xff) {
                    self.pos += 1;
                    break;
                }
                items.push(self.item(depth + 1)?);
            },
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, info: u8, depth: usize) -> Result<Value, CborError> {
        let mut entries = Vec::new();
        match self.arg(info)? {
            Arg::Value(n) => {
                // Every entry takes at least two bytes.
                if n > (self.left() / 2) as u64 {
                    return Err(CborError);
                }
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
            }
            Arg::Indefinite => loop {
                if self.input.get(self.pos) == Some(&0xff) {
                    self.pos += 1;
                    break;
                }
                let k = self.item(depth + 1)?;
                let v = self.item(depth + 1)?;
                entries.push((k, v));
            },
        }
        Ok(Value::Map(entries))
    }
}

/// Encodes in the shortest form (RFC 8949 §4.2.1 preferred serialisation), definite lengths,
/// map entries in the order given.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Unsigned(n) => head(0, *n, out),
        Value::Negative(n) => head(1, *n, out),
        Value::Bytes(b) => {
            head(2, b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Text(s) => {
            head(3, s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            head(4, items.len() as u64, out);
            for i in items {
                encode(i, out);
            }
        }
        Value::Map(entries) => {
            head(5, entries.len() as u64, out);
            for (k, v) in entries {
                encode(k, out);
                encode(v, out);
            }
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
        Value::Other => out.push(0xf7),
    }
}

fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A map's value for a text key, refusing a key that appears twice.
pub fn field<'a>(entries: &'a [(Value, Value)], key: &str) -> Result<Option<&'a Value>, CborError> {
    let mut found = None;
    for (k, v) in entries {
        if matches!(k, Value::Text(t) if t == key) {
            if found.is_some() {
                return Err(CborError);
            }
            found = Some(v);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_what_it_encodes() {
        let v = Value::Map(vec![
            (Value::Text("a".into()), Value::Unsigned(1000)),
            (Value::Text("b".into()), Value::Bytes(vec![1, 2, 3])),
            (Value::Text("c".into()), Value::Array(vec![Value::Bool(true), Value::Null, Value::Unsigned(u64::MAX)])),
        ]);
        let mut out = Vec::new();
        encode(&v, &mut out);
        assert_eq!(decode(&out), Ok(v));
    }

    #[test]
    fn shortest_heads() {
        let mut out = Vec::new();
        for n in [0u64, 23, 24, 255, 256, 65535, 65536, 1 << 32] {
            out.clear();
            head(0, n, &mut out);
            assert_eq!(decode(&out), Ok(Value::Unsigned(n)));
        }
        out.clear();
        head(0, 1000, &mut out);
        assert_eq!(out, [0x19, 0x03, 0xe8]);
    }

    #[test]
    fn refuses_lengths_beyond_the_input() {
        // An array claiming 2^63 items, a byte string claiming 2^32 bytes.
        assert_eq!(decode(&[0x9b, 0x80, 0, 0, 0, 0, 0, 0, 0]), Err(CborError));
        assert_eq!(decode(&[0x5a, 0xff, 0xff, 0xff, 0xff, 0]), Err(CborError));
        assert_eq!(decode(&[0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0]), Err(CborError));
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = vec![0x81u8; 10_000];
        assert_eq!(decode(&deep), Err(CborError));
        let mut ok = vec![0x81u8; MAX_DEPTH];
        ok.push(0x00);
        assert!(decode(&ok).is_ok());
        let tags = vec![0xc1u8; 10_000];
        assert_eq!(decode(&tags), Err(CborError));
    }

    #[test]
    fn refuses_trailing_bytes_truncation_and_stray_breaks() {
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError));
        assert_eq!(decode(&[0x82, 0x01]), Err(CborError));
        assert_eq!(decode(&[0xff]), Err(CborError));
        assert_eq!(decode(&[0x1c]), Err(CborError));
        assert_eq!(decode(&[0x63, 0xff, 0xfe, 0xfd]), Err(CborError), "invalid utf-8");
    }

    #[test]
    fn indefinite_items() {
        // [_ 1, (_ h'01', h'02')] and {_ "a": 1}
        assert_eq!(
            decode(&[0x9f, 0x01, 0x5f, 0x41, 0x01, 0x41, 0x02, 0xff, 0xff]),
            Ok(Value::Array(vec![Value::Unsigned(1), Value::Bytes(vec![1, 2])]))
        );
        assert_eq!(
            decode(&[0xbf, 0x61, b'a', 0x01, 0xff]),
            Ok(Value::Map(vec![(Value::Text("a".into()), Value::Unsigned(1))]))
        );
        // A text chunk inside an indefinite byte string.
        assert_eq!(decode(&[0x5f, 0x61, b'a', 0xff]), Err(CborError));
    }

    #[test]
    fn duplicate_keys_are_refused_by_field() {
        let m = vec![(Value::Text("a".into()), Value::Unsigned(1)), (Value::Text("a".into()), Value::Unsigned(2))];
        assert_eq!(field(&m, "a"), Err(CborError));
        assert_eq!(field(&m, "b"), Ok(None));
    }
}
