//! The JSON-RPC methods of the test node, with the request and response shapes of CLN's
//! `doc/schemas/{getinfo,invoice,listinvoices,fetchinvoice,decode}.json` and its error
//! codes (`common/jsonrpc_errors.h`).

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use l402_cln::bolt12::Bolt12Invoice;
use lightning_invoice::Bolt11Invoice;
use serde_json::{json, Map, Value};

use crate::bolt11;
use crate::bolt12::{self, InvoiceFields};
use crate::keys::{hex, random32, NodeKey};
use crate::mode::GarbageKind;
use crate::store::{Inv, Status, Store};

/// `JSONRPC2_METHOD_NOT_FOUND`.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `JSONRPC2_INVALID_PARAMS`: missing or malformed parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// `INVOICE_LABEL_ALREADY_EXISTS`.
pub const LABEL_ALREADY_EXISTS: i64 = 900;
/// `INVOICE_PREIMAGE_ALREADY_EXISTS`.
pub const PREIMAGE_ALREADY_EXISTS: i64 = 901;
/// `OFFER_BAD_INVREQ_REPLY`: fetchinvoice got no usable invoice for the offer.
pub const OFFER_BAD_INVREQ_REPLY: i64 = 1002;

/// lightningd's default `invoice` expiry: one week.
const DEFAULT_EXPIRY_SECS: u64 = 7 * 24 * 3600;
/// BOLT11 descriptions longer than this are refused (`invoice`: "Descriptions greater
/// than 639 bytes are not supported").
const MAX_DESCRIPTION: usize = 639;
/// `INVOICE_MAX_LABEL_LEN`.
const MAX_LABEL_LEN: usize = 128;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFail {
    pub code: i64,
    pub message: String,
}

fn fail(code: i64, message: impl Into<String>) -> RpcFail {
    RpcFail {
        code,
        message: message.into(),
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The node: its key, its offer and its invoices.
pub struct Node {
    pub key: NodeKey,
    /// Connections accepted so far.
    pub connections: std::sync::atomic::AtomicUsize,
    offer_records: Vec<(u64, Vec<u8>)>,
    pub offer: String,
    store: Mutex<Store>,
}

/// Named parameters, from an object or a positional array (lightningd accepts both).
fn named(params: &Value, names: &[&str]) -> Result<Map<String, Value>, RpcFail> {
    match params {
        Value::Object(m) => {
            if let Some(k) = m.keys().find(|k| !names.contains(&k.as_str())) {
                return Err(fail(INVALID_PARAMS, format!("unknown parameter: {k}")));
            }
            Ok(m.clone())
        }
        Value::Array(a) => {
            if a.len() > names.len() {
                return Err(fail(INVALID_PARAMS, "too many parameters"));
            }
            Ok(names
                .iter()
                .zip(a)
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect())
        }
        Value::Null => Ok(Map::new()),
        _ => Err(fail(INVALID_PARAMS, "params must be an object or an array")),
    }
}

fn required<'a>(p: &'a Map<String, Value>, name: &str) -> Result<&'a Value, RpcFail> {
    p.get(name).ok_or_else(|| {
        fail(
            INVALID_PARAMS,
            format!("missing required parameter: {name}"),
        )
    })
}

fn string_param(p: &Map<String, Value>, name: &str) -> Result<Option<String>, RpcFail> {
    match p.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(fail(INVALID_PARAMS, format!("{name}: should be a string"))),
    }
}

fn u64_param(p: &Map<String, Value>, name: &str) -> Result<Option<u64>, RpcFail> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            fail(
                INVALID_PARAMS,
                format!("{name}: should be an unsigned 64 bit integer"),
            )
        }),
    }
}

