//! The wallet service side of NIP-47: the relay connection (publish the info event,
//! subscribe to requests addressed to the wallet, reconnect when it drops) and the answers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use nostr::nips::{nip04, nip44};
use nostr::prelude::{Event, EventBuilder, FinalizeEvent, Keys, Kind, Tag, Timestamp};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::invoices::{now_unix, random32, DEFAULT_EXPIRY_SECS};
use crate::{hex, Behaviour, GarbageKind, Inner, WalletEncryption};

/// Info event kind (NIP-47).
pub const KIND_INFO: u16 = 13194;
/// Request kind.
pub const KIND_REQUEST: u16 = 23194;
/// Response kind.
pub const KIND_RESPONSE: u16 = 23195;

const SUB: &str = "wallet-requests";

/// Which encryption a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Nip04,
    Nip44,
}

/// Connects, serves and reconnects until the task is aborted. While the behaviour is
/// [`Behaviour::Offline`] it stays disconnected.
pub(crate) async fn run(inner: Arc<Inner>) {
    let mut behaviour = inner.behaviour.subscribe();
    loop {
        let _ = behaviour.wait_for(|b| *b != Behaviour::Offline).await;
        if let Ok(Ok((ws, _))) = timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(inner.relay.as_str())).await {
            serve(&inner, ws, &mut behaviour).await;
            inner.connected.send_replace(false);
        }
        sleep(Duration::from_millis(200)).await;
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn info_event(inner: &Inner) -> Result<Event, String> {
    let methods = inner.options.methods.join(" ");
    let encryption = match inner.options.encryption {
        WalletEncryption::Nip44 => "nip44_v2",
        WalletEncryption::Nip04 => "nip04",
        WalletEncryption::Both => "nip44_v2 nip04",
    };
    EventBuilder::new(Kind::from(KIND_INFO), methods)
        .tags([Tag::custom("encryption", [encryption])])
        .finalize(&inner.wallet_keys)
        .map_err(|e| e.to_string())
}

async fn serve(inner: &Arc<Inner>, mut ws: Ws, behaviour: &mut tokio::sync::watch::Receiver<Behaviour>) {
    let Ok(info) = info_event(inner) else { return };
    let filter = json!({
        "kinds": [KIND_REQUEST],
        "#p": [inner.wallet_keys.public_key().to_hex()],
        "since": now_unix(),
    });
    let mut frames = vec![json!(["REQ", SUB, filter])];
    if inner.options.publish_info {
        frames.insert(0, json!(["EVENT", info]));
    }
    for frame in frames {
        if ws.send(Message::text(frame.to_string())).await.is_err() {
            return;
        }
    }
    // Ready once the subscription is live (its EOSE).
    let ready = timeout(Duration::from_secs(5), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&t) {
                    if items.first().and_then(Value::as_str) == Some("EOSE") {
                        return true;
                    }
                }
            }
        }
        false
    })
    .await;
    if ready != Ok(true) {
        return;
    }
    inner.counters.connects.fetch_add(1, Ordering::Relaxed);
    inner.connected.send_replace(true);
    let (tx, mut rx) = mpsc::channel::<String>(64);
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => handle_frame(inner, &t, &tx),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => {
                if let Some(text) = out {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
            }
            changed = behaviour.changed() => {
                if changed.is_err() || *behaviour.borrow() == Behaviour::Offline {
                    let _ = ws.close(None).await;
                    return;
                }
            }
        }
    }
}

