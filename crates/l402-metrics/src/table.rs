//! [`Table`]: counters and gauges in a fixed array of atomic words that every process of a host
//! maps (an nginx shared memory zone), so workers add to the same series without a lock and the
//! values survive a `reload` (nginx hands the same memory to the next cycle).
//!
//! Layout, in 64-bit words: a header ([`HEADER_WORDS`]: magic, slot count, series dropped for
//! lack of room), then slots of [`SLOT_WORDS`]: the series' key hash, its value, the length of its
//! text, and the text (`name{label="value",…}`, as exposed). A slot is taken by a compare-and-swap
//! of its hash word from empty to [`RESERVED`], its text written, then its hash published with
//! release ordering; readers skip reserved slots. Series are identified by a 64-bit FNV-1a hash
//! of their name and labels (two series colliding would share a value: odds ~n²/2⁶⁵).

use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies an initialised table ("l402met1").
pub const MAGIC: u64 = u64::from_be_bytes(*b"l402met1");
pub const HEADER_WORDS: usize = 8;
pub const SLOT_WORDS: usize = 48;
/// Bytes of series text a slot holds.
pub const MAX_TEXT: usize = (SLOT_WORDS - 3) * 8;
/// A slot being written.
pub const RESERVED: u64 = u64::MAX;
/// Slots tried for one series before it is dropped.
const PROBE_LIMIT: usize = 512;
/// Spins while another process writes the slot a series may be in.
const SPIN_LIMIT: usize = 10_000;

const H_MAGIC: usize = 0;
const H_SLOTS: usize = 1;
const H_DROPPED: usize = 2;

/// One series: a metric name and its labels, in a fixed order.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub labels: &'a [(&'a str, &'a str)],
}

impl Series<'_> {
    /// FNV-1a over the name and labels, never 0 or [`RESERVED`].
    pub fn hash(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h = OFFSET;
        let mut eat = |bytes: &[u8], end: u8| {
            for &b in bytes.iter().chain(std::iter::once(&end)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(PRIME);
            }
        };
        eat(self.name.as_bytes(), 0xff);
        for (k, v) in self.labels {
            eat(k.as_bytes(), 0);
            eat(v.as_bytes(), 0xfe);
        }
        match h {
            0 | RESERVED => 1,
            h => h,
        }
    }

    /// `name{k="v",…}` with label values escaped as the text format requires (`\\`, `\"`, `\n`).
    pub fn text(&self) -> String {
        let mut t = String::with_capacity(64);
        t.push_str(self.name);
        if !self.labels.is_empty() {
            t.push('{');
            for (i, (k, v)) in self.labels.iter().enumerate() {
                if i > 0 {
                    t.push(',');
                }
                t.push_str(k);
                t.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => t.push_str("\\\\"),
                        '"' => t.push_str("\\\""),
                        '\n' => t.push_str("\\n"),
                        c if c.is_control() => t.push('?'),
                        c => t.push(c),
                    }
                }
                t.push('"');
            }
            t.push('}');
        }
        t
    }
}

/// A series and its value, read by the scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub text: String,
    pub value: u64,
}

/// A table over words someone else owns (shared memory).
#[derive(Clone, Copy)]
pub struct Table<'a> {
    words: &'a [AtomicU64],
    slots: usize,
}

/// Words a table of `slots` series needs.
pub const fn words_for(slots: usize) -> usize {
    HEADER_WORDS + slots * SLOT_WORDS
}