/// `msat_or_any`: an integer, `"<n>msat"`, `"<n>sat"`, `"<n>"` or `"any"` (None).
fn amount_param(v: &Value, name: &str) -> Result<Option<u64>, RpcFail> {
    let bad = || {
        fail(
            INVALID_PARAMS,
            format!("{name}: should be positive msat or 'any'"),
        )
    };
    let amount = match v {
        Value::Number(n) => n.as_u64().ok_or_else(bad)?,
        Value::String(s) if s == "any" => return Ok(None),
        Value::String(s) => {
            if let Some(d) = s.strip_suffix("msat") {
                d.parse().map_err(|_| bad())?
            } else if let Some(d) = s.strip_suffix("sat") {
                d.parse::<u64>()
                    .ok()
                    .and_then(|x| x.checked_mul(1000))
                    .ok_or_else(bad)?
            } else {
                s.parse().map_err(|_| bad())?
            }
        }
        _ => return Err(bad()),
    };
    if amount == 0 {
        return Err(bad());
    }
    Ok(Some(amount))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    l402_cln::reply::parse_hex32(s)
}

impl Node {
    /// A node with a fresh random key and an "amount any" offer.
    pub fn new() -> Node {
        let key = NodeKey::generate();
        let offer_records = bolt12::offer_records(&key, "l402 testnode offer");
        let offer = bolt12::offer_string(&offer_records);
        Node {
            key,
            connections: std::sync::atomic::AtomicUsize::new(0),
            offer_records,
            offer,
            store: Mutex::new(Store::default()),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of invoices issued.
    pub fn invoice_count(&self) -> usize {
        self.store().count()
    }

    /// Marks paid the invoice with this string or hex payment hash; returns its preimage.
    pub fn settle(&self, invoice_or_hash: &str) -> Option<[u8; 32]> {
        let s = invoice_or_hash.trim();
        let mut store = self.store();
        let hash = parse_hex32(s).or_else(|| store.hash_of_string(s))?;
        store.settle(&hash, now_unix())
    }

    /// Runs one method.
    pub fn dispatch(
        &self,
        method: &str,
        params: &Value,
        garbage: Option<GarbageKind>,
    ) -> Result<Value, RpcFail> {
        match method {
            "getinfo" => Ok(self.getinfo()),
            "invoice" => self.invoice(params, garbage),
            "listinvoices" => self.listinvoices(params, garbage),
            "fetchinvoice" => self.fetchinvoice(params, garbage),
            "decode" => self.decode(params, garbage),
            other => Err(fail(METHOD_NOT_FOUND, format!("Unknown command '{other}'"))),
        }
    }

    /// `getinfo` (`doc/schemas/getinfo.json`, required fields).
    fn getinfo(&self) -> Value {
        json!({
            "id": hex(&self.key.id.serialize()),
            "alias": "l402-testnode",
            "color": "024402",
            "num_peers": 0,
            "num_pending_channels": 0,
            "num_active_channels": 0,
            "num_inactive_channels": 0,
            "address": [],
            "binding": [],
            "version": "v24.08-testnode-cln",
            "blockheight": 0,
            "network": "regtest",
            "fees_collected_msat": 0,
            "lightning-dir": "/nonexistent/regtest",
            "our_features": {"init": "", "node": "", "channel": "", "invoice": ""},
        })
    }

    /// `invoice {amount_msat, label, description, expiry?, fallbacks?, preimage?, …}` ->
    /// `{bolt11, payment_hash, payment_secret, expires_at, created_index}`.
    fn invoice(&self, params: &Value, garbage: Option<GarbageKind>) -> Result<Value, RpcFail> {
        let p = named(
            params,
            &[
                "amount_msat",
                "label",
                "description",
                "expiry",
                "fallbacks",
                "preimage",
                "exposeprivatechannels",
                "cltv",
                "deschashonly",
            ],
        )?;
        let amount = amount_param(required(&p, "amount_msat")?, "amount_msat")?;
        let label = match required(&p, "label")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(fail(INVALID_PARAMS, "label: should be a string or number")),
        };
        if label.len() > MAX_LABEL_LEN {
            return Err(fail(
                INVALID_PARAMS,
                format!("Label over {MAX_LABEL_LEN} bytes"),
            ));
        }
        let description = string_param(&p, "description")?
            .ok_or_else(|| fail(INVALID_PARAMS, "missing required parameter: description"))?;
        if description.len() > MAX_DESCRIPTION {
            return Err(fail(
                INVALID_PARAMS,
                format!("Descriptions greater than {MAX_DESCRIPTION} bytes are not supported"),
            ));
        }
        let expiry = u64_param(&p, "expiry")?.unwrap_or(DEFAULT_EXPIRY_SECS);
        let preimage = match string_param(&p, "preimage")? {
            Some(s) => parse_hex32(&s)
                .ok_or_else(|| fail(INVALID_PARAMS, "preimage: should be 32 bytes of hex"))?,
            None => random32(),
        };
        let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();

        let mut store = self.store();
        if store.has_label(&label) {
            return Err(fail(
                LABEL_ALREADY_EXISTS,
                format!("Duplicate label '{label}'"),
            ));
        }
        if store.get(&payment_hash).is_some() {
            return Err(fail(PREIMAGE_ALREADY_EXISTS, "preimage already used"));
        }
        let created_at = now_unix();
        let issued_amount = match garbage {
            Some(GarbageKind::WrongAmount) => amount.map(|a| a.saturating_add(1)),
            _ => amount,
        };
        let foreign;
        let signer = if garbage == Some(GarbageKind::ForeignSignature) {
            foreign = NodeKey::generate();
            &foreign
        } else {
            &self.key
        };
        let bolt11 = bolt11::issue(
            signer,
            issued_amount,
            &description,
            payment_hash,
            created_at,
            expiry,
        )
        .map_err(|e| fail(INVALID_PARAMS, format!("cannot build invoice: {e}")))?;
        let expires_at = created_at.saturating_add(expiry);
        let created_index = store.next_index();
        store.insert(Inv {
            label,
            invstring: bolt11.clone(),
            bolt12: false,
            payment_hash,
            preimage,
            amount_msat: issued_amount,
            description,
            expires_at,
            relative_expiry: None,
            created_index,
            status: Status::Unpaid,
        });
        let (bolt11, reported_hash) = match garbage {
            Some(GarbageKind::UnparsableInvoice) => {
                ("lnbcrt1notaninvoice0garbage".to_owned(), payment_hash)
            }
            Some(GarbageKind::WrongPaymentHash) => (bolt11, random32()),
            _ => (bolt11, payment_hash),
        };
        Ok(json!({
            "bolt11": bolt11,
            "payment_hash": hex(&reported_hash),
            "payment_secret": hex(&random32()),
            "expires_at": expires_at,
            "created_index": created_index,
        }))
    }

    /// `listinvoices {label?, invstring?, payment_hash?, offer_id?, …}` -> `{invoices: [...]}`.
    fn listinvoices(&self, params: &Value, garbage: Option<GarbageKind>) -> Result<Value, RpcFail> {
        let p = named(
            params,
            &[
                "label",
                "invstring",
                "payment_hash",
                "offer_id",
                "index",
                "start",
                "limit",
            ],
        )?;
        let label = string_param(&p, "label")?;
        let invstring = string_param(&p, "invstring")?;
        let hash = match string_param(&p, "payment_hash")? {
            Some(h) => Some(parse_hex32(&h).ok_or_else(|| {
                fail(
                    INVALID_PARAMS,
                    "payment_hash: should be a 32 byte hex value",
                )
            })?),
            None => None,
        };
        let now = now_unix();
        let store = self.store();
        let mut list: Vec<&Inv> = store
            .all()
            .filter(|i| label.as_ref().is_none_or(|l| *l == i.label))
            .filter(|i| {
                invstring
                    .as_ref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(&i.invstring))
            })
            .filter(|i| hash.is_none_or(|h| h == i.payment_hash))
            .collect();
        list.sort_by_key(|i| i.created_index);
        let invoices: Vec<Value> = list.iter().map(|i| invoice_json(i, now, garbage)).collect();
        Ok(json!({ "invoices": invoices }))
    }