fn handle_frame(inner: &Arc<Inner>, text: &str, tx: &mpsc::Sender<String>) {
    let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(text) else { return };
    if items.first().and_then(Value::as_str) != Some("EVENT") || items.get(1).and_then(Value::as_str) != Some(SUB) {
        return;
    }
    let Some(Ok(request)) = items.get_mut(2).map(Value::take).map(serde_json::from_value::<Event>) else { return };
    if request.kind != Kind::from(KIND_REQUEST) || request.verify().is_err() {
        return;
    }
    let me = inner.wallet_keys.public_key();
    if !request.tags.public_keys().any(|p| p == me) {
        return;
    }
    if request.tags.expiration().is_some_and(|t| t.as_secs() < now_unix()) {
        return;
    }
    if request.pubkey != inner.client_keys.public_key() {
        inner.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        return;
    }
    inner.counters.requests.fetch_add(1, Ordering::Relaxed);
    let behaviour = inner.behaviour.borrow().clone();
    if behaviour == Behaviour::Silent {
        return;
    }
    let inner = Arc::clone(inner);
    let tx = tx.clone();
    tokio::spawn(async move {
        if let Behaviour::Slow(delay) = behaviour {
            sleep(delay).await;
        }
        if let Some(frame) = answer(&inner, &request, &behaviour) {
            if tx.send(frame).await.is_ok() {
                inner.counters.replies.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
}

fn error_reply(method: &str, code: &str, message: &str) -> String {
    json!({ "result_type": method, "error": { "code": code, "message": message }, "result": null }).to_string()
}

fn result_reply(method: &str, result: Value) -> String {
    json!({ "result_type": method, "error": null, "result": result }).to_string()
}

/// The `["EVENT", response]` frame answering `request`, or `None` to stay silent.
fn answer(inner: &Inner, request: &Event, behaviour: &Behaviour) -> Option<String> {
    let nip44_requested = request
        .tags
        .iter()
        .any(|t| t.kind() == "encryption" && t.content().is_some_and(|c| c.split_whitespace().any(|s| s == "nip44_v2")));
    let scheme = if nip44_requested { Scheme::Nip44 } else { Scheme::Nip04 };
    let supported = matches!(
        (inner.options.encryption, scheme),
        (WalletEncryption::Both, _) | (WalletEncryption::Nip44, Scheme::Nip44) | (WalletEncryption::Nip04, Scheme::Nip04)
    );
    let (plain, scheme) = if supported {
        match scheme {
            Scheme::Nip44 => inner.counters.nip44.fetch_add(1, Ordering::Relaxed),
            Scheme::Nip04 => inner.counters.nip04.fetch_add(1, Ordering::Relaxed),
        };
        let secret = inner.wallet_keys.secret_key();
        let decrypted = match scheme {
            Scheme::Nip44 => nip44::decrypt(secret, &request.pubkey, request.content.as_str()),
            Scheme::Nip04 => nip04::decrypt(secret, &request.pubkey, request.content.as_str()),
        };
        let content = match decrypted {
            Ok(text) => reply_content(inner, &text, behaviour),
            Err(_) => error_reply("", "OTHER", "cannot decrypt the request"),
        };
        (content, scheme)
    } else {
        (error_reply("", "UNSUPPORTED_ENCRYPTION", "this wallet does not support it"), Scheme::Nip04)
    };
    let secret = inner.wallet_keys.secret_key();
    let encrypted = match (behaviour, scheme) {
        (Behaviour::Undecryptable, Scheme::Nip44) => Ok("AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
        (Behaviour::Undecryptable, Scheme::Nip04) => Ok("bm90IGVuY3J5cHRlZA==?iv=AAAAAAAAAAAAAAAAAAAAAA==".to_owned()),
        (_, Scheme::Nip44) => nip44::encrypt(secret, &request.pubkey, &plain, nip44::Version::V2),
        (_, Scheme::Nip04) => nip04::encrypt(secret, &request.pubkey, &plain),
    }
    .ok()?;
    let answered = match behaviour {
        Behaviour::WrongRequest => nostr::prelude::EventId::from_byte_array(random32().unwrap_or([9; 32])),
        _ => request.id,
    };
    let mut tags = vec![Tag::public_key(request.pubkey), Tag::event(answered)];
    if scheme == Scheme::Nip44 {
        tags.push(Tag::custom("encryption", ["nip44_v2"]));
    }
    let signer = match behaviour {
        Behaviour::WrongSigner => Keys::generate(),
        _ => inner.wallet_keys.clone(),
    };
    let response = EventBuilder::new(Kind::from(KIND_RESPONSE), encrypted)
        .tags(tags)
        .custom_created_at(Timestamp::now())
        .finalize(&signer)
        .ok()?;
    let mut response = serde_json::to_value(&response).ok()?;
    if *behaviour == Behaviour::BadSignature {
        // Flip one bit of the 64-byte Schnorr signature (NIP-01 `sig`, BIP-340): the id and
        // everything else stay valid.
        let sig = response.get("sig").and_then(Value::as_str).and_then(hex::decode64)?;
        let mut sig = sig;
        sig[10] ^= 1;
        response["sig"] = json!(hex::encode(&sig));
    }
    Some(json!(["EVENT", response]).to_string())
}

/// The decrypted reply to a decrypted request.
fn reply_content(inner: &Inner, request: &str, behaviour: &Behaviour) -> String {
    let Ok(v) = serde_json::from_str::<Value>(request) else {
        return error_reply("", "OTHER", "request is not JSON");
    };
    let method = v.get("method").and_then(Value::as_str).unwrap_or("").to_owned();
    let params = v.get("params").cloned().unwrap_or(Value::Null);
    match method.as_str() {
        "make_invoice" => inner.counters.make_invoice.fetch_add(1, Ordering::Relaxed),
        "lookup_invoice" => inner.counters.lookup_invoice.fetch_add(1, Ordering::Relaxed),
        _ => 0,
    };
    if !inner.options.methods.contains(&method) {
        return error_reply(&method, "NOT_IMPLEMENTED", "method not offered by this wallet");
    }
    match behaviour {
        Behaviour::Error(code) => return error_reply(&method, code, &format!("test wallet error {code}")),
        Behaviour::Garbage(GarbageKind::NotJson) => return "<html>this is not JSON</html>".to_owned(),
        _ => {}
    }
    match method.as_str() {
        "make_invoice" => make_invoice(inner, &params, behaviour),
        "lookup_invoice" => lookup_invoice(inner, &params, behaviour),
        _ => error_reply(&method, "NOT_IMPLEMENTED", "unknown method"),
    }
}

fn make_invoice(inner: &Inner, params: &Value, behaviour: &Behaviour) -> String {
    const METHOD: &str = "make_invoice";
    let Some(amount) = params.get("amount").and_then(Value::as_u64).filter(|a| *a > 0) else {
        return error_reply(METHOD, "OTHER", "amount (msat) is required");
    };
    let description = params.get("description").and_then(Value::as_str).unwrap_or("");
    let expiry = params.get("expiry").and_then(Value::as_u64).unwrap_or(DEFAULT_EXPIRY_SECS);
    let issued_amount = if *behaviour == Behaviour::WrongAmount { amount + 1000 } else { amount };
    let entry = match inner.invoices().issue(issued_amount, description, expiry) {
        Ok(e) => e,
        Err(e) => return error_reply(METHOD, "INTERNAL", &e),
    };
    let mut result = entry.to_json(now_unix());
    match behaviour {
        Behaviour::Garbage(GarbageKind::Unparsable) => result["invoice"] = json!("lnbcrt1thisisnotaninvoice"),
        Behaviour::Garbage(GarbageKind::WrongHash) => {
            result["payment_hash"] = json!(hex::encode(&random32().unwrap_or([7; 32])));
        }
        _ => {}
    }
    result_reply(METHOD, result)
}

fn lookup_invoice(inner: &Inner, params: &Value, behaviour: &Behaviour) -> String {
    const METHOD: &str = "lookup_invoice";
    let hash = params.get("payment_hash").and_then(Value::as_str).and_then(hex::decode32);
    let Some(hash) = hash else {
        return error_reply(METHOD, "OTHER", "payment_hash is required");
    };
    let entry = inner.invoices().get(&hash).cloned();
    let Some(entry) = entry else {
        return error_reply(METHOD, "NOT_FOUND", "invoice not found");
    };
    let mut result = entry.to_json(now_unix());
    match behaviour {
        Behaviour::NoPreimage => {
            if let Some(m) = result.as_object_mut() {
                m.remove("preimage");
            }
        }
        Behaviour::Garbage(GarbageKind::WrongHash) => {
            if entry.settled_at.is_some() {
                result["preimage"] = json!(hex::encode(&random32().unwrap_or([7; 32])));
            } else {
                result["payment_hash"] = json!(hex::encode(&random32().unwrap_or([7; 32])));
            }
        }
        Behaviour::Garbage(GarbageKind::Unparsable) => result["settled_at"] = json!("not a time"),
        _ => {}
    }
    result_reply(METHOD, result)
}
