//! Shared fixtures of the gate's tests: a fixed key ring, tokens minted the way the gate mints
//! them, policies and facts, and an executor that drives `start`/`resume` to the verdict,
//! answering every `Io` from a script or from a small in-memory model of the world (claim
//! table, rate limiter, store prices, payment states, an invoice maker with known preimages).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use l402_core::caveat::{preimage_predicate, services_predicate, valid_until_predicate};
use l402_core::terms::NONCE_LEN;
use l402_core::verify::VerifiedCache;
use l402_core::{hex_encode, sha256, KeyRing, Macaroon, MintParams, RootKey, Terms};
use l402_gate::{
    resume, start, Cause, Env, Event, Facts, Failure, Invoiced, Io, IoResult, Payment, Policy, PriceFact,
    Step, Store, Verdict, MAX_STEPS,
};
use l402_usage::{keys, ClaimOutcome, Rate, RateOutcome, UsePolicy};

pub const SERVICE: &str = "svc";
/// The one clock of every test: milliseconds since the epoch.
pub const NOW_MS: u64 = 1_700_000_000_123;
pub const NOW: u64 = NOW_MS / 1_000;
pub const CLIENT: &[u8] = b"192.0.2.7";
pub const PATH: &str = "/protected";
pub const PRICE: u64 = 1_000;
/// The minted lifetime of tokens in these tests (and the policy's `macaroon_timeout`).
pub const TIMEOUT: u64 = 3_600;

/// The fixed operator key.
pub fn ring() -> KeyRing {
    KeyRing::new(vec![RootKey::from_material(&[0x42; 32]).unwrap()]).unwrap()
}

/// Another operator's key (forgeries).
pub fn foreign_ring() -> KeyRing {
    KeyRing::new(vec![RootKey::from_material(&[0x17; 32]).unwrap()]).unwrap()
}

/// A token as a client holds it after paying: the macaroon and the preimage.
#[derive(Clone)]
pub struct Token {
    pub macaroon: Macaroon,
    pub preimage: [u8; 32],
    pub payment_hash: [u8; 32],
    pub token_id: [u8; 32],
}

impl Token {
    /// `L402 <b64>:<hex preimage>`.
    pub fn auth(&self) -> Vec<u8> {
        format!("L402 {}:{}", self.macaroon.to_base64(), hex_encode(&self.preimage)).into_bytes()
    }

    /// `L402 <b64>` (payment detection by lookup).
    pub fn auth_unpaid(&self) -> Vec<u8> {
        format!("L402 {}", self.macaroon.to_base64()).into_bytes()
    }

    /// Hex of the macaroon with a `preimage=` caveat added (Aperture's gRPC client).
    pub fn hex_paid(&self) -> Vec<u8> {
        let mut mac = self.macaroon.clone();
        mac.add_first_party_caveat(&preimage_predicate(&self.preimage));
        hex_encode(&mac.encode_v2()).into_bytes()
    }

    /// Hex of the bare macaroon: no preimage anywhere.
    pub fn hex_unpaid(&self) -> Vec<u8> {
        hex_encode(&self.macaroon.encode_v2()).into_bytes()
    }

    pub fn claim_key(&self) -> [u8; 16] {
        keys::claim_key(&self.token_id)
    }

    /// A client-added first-party caveat (attenuation).
    pub fn with_caveat(mut self, predicate: &[u8]) -> Token {
        self.macaroon.add_first_party_caveat(predicate);
        self
    }

    pub fn with_valid_until_caveat(self, until: u64) -> Token {
        self.with_caveat(&valid_until_predicate(SERVICE, until))
    }

    pub fn with_services_caveat(self, list: &str) -> Token {
        self.with_caveat(format!("services={list}").as_bytes())
    }
}

/// How to mint a token in a test.
#[derive(Clone, Copy)]
pub struct Mint<'a> {
    pub keys: &'a KeyRing,
    pub service: &'a str,
    pub paid_msat: u64,
    /// Minted lifetime (terms and caveat).
    pub valid_until: Option<u64>,
    /// Mint with terms in the token id (as the gate does), or a foreign token id.
    pub terms: bool,
    pub seed: u8,
}

impl<'a> Mint<'a> {
    pub fn new(keys: &'a KeyRing) -> Self {
        Mint { keys, service: SERVICE, paid_msat: PRICE, valid_until: Some(NOW + TIMEOUT), terms: true, seed: 1 }
    }
}