    /// `fetchinvoice {offer, amount_msat?, quantity?, …, payer_note?, timeout?}` ->
    /// `{invoice, changes}`. Only the node's own offer is known here.
    fn fetchinvoice(&self, params: &Value, garbage: Option<GarbageKind>) -> Result<Value, RpcFail> {
        let p = named(
            params,
            &[
                "offer",
                "amount_msat",
                "quantity",
                "recurrence_counter",
                "recurrence_start",
                "recurrence_label",
                "timeout",
                "payer_note",
                "payer_metadata",
                "bip353",
            ],
        )?;
        let offer = string_param(&p, "offer")?
            .ok_or_else(|| fail(INVALID_PARAMS, "missing required parameter: offer"))?;
        if !offer.trim().eq_ignore_ascii_case(&self.offer) {
            return Err(fail(
                OFFER_BAD_INVREQ_REPLY,
                "Unknown offer: no node answered",
            ));
        }
        let amount = match p.get("amount_msat") {
            Some(v) => amount_param(v, "amount_msat")?,
            None => None,
        }
        .ok_or_else(|| {
            fail(
                INVALID_PARAMS,
                "amount_msat: required for an offer without amount",
            )
        })?;
        let note = string_param(&p, "payer_note")?.unwrap_or_default();

        let preimage = random32();
        let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();
        let issued_amount = match garbage {
            Some(GarbageKind::WrongAmount) => amount.saturating_add(1),
            _ => amount,
        };
        let created_at = now_unix();
        let relative_expiry = None;
        let foreign;
        let signer = if garbage == Some(GarbageKind::ForeignSignature) {
            foreign = NodeKey::generate();
            &foreign
        } else {
            &self.key
        };
        let lni = bolt12::issue_invoice(
            &self.key,
            signer,
            &self.offer_records,
            &InvoiceFields {
                amount_msat: issued_amount,
                payer_note: &note,
                created_at,
                relative_expiry,
                payment_hash,
            },
        );
        let mut store = self.store();
        let created_index = store.next_index();
        store.insert(Inv {
            label: format!(
                "{}-{}",
                hex(&sha256::Hash::hash(self.offer.as_bytes()).to_byte_array()),
                hex(&payment_hash)
            ),
            invstring: lni.clone(),
            bolt12: true,
            payment_hash,
            preimage,
            amount_msat: Some(issued_amount),
            description: note,
            expires_at: created_at + l402_cln::bolt12::DEFAULT_RELATIVE_EXPIRY_SECS,
            relative_expiry,
            created_index,
            status: Status::Unpaid,
        });
        let invoice = match garbage {
            Some(GarbageKind::UnparsableInvoice) => "lni1notaninvoice".to_owned(),
            Some(GarbageKind::HeaderInjection) => {
                let cut = lni.len() / 2;
                format!("{}+\r\n\r\n{}", &lni[..cut], &lni[cut..])
            }
            _ => lni,
        };
        Ok(json!({"invoice": invoice, "changes": {}}))
    }

