//! Connecting to each kind of deployment, and the one connection a store shares.
//!
//! - Standalone (and TLS): a [`ConnectionManager`] (multiplexed; reconnects by itself, one
//!   reconnect in flight).
//! - Cluster: the async cluster connection (multiplexed per node; follows `MOVED`/`ASK`,
//!   refreshes slots).
//! - Sentinel: the master's address is asked from the sentinels in order
//!   (`SENTINEL get-master-addr-by-name`), the node is checked to be a master (`ROLE`), and a
//!   multiplexed connection is kept until it fails; the store then asks the sentinels again,
//!   which is how a failover is followed.

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
    AsyncConnectionConfig, Client, Cmd, ConnectionAddr, RedisConnectionInfo, RedisError,
    RedisFuture, RedisResult, TlsCertificates, Value,
};

use crate::config::{RedisConfig, RedisUrl, Topology};

/// One shared, cheaply clonable connection to the deployment.
#[derive(Clone)]
pub(crate) enum Conn {
    Manager(ConnectionManager),
    Cluster(ClusterConnection),
    Master(MultiplexedConnection),
}

impl Conn {
    /// Whether the store should drop this connection after a connection failure and connect
    /// afresh (Sentinel: find the master again). The others reconnect by themselves.
    pub(crate) fn discard_on_failure(&self) -> bool {
        matches!(self, Conn::Master(_))
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Master(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Manager(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Master(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Master(c) => c.get_db(),
        }
    }
}

fn client_error(msg: &'static str) -> RedisError {
    RedisError::from((redis::ErrorKind::Client, msg))
}

fn certs(cfg: &RedisConfig) -> Option<TlsCertificates> {
    cfg.ca.as_ref().map(|ca| TlsCertificates {
        client_tls: None,
        root_cert: Some(ca.pem.to_vec()),
    })
}

fn client_for(cfg: &RedisConfig, info: redis::ConnectionInfo) -> RedisResult<Client> {
    match certs(cfg) {
        Some(c) => Client::build_with_tls(info, c),
        None => Client::open(info),
    }
}

fn conn_config(cfg: &RedisConfig) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(cfg.connect_timeout))
        .set_response_timeout(Some(cfg.command_timeout))
}

/// rustls needs a process-wide crypto provider; install ring's unless someone else (another
/// crate of the same process) already installed one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: one provider is in place either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Establishes the connection (the caller bounds it by `connect_timeout`).
pub(crate) async fn connect(cfg: &RedisConfig) -> RedisResult<Conn> {
    if cfg.uses_tls() {
        ensure_crypto_provider();
    }
    match &cfg.topology {
        Topology::Standalone(url) => {
            let client = client_for(cfg, url.connection_info().clone())?;
            let mgr_cfg = ConnectionManagerConfig::new()
                .set_number_of_retries(0)
                .set_connection_timeout(Some(cfg.connect_timeout))
                .set_response_timeout(Some(cfg.command_timeout));
            Ok(Conn::Manager(
                ConnectionManager::new_with_config(client, mgr_cfg).await?,
            ))
        }
        Topology::Cluster(urls) => {
            let infos: Vec<redis::ConnectionInfo> =
                urls.iter().map(|u| u.connection_info().clone()).collect();
            let mut b = ClusterClientBuilder::new(infos)
                .connection_timeout(cfg.connect_timeout)
                .response_timeout(cfg.command_timeout)
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(100);
            if let Some(c) = certs(cfg) {
                b = b.certs(c);
            }
            Ok(Conn::Cluster(b.build()?.get_async_connection().await?))
        }
        Topology::Sentinel {
            master_name,
            sentinels,
        } => connect_master(cfg, master_name, sentinels).await,
    }
}

async fn connect_master(
    cfg: &RedisConfig,
    master_name: &str,
    sentinels: &[RedisUrl],
) -> RedisResult<Conn> {
    let Some(first) = sentinels.first() else {
        return Err(client_error("no sentinel configured"));
    };
    let mut last = client_error("no sentinel knows the master");
    for s in sentinels {
        // Sentinels are asked without the master's credentials and database.
        let info = s
            .connection_info()
            .clone()
            .set_redis_settings(RedisConnectionInfo::default());
        let addr = async {
            let mut c = client_for(cfg, info)?
                .get_multiplexed_async_connection_with_config(&conn_config(cfg))
                .await?;
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master_name)
                .query_async::<Option<(String, u16)>>(&mut c)
                .await
        }
        .await;
        let (host, port) = match addr {
            Ok(Some(a)) => a,
            Ok(None) => {
                last = client_error("a sentinel does not know the master name");
                continue;
            }
            Err(e) => {
                last = e;
                continue;
            }
        };
        let addr = if first.tls() {
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host, port)
        };
        let mut settings = RedisConnectionInfo::default().set_db(first.db());
        if let Some(u) = first.username() {
            settings = settings.set_username(u);
        }
        if let Some(p) = first.password() {
            settings = settings.set_password(p);
        }
        let info = first
            .connection_info()
            .clone()
            .set_addr(addr)
            .set_redis_settings(settings);
        let master = async {
            let mut c = client_for(cfg, info)?
                .get_multiplexed_async_connection_with_config(&conn_config(cfg))
                .await?;
            let role: Vec<Value> = redis::cmd("ROLE").query_async(&mut c).await?;
            match role.first() {
                Some(Value::BulkString(r)) if r.as_slice() == b"master" => Ok(c),
                Some(Value::SimpleString(r)) if r == "master" => Ok(c),
                _ => Err(client_error(
                    "the node a sentinel named as master is not a master (failover in progress)",
                )),
            }
        }
        .await;
        match master {
            Ok(c) => return Ok(Conn::Master(c)),
            Err(e) => last = e,
        }
    }
    Err(last)
}