/// The preimage and payment hash of invoice number `seed`.
pub fn preimage_of(seed: u8) -> ([u8; 32], [u8; 32]) {
    let preimage = sha256(&[b'p', seed]);
    (preimage, sha256(&preimage))
}

pub fn nonce_of(seed: u8) -> [u8; NONCE_LEN] {
    [seed; NONCE_LEN]
}

pub fn mint(m: Mint<'_>) -> Token {
    let (preimage, payment_hash) = preimage_of(m.seed);
    let token_id = if m.terms {
        Terms { paid_msat: m.paid_msat, valid_until: m.valid_until }.token_id(nonce_of(m.seed))
    } else {
        [m.seed; 32]
    };
    let macaroon = m.keys.mint(&MintParams {
        payment_hash,
        token_id,
        service: m.service,
        valid_until: m.valid_until,
        capabilities: None,
        lookup: None,
    });
    Token { macaroon, preimage, payment_hash, token_id }
}

/// The standard token: paid `PRICE`, valid for `TIMEOUT` from `NOW`.
pub fn token() -> Token {
    let keys = ring();
    mint(Mint::new(&keys))
}

pub fn policy() -> Policy<'static> {
    Policy {
        service: SERVICE,
        uses: UsePolicy::SINGLE,
        store: Store::Zone,
        store_price: false,
        rate_limit: None,
        auto_detect: false,
        macaroon_timeout: TIMEOUT,
        invoice_expiry_secs: 600,
        legacy_lsat: false,
        dry_run: false,
        cors: None,
        cashu: None,
    }
}

pub fn uses(n: u32) -> UsePolicy {
    UsePolicy::Limited(std::num::NonZeroU32::new(n).unwrap())
}

pub fn rate(count: u32) -> Rate {
    Rate { count, period_ms: 60_000 }
}

/// The carriers and other request data, owned; [`Req::facts`] borrows them.
#[derive(Clone)]
pub struct Req {
    pub authorization: Option<Vec<u8>>,
    pub hex_macaroon: Option<Vec<u8>>,
    pub x_cashu: Option<Vec<u8>>,
    pub price: PriceFact,
    pub claimed: Option<[u8; 16]>,
    pub already_challenged: bool,
    pub origin: Option<Vec<u8>>,
    pub preflight: bool,
    pub session: bool,
    pub now_ms: u64,
}

impl Default for Req {
    fn default() -> Self {
        Req {
            authorization: None,
            hex_macaroon: None,
            x_cashu: None,
            price: PriceFact::Msat(PRICE),
            claimed: None,
            already_challenged: false,
            origin: None,
            preflight: false,
            session: false,
            now_ms: NOW_MS,
        }
    }
}

impl Req {
    pub fn auth(value: Vec<u8>) -> Req {
        Req { authorization: Some(value), ..Req::default() }
    }

    pub fn hex(value: Vec<u8>) -> Req {
        Req { hex_macaroon: Some(value), ..Req::default() }
    }

    pub fn at(mut self, now_ms: u64) -> Req {
        self.now_ms = now_ms;
        self
    }

    pub fn priced(mut self, price: PriceFact) -> Req {
        self.price = price;
        self
    }

    pub fn facts(&self) -> Facts<'_> {
        Facts {
            carriers: l402_gate::Carriers {
                authorization: self.authorization.as_deref(),
                hex_macaroon: self.hex_macaroon.as_deref(),
                x_cashu: self.x_cashu.as_deref(),
            },
            client_addr: CLIENT,
            path: PATH.as_bytes(),
            price: self.price.clone(),
            claimed: self.claimed,
            already_challenged: self.already_challenged,
            origin: self.origin.as_deref(),
            preflight: self.preflight,
            session: self.session,
            connection: 1,
            now_ms: self.now_ms,
        }
    }
}

/// One complete run of the decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub events: Vec<Event>,
    /// Every I/O the decision asked for, in order, with the answer it got.
    pub ios: Vec<(Io, IoResult)>,
    /// Calls of `start` and `resume` together.
    pub calls: usize,
}