    /// `decode {string}` for BOLT11 and BOLT12 invoices and BOLT12 offers.
    fn decode(&self, params: &Value, garbage: Option<GarbageKind>) -> Result<Value, RpcFail> {
        let p = named(params, &["string"])?;
        let s = string_param(&p, "string")?
            .ok_or_else(|| fail(INVALID_PARAMS, "missing required parameter: string"))?;
        let s = s.trim();
        let lower = s.to_ascii_lowercase();
        let lower = lower.strip_prefix("lightning:").unwrap_or(&lower);
        if garbage == Some(GarbageKind::UnparsableInvoice) {
            return Ok(json!({"type": "bolt12 invoice", "valid": false}));
        }
        if lower.starts_with("lni1") {
            let inv = Bolt12Invoice::parse(lower)
                .map_err(|e| fail(INVALID_PARAMS, format!("string: Unparsable invoice: {e}")))?;
            let reported_hash = match garbage {
                Some(GarbageKind::WrongPaymentHash) => random32(),
                _ => inv.payment_hash,
            };
            let mut out = json!({
                "type": "bolt12 invoice",
                "valid": true,
                "invoice_created_at": inv.created_at,
                "invoice_payment_hash": hex(&reported_hash),
                "invoice_amount_msat": inv.amount_msat,
                "invoice_node_id": hex(&inv.node_id),
                "offer_issuer_id": hex(&self.key.id.serialize()),
            });
            let explicit = self
                .store()
                .get(&inv.payment_hash)
                .and_then(|i| i.relative_expiry);
            if let (Some(rel), Some(obj)) = (explicit, out.as_object_mut()) {
                obj.insert("invoice_relative_expiry".to_owned(), json!(rel));
            }
            return Ok(out);
        }
        if lower.starts_with("lno1") {
            l402_cln::bolt12::check_offer(lower)
                .map_err(|e| fail(INVALID_PARAMS, format!("string: Unparsable offer: {e}")))?;
            return Ok(json!({
                "type": "bolt12 offer",
                "valid": true,
                "offer_id": hex(&sha256::Hash::hash(lower.as_bytes()).to_byte_array()),
            }));
        }
        let inv = Bolt11Invoice::from_str(lower)
            .map_err(|e| fail(INVALID_PARAMS, format!("string: Unparsable invoice: {e}")))?;
        let reported_hash = match garbage {
            Some(GarbageKind::WrongPaymentHash) => random32(),
            _ => inv.payment_hash().to_byte_array(),
        };
        let mut out = json!({
            "type": "bolt11 invoice",
            "valid": true,
            "currency": "bcrt",
            "created_at": inv.duration_since_epoch().as_secs(),
            "expiry": inv.expiry_time().as_secs(),
            "payee": hex(&inv.get_payee_pub_key().serialize()),
            "payment_hash": hex(&reported_hash),
            "min_final_cltv_expiry": inv.min_final_cltv_expiry_delta(),
        });
        if let (Some(a), Some(obj)) = (inv.amount_milli_satoshis(), out.as_object_mut()) {
            obj.insert("amount_msat".to_owned(), json!(a));
        }
        Ok(out)
    }
}