impl<'a> Table<'a> {
    /// Uses `words` as a table: keeps what an earlier cycle counted if its header is ours and
    /// the size matches, else clears it.
    pub fn open(words: &'a [AtomicU64]) -> Option<Table<'a>> {
        if words.len() < words_for(1) {
            return None;
        }
        let slots = (words.len() - HEADER_WORDS) / SLOT_WORDS;
        let kept = words[H_MAGIC].load(Ordering::Acquire) == MAGIC
            && words[H_SLOTS].load(Ordering::Acquire) == slots as u64;
        if !kept {
            for w in words {
                w.store(0, Ordering::Relaxed);
            }
            words[H_SLOTS].store(slots as u64, Ordering::Relaxed);
            words[H_MAGIC].store(MAGIC, Ordering::Release);
        }
        Some(Table { words, slots })
    }

    /// Uses `words` as a table another process opened: never writes; `None` unless the header
    /// is ours and matches the size.
    pub fn attach(words: &'a [AtomicU64]) -> Option<Table<'a>> {
        if words.len() < words_for(1) {
            return None;
        }
        let slots = (words.len() - HEADER_WORDS) / SLOT_WORDS;
        let ours = words[H_MAGIC].load(Ordering::Acquire) == MAGIC
            && words[H_SLOTS].load(Ordering::Acquire) == slots as u64;
        ours.then_some(Table { words, slots })
    }

    pub fn capacity(&self) -> usize {
        self.slots
    }

    /// Series refused because the table was full or their text too long.
    pub fn dropped(&self) -> u64 {
        self.words[H_DROPPED].load(Ordering::Relaxed)
    }

    fn slot(&self, i: usize) -> &'a [AtomicU64] {
        let start = HEADER_WORDS + i * SLOT_WORDS;
        &self.words[start..start + SLOT_WORDS]
    }

    /// Adds `delta` (wrapping: a gauge goes down by adding `delta.wrapping_neg()`). Returns
    /// false when the series cannot be stored (counted in [`Table::dropped`]).
    pub fn add(&self, series: &Series<'_>, delta: u64) -> bool {
        match self.find_or_insert(series) {
            Some(slot) => {
                slot[1].fetch_add(delta, Ordering::Relaxed);
                true
            }
            None => {
                self.words[H_DROPPED].fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The value word of a series, inserted if new, for callers that keep it and add to it
    /// directly (a per-thread cache of hot series). `None` as for [`Table::add`].
    pub fn counter(&self, series: &Series<'_>) -> Option<&'a AtomicU64> {
        match self.find_or_insert(series) {
            Some(slot) => Some(&slot[1]),
            None => {
                self.words[H_DROPPED].fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// The value of a series (0 if it was never added to).
    pub fn get(&self, series: &Series<'_>) -> u64 {
        let hash = series.hash();
        let start = (hash as usize) % self.slots;
        for n in 0..PROBE_LIMIT.min(self.slots) {
            let slot = self.slot((start + n) % self.slots);
            match slot[0].load(Ordering::Acquire) {
                0 => return 0,
                h if h == hash => return slot[1].load(Ordering::Relaxed),
                _ => {}
            }
        }
        0
    }

    fn find_or_insert(&self, series: &Series<'_>) -> Option<&'a [AtomicU64]> {
        let hash = series.hash();
        let start = (hash as usize) % self.slots;
        let mut text: Option<String> = None;
        for n in 0..PROBE_LIMIT.min(self.slots) {
            let slot = self.slot((start + n) % self.slots);
            let mut seen = slot[0].load(Ordering::Acquire);
            let mut spins = 0;
            loop {
                if seen == hash {
                    return Some(slot);
                }
                if seen == RESERVED {
                    // Another process is writing this slot: it may be our series.
                    spins += 1;
                    if spins > SPIN_LIMIT {
                        return None;
                    }
                    std::hint::spin_loop();
                    seen = slot[0].load(Ordering::Acquire);
                    continue;
                }
                if seen != 0 {
                    break; // another series: probe on
                }
                let t = text.get_or_insert_with(|| series.text());
                if t.len() > MAX_TEXT {
                    return None;
                }
                match slot[0].compare_exchange(0, RESERVED, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => {
                        write_text(slot, t.as_bytes());
                        slot[0].store(hash, Ordering::Release);
                        return Some(slot);
                    }
                    Err(now) => seen = now,
                }
            }
        }
        None
    }

    /// Every series with its value, in slot order.
    pub fn samples(&self) -> Vec<Sample> {
        let mut out = Vec::new();
        for i in 0..self.slots {
            let slot = self.slot(i);
            let h = slot[0].load(Ordering::Acquire);
            if h == 0 || h == RESERVED {
                continue;
            }
            if let Some(text) = read_text(slot) {
                out.push(Sample { text, value: slot[1].load(Ordering::Relaxed) });
            }
        }
        out
    }
}

fn write_text(slot: &[AtomicU64], text: &[u8]) {
    slot[2].store(text.len() as u64, Ordering::Relaxed);
    for (i, chunk) in text.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        slot[3 + i].store(u64::from_le_bytes(w), Ordering::Relaxed);
    }
}

fn read_text(slot: &[AtomicU64]) -> Option<String> {
    let len = usize::try_from(slot[2].load(Ordering::Relaxed)).ok()?;
    if len > MAX_TEXT {
        return None;
    }
    let mut bytes = Vec::with_capacity(len.next_multiple_of(8));
    for w in &slot[3..3 + len.div_ceil(8)] {
        bytes.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    bytes.truncate(len);
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn words(slots: usize) -> Vec<AtomicU64> {
        (0..words_for(slots)).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn counts_and_reads_back() {
        let w = words(16);
        let t = Table::open(&w).unwrap();
        let a = Series { name: "l402_challenges_total", labels: &[("service", "svc")] };
        let b = Series { name: "l402_challenges_total", labels: &[("service", "other\"\n")] };
        assert!(t.add(&a, 1));
        assert!(t.add(&a, 2));
        assert!(t.add(&b, 5));
        assert_eq!((t.get(&a), t.get(&b)), (3, 5));
        let mut s = t.samples();
        s.sort_by(|x, y| x.text.cmp(&y.text));
        assert_eq!(s[0].text, "l402_challenges_total{service=\"other\\\"\\n\"}");
        assert_eq!(s[1], Sample { text: "l402_challenges_total{service=\"svc\"}".into(), value: 3 });
    }

    #[test]
    fn reopening_keeps_values_and_a_foreign_header_is_cleared() {
        let w = words(8);
        let s = Series { name: "x_total", labels: &[] };
        Table::open(&w).unwrap().add(&s, 7);
        assert_eq!(Table::open(&w).unwrap().get(&s), 7);
        w[0].store(42, Ordering::Relaxed);
        assert_eq!(Table::open(&w).unwrap().get(&s), 0);
    }

    #[test]
    fn attach_reads_an_opened_table_and_never_clears_a_foreign_one() {
        let w = words(8);
        assert!(Table::attach(&w).is_none());
        let s = Series { name: "x_total", labels: &[] };
        Table::open(&w).unwrap().add(&s, 3);
        assert_eq!(Table::attach(&w).unwrap().get(&s), 3);
        w[0].store(42, Ordering::Relaxed);
        assert!(Table::attach(&w).is_none());
        assert_eq!(w[0].load(Ordering::Relaxed), 42);
    }

    #[test]
    fn a_kept_counter_adds_to_the_same_series() {
        let w = words(8);
        let t = Table::open(&w).unwrap();
        let s = Series { name: "x_total", labels: &[("a", "b")] };
        let c = t.counter(&s).unwrap();
        c.fetch_add(4, Ordering::Relaxed);
        t.add(&s, 1);
        assert_eq!(t.get(&s), 5);
        assert_eq!(t.samples().len(), 1);
    }

    #[test]
    fn full_table_and_long_text_are_dropped_not_lost() {
        let w = words(2);
        let t = Table::open(&w).unwrap();
        let names = ["a", "b", "c"];
        let added: Vec<bool> = names.iter().map(|n| t.add(&Series { name: n, labels: &[] }, 1)).collect();
        assert_eq!(added, [true, true, false]);
        assert_eq!(t.dropped(), 1);
        let long = "v".repeat(MAX_TEXT);
        let w = words(4);
        let t = Table::open(&w).unwrap();
        assert!(!t.add(&Series { name: "m", labels: &[("l", &long)] }, 1));
        assert!(t.samples().is_empty());
    }

    #[test]
    fn threads_add_to_one_series() {
        let w = words(64);
        let t = Table::open(&w).unwrap();
        std::thread::scope(|scope| {
            for k in 0..4 {
                let t = &t;
                scope.spawn(move || {
                    for i in 0..2_000u64 {
                        let svc = format!("s{}", i % 8);
                        t.add(&Series { name: "n_total", labels: &[("service", &svc)] }, 1);
                        t.add(&Series { name: "g", labels: &[("k", if k % 2 == 0 { "a" } else { "b" })] }, 1);
                    }
                });
            }
        });
        let total: u64 = t.samples().iter().filter(|s| s.text.starts_with("n_total")).map(|s| s.value).sum();
        assert_eq!(total, 8_000);
        assert_eq!(t.samples().len(), 10);
        assert_eq!(t.dropped(), 0);
    }
}