impl Outcome {
    pub fn io_kinds(&self) -> Vec<&'static str> {
        self.ios.iter().map(|(io, _)| io_kind(io)).collect()
    }

    pub fn asked(&self, kind: &str) -> bool {
        self.io_kinds().contains(&kind)
    }

    pub fn challenge(&self) -> &l402_gate::Challenge {
        match &self.verdict {
            Verdict::Challenge(c) => c,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    pub fn admitted(&self) -> &l402_gate::Admitted {
        match &self.verdict {
            Verdict::Admitted(a) => a,
            other => panic!("expected an admission, got {other:?} (events {:?})", self.events),
        }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.events.iter().any(|e| e.message.contains(needle))
    }
}

pub fn io_kind(io: &Io) -> &'static str {
    match io {
        Io::Claim { .. } => "claim",
        Io::RateCheck { .. } => "rate",
        Io::Price { .. } => "price",
        Io::Lookup { .. } => "lookup",
        Io::Invoice { .. } => "invoice",
        Io::CashuVerify { .. } => "cashu_verify",
        Io::CashuStore { .. } => "cashu_store",
        Io::SpendProofs { .. } => "spend",
        Io::CashuReceive { .. } => "cashu_receive",
    }
}

pub fn result_kind(r: &IoResult) -> &'static str {
    match r {
        IoResult::Claim(_) => "claim",
        IoResult::RateCheck(_) => "rate",
        IoResult::Price(_) => "price",
        IoResult::Lookup(_) => "lookup",
        IoResult::Invoice(_) => "invoice",
        IoResult::CashuVerify(_) => "cashu_verify",
        IoResult::CashuStore(_) => "cashu_store",
        IoResult::SpendProofs(_) => "spend",
        IoResult::CashuReceive(_) => "cashu_receive",
    }
}

/// A hard stop for the executor itself, far beyond what the machine may take.
const RUNAWAY: usize = 4 * MAX_STEPS as usize + 8;

/// Drives one decision to its verdict, answering each `Io` with `answer`.
pub fn drive(
    env: &mut Env<'_>,
    policy: &Policy<'_>,
    facts: &Facts<'_>,
    mut answer: impl FnMut(&Io) -> IoResult,
) -> Outcome {
    let mut ios = Vec::new();
    let mut calls = 1;
    let mut step = start(env, policy, facts);
    loop {
        match step {
            Step::Done(verdict, events) => return Outcome { verdict, events, ios, calls },
            Step::Io(pending, io) => {
                assert!(calls < RUNAWAY, "the decision does not end: {ios:?}");
                let result = answer(&io);
                ios.push((io, result.clone()));
                step = resume(env, policy, facts, pending, result);
                calls += 1;
            }
        }
    }
}

/// Drives with a fresh env (no memo) under the fixed ring.
pub fn run(policy: &Policy<'_>, req: &Req, answer: impl FnMut(&Io) -> IoResult) -> Outcome {
    let keys = ring();
    let mut env = Env { keys: &keys, memo: None };
    drive(&mut env, policy, &req.facts(), answer)
}

/// Drives against the model.
pub fn run_in(world: &mut World, policy: &Policy<'_>, req: &Req) -> Outcome {
    run(policy, req, |io| world.answer(io))
}

/// Answers from a fixed script, in order; running out of answers is a test failure.
pub fn script(answers: Vec<IoResult>) -> impl FnMut(&Io) -> IoResult {
    let mut answers: VecDeque<IoResult> = answers.into();
    move |io| answers.pop_front().unwrap_or_else(|| panic!("the script has no answer left for {io:?}"))
}

/// Answers nothing: the decision must not ask for I/O.
pub fn no_io(io: &Io) -> IoResult {
    panic!("no I/O expected, the decision asked for {io:?}")
}

pub fn failure(cause: Cause, log: &str) -> Failure {
    Failure { cause, retry_after: Duration::from_secs(7), log: log.to_owned() }
}

