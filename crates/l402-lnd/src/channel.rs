//! The gRPC channel to LND, made on first use and remade after a failure.
//!
//! [`LazyChannel::new`] does no I/O and needs no runtime, so a backend can be built in the
//! nginx master or worker before any tokio runtime exists. The channel itself is created by
//! the first call (tonic spawns its connection task on the runtime running that call) and
//! connects lazily; tonic reconnects a broken connection by itself, and
//! [`LazyChannel::reset`] drops a channel whose call failed so the next call starts afresh.

use std::sync::{Arc, Mutex, MutexGuard};

use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::{tls, LndConfig};

/// A channel and the generation it belongs to (see [`LazyChannel::reset`]).
struct Slot {
    generation: u64,
    channel: Option<Channel>,
}

/// The one gRPC channel of a backend.
pub(crate) struct LazyChannel {
    config: Arc<LndConfig>,
    slot: Mutex<Slot>,
}

impl LazyChannel {
    /// Remembers the configuration; opens nothing.
    pub(crate) fn new(config: Arc<LndConfig>) -> LazyChannel {
        LazyChannel {
            config,
            slot: Mutex::new(Slot {
                generation: 0,
                channel: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic elsewhere while holding the lock leaves a valid Slot: keep going.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current channel and its generation, creating it if there is none. Must run
    /// inside a tokio runtime; outside one it fails instead of panicking.
    pub(crate) fn get(&self) -> Result<(u64, Channel), String> {
        let mut slot = self.lock();
        if let Some(channel) = &slot.channel {
            return Ok((slot.generation, channel.clone()));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err("called outside a tokio runtime".to_owned());
        }
        let channel = build(&self.config)?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.channel = Some(channel.clone());
        Ok((slot.generation, channel))
    }

    /// Drops the channel of `generation` after a failed call, unless another call already
    /// replaced it.
    pub(crate) fn reset(&self, generation: u64) {
        let mut slot = self.lock();
        if slot.generation == generation {
            slot.channel = None;
        }
    }
}

/// A lazily connecting channel whose connector does TCP, then TLS with the pinned cert.
fn build(config: &LndConfig) -> Result<Channel, String> {
    let tls = TlsConnector::from(Arc::new(tls::client_config(config.cert())?));
    // The scheme is http because TLS is done by the connector below, not by tonic; the
    // authority is only used for the HTTP/2 `:authority` header.
    let endpoint = Endpoint::from_shared(format!("http://{}", config.authority()))
        .map_err(|e| format!("bad endpoint: {e}"))?;
    let host = config.host().to_owned();
    let port = config.port();
    let server_name = config.server_name().clone();
    let connector = tower::service_fn(move |_: Uri| {
        let tls = tls.clone();
        let host = host.clone();
        let server_name = server_name.clone();
        async move {
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let stream = tls.connect(server_name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connector))
}