impl Default for Node {
    fn default() -> Self {
        Node::new()
    }
}

/// One entry of `listinvoices` (`doc/schemas/listinvoices.json`).
fn invoice_json(i: &Inv, now: u64, garbage: Option<GarbageKind>) -> Value {
    let status = match (i.status, garbage) {
        (_, Some(GarbageKind::UnparsableInvoice)) => "bogus",
        (Status::Paid { .. }, _) => "paid",
        (Status::Unpaid, _) if i.expires_at <= now => "expired",
        (Status::Unpaid, _) => "unpaid",
    };
    let mut v = json!({
        "label": i.label,
        "description": i.description,
        "payment_hash": hex(&i.payment_hash),
        "status": status,
        "expires_at": i.expires_at,
        "created_index": i.created_index,
    });
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    obj.insert(
        if i.bolt12 { "bolt12" } else { "bolt11" }.to_owned(),
        json!(i.invstring),
    );
    if let Some(a) = i.amount_msat {
        obj.insert("amount_msat".to_owned(), json!(a));
    }
    if let Status::Paid {
        pay_index,
        paid_at,
        received_msat,
    } = i.status
    {
        let preimage = match garbage {
            Some(GarbageKind::WrongPaymentHash) => random32(),
            _ => i.preimage,
        };
        let received = match garbage {
            Some(GarbageKind::WrongAmount) => received_msat.saturating_sub(1),
            _ => received_msat,
        };
        obj.insert("pay_index".to_owned(), json!(pay_index));
        obj.insert("amount_received_msat".to_owned(), json!(received));
        obj.insert("paid_at".to_owned(), json!(paid_at));
        obj.insert("payment_preimage".to_owned(), json!(hex(&preimage)));
    }
    v
}