/// A small model of everything behind the I/O.
pub struct World {
    /// Uses claimed per claim key.
    pub claims: HashMap<[u8; 16], u32>,
    /// Most distinct keys the claim table holds (`StoreFull` beyond).
    pub claim_capacity: usize,
    pub store_down: bool,
    /// Challenges left per rate key before `Limited`.
    pub rate_left: HashMap<[u8; 16], u32>,
    pub rate_down: bool,
    /// Store prices by path; a missing path gives the configured price.
    pub prices: HashMap<String, u64>,
    pub price_down: bool,
    pub payments: HashMap<[u8; 32], Payment>,
    pub lookup_down: bool,
    pub backend_down: bool,
    pub bolt12: bool,
    /// The backend's own lookup reference handed out with each invoice (an LNURL verify URL).
    pub lookup: Option<Vec<u8>>,
    /// Cashu: what the offline verification says (`None`: accept every proof).
    pub cashu_verdict: Option<l402_cashu::Refusal>,
    /// Cashu: proofs stored, and proofs spent (by `Y`).
    pub stored: Vec<[u8; 33]>,
    pub spent: std::collections::HashSet<[u8; 33]>,
    pub cashu_store_down: bool,
    /// Cashu standard mode: what the mint says of a swap.
    pub mint_answer: Option<l402_gate::CashuRejected>,
    pub mint_down: bool,
    /// Invoices made: (payment hash, preimage).
    pub invoices: Vec<([u8; 32], [u8; 32])>,
    /// Seed of the next invoice (`preimage_of`, `nonce_of`).
    pub next_seed: u8,
}

impl Default for World {
    fn default() -> Self {
        World {
            claims: HashMap::new(),
            claim_capacity: 1_000,
            store_down: false,
            rate_left: HashMap::new(),
            rate_down: false,
            prices: HashMap::new(),
            price_down: false,
            payments: HashMap::new(),
            lookup_down: false,
            backend_down: false,
            bolt12: false,
            lookup: None,
            invoices: Vec::new(),
            next_seed: 100,
            cashu_verdict: None,
            stored: Vec::new(),
            spent: std::collections::HashSet::new(),
            cashu_store_down: false,
            mint_answer: None,
            mint_down: false,
        }
    }
}

impl World {
    pub fn answer(&mut self, io: &Io) -> IoResult {
        match io {
            Io::Claim { key, limit, .. } => IoResult::Claim(if self.store_down {
                Err(failure(Cause::Store, "l402: test: usage store down"))
            } else {
                Ok(self.claim(*key, *limit))
            }),
            Io::RateCheck { key, rate, .. } => IoResult::RateCheck(if self.rate_down {
                Err(failure(Cause::Store, "l402: test: rate store down"))
            } else {
                let left = self.rate_left.entry(*key).or_insert(rate.count);
                if *left == 0 {
                    Ok(RateOutcome::Limited { retry_after_secs: 30 })
                } else {
                    *left -= 1;
                    Ok(RateOutcome::Allowed)
                }
            }),
            Io::Price { path, configured } => IoResult::Price(if self.price_down {
                Err(failure(Cause::Store, "l402: test: price store down"))
            } else {
                Ok(self.prices.get(path).copied().unwrap_or(*configured))
            }),
            Io::Lookup { payment_hash, .. } => IoResult::Lookup(if self.lookup_down {
                Err(failure(Cause::Backend, "l402: test: lookup failed"))
            } else {
                Ok(self.payments.get(payment_hash).copied().unwrap_or(Payment::Gone))
            }),
            Io::Invoice { .. } => IoResult::Invoice(if self.backend_down {
                Err(failure(Cause::BackendTimeout, "l402: test: backend down"))
            } else {
                Ok(self.invoice())
            }),
            Io::CashuVerify { token, .. } => IoResult::CashuVerify(Ok(match self.cashu_verdict {
                Some(r) => Err(r),
                None => Ok(l402_cashu::Accepted {
                    ys: token.proofs.iter().map(|p| l402_cashu::proof_y(&p.secret).unwrap()).collect(),
                    amount: token.amount(),
                    fee: 0,
                    mint: token.mint.clone(),
                    spent_until: None,
                }),
            })),
            Io::CashuStore { ys, .. } => IoResult::CashuStore(if self.cashu_store_down {
                Err(failure(Cause::Store, "l402: test: proof store down"))
            } else {
                self.stored.extend(ys.iter().filter(|y| !self.stored.contains(y)).copied().collect::<Vec<_>>());
                Ok(())
            }),
            Io::SpendProofs { ys, .. } => IoResult::SpendProofs(if self.store_down {
                Err(failure(Cause::Store, "l402: test: usage store down"))
            } else if let Some(index) = ys.iter().position(|y| self.spent.contains(y)) {
                Ok(l402_usage::SpendOutcome::AlreadySpent { index })
            } else {
                self.spent.extend(ys.iter().copied());
                Ok(l402_usage::SpendOutcome::Spent)
            }),
            Io::CashuReceive { token, .. } => IoResult::CashuReceive(if self.mint_down {
                Err(failure(Cause::Mint, "l402: test: mint unreachable"))
            } else {
                Ok(match self.mint_answer {
                    Some(r) => Err(r),
                    None => Ok(token.amount()),
                })
            }),
        }
    }

    fn claim(&mut self, key: [u8; 16], limit: u32) -> ClaimOutcome {
        if !self.claims.contains_key(&key) && self.claims.len() >= self.claim_capacity {
            return ClaimOutcome::StoreFull;
        }
        let used = self.claims.entry(key).or_insert(0);
        if *used >= limit {
            return ClaimOutcome::UsedUp;
        }
        *used += 1;
        ClaimOutcome::Accepted { remaining: Some(limit - *used) }
    }

    fn invoice(&mut self) -> Invoiced {
        let seed = self.next_seed;
        self.next_seed = self.next_seed.wrapping_add(1);
        let (preimage, payment_hash) = preimage_of(seed);
        self.invoices.push((payment_hash, preimage));
        self.payments.insert(payment_hash, Payment::Open);
        Invoiced {
            payment_hash,
            text: format!("lnbcrt10n1test{}", hex_encode(&payment_hash[..8])),
            bolt12: self.bolt12,
            nonce: nonce_of(seed),
            lookup: self.lookup.clone(),
        }
    }

    /// The client pays the invoice of `payment_hash`: returns its preimage.
    pub fn pay(&mut self, payment_hash: [u8; 32]) -> [u8; 32] {
        self.payments.insert(payment_hash, Payment::Settled);
        self.invoices.iter().find(|(h, _)| *h == payment_hash).map(|(_, p)| *p).expect("an invoice we made")
    }
}

/// The parameters of one `WWW-Authenticate` line: scheme and `key="value"` pairs, in order.
pub fn parse_www_authenticate(line: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = line.split_once(' ').expect("a scheme and parameters");
    let mut params = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("key=\"");
        let (value, after) = after.split_once('"').expect("closing quote");
        params.push((key.to_owned(), value.to_owned()));
        rest = after.strip_prefix(", ").unwrap_or(after);
        assert!(after.is_empty() || after.starts_with(", "), "parameters are separated by \", \": {line}");
    }
    (scheme.to_owned(), params)
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The macaroon of an L402 offer and the payment hash it is bound to.
pub fn offered_macaroon(challenge: &l402_gate::Challenge) -> String {
    let line = challenge
        .offers
        .first()
        .and_then(|o| o.headers.iter().find(|(name, v)| *name == "WWW-Authenticate" && v.starts_with("L402 ")))
        .map(|(_, v)| v.clone())
        .expect("an L402 WWW-Authenticate line");
    let (_, params) = parse_www_authenticate(&line);
    param(&params, "macaroon").expect("macaroon=").to_owned()
}

/// A worker's memo of verified credentials.
pub fn memo() -> l402_gate::method::l402::Memo {
    VerifiedCache::new(64, [9; 16])
}

/// A services caveat predicate (for widening tests).
pub fn services(list_service: &str) -> Vec<u8> {
    services_predicate(list_service, 0)
}

/// A Cashu token of `amounts` (sat) from `mint`, its secrets made from `seed`: parsed by the
/// gate, never verified here (the executor's answer is scripted).
pub fn cashu_token(mint: &str, amounts: &[u64], seed: u8) -> String {
    let proofs = amounts
        .iter()
        .enumerate()
        .map(|(i, &amount)| l402_cashu::Proof {
            keyset_id: l402_cashu::KeysetId::from_hex("009a1f293253e41e").unwrap(),
            amount,
            secret: format!("secret-{seed}-{i}"),
            // Any valid point will do (the generator): the signature is not checked here.
            c: hex_decode_33("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
            dleq: None,
            witness: None,
        })
        .collect();
    let token = l402_cashu::Token { mint: mint.to_owned(), unit: "sat".to_owned(), memo: None, proofs };
    l402_cashu::encode_v4(&token)
}

fn hex_decode_33(s: &str) -> [u8; 33] {
    let mut out = [0u8; 33];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

pub const MINT: &str = "https://mint.example";
