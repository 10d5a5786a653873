//! The files an LND node writes for its clients: `tls.cert` (self-signed, PEM), `tls.key`
//! and `admin.macaroon` (binary, version 2).

use std::io;
use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::store::random32;

/// Credentials written to the node's directory.
pub(crate) struct Credentials {
    pub(crate) cert_path: PathBuf,
    pub(crate) macaroon_path: PathBuf,
    pub(crate) cert: CertificateDer<'static>,
    pub(crate) key: PrivateKeyDer<'static>,
    pub(crate) macaroon_hex: String,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// A binary version-2 macaroon shaped like LND's (`macaroon.v2` `MarshalBinary`: version
/// byte 2, location and identifier fields, end of header, no caveats, end of caveats,
/// 32-byte signature). The signature is random: the test node compares the whole macaroon.
fn macaroon() -> io::Result<Vec<u8>> {
    fn field(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
        out.push(kind);
        out.push(data.len() as u8); // every field here is shorter than 128 bytes (1-byte varint)
        out.extend_from_slice(data);
    }
    let id = random32().map_err(other)?;
    let sig = random32().map_err(other)?;
    let mut m = vec![2u8];
    field(&mut m, 1, b"lnd");
    let mut identifier = vec![3u8]; // LND's identifier version
    identifier.extend_from_slice(&id);
    field(&mut m, 2, &identifier);
    m.push(0); // end of header
    m.push(0); // end of caveats
    field(&mut m, 6, &sig);
    Ok(m)
}

/// Writes a file readable by its owner only (mode 0600), as LND writes its key and macaroons.
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(data)
}

/// Writes `tls.cert`, `tls.key` and `admin.macaroon` into `dir` (created if missing).
pub(crate) fn write(dir: &Path) -> io::Result<Credentials> {
    std::fs::create_dir_all(dir)?;
    // LND's certificate names localhost and the node's addresses; clients pin it anyway.
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(other)?;
    let cert_path = dir.join("tls.cert");
    std::fs::write(&cert_path, certified.cert.pem())?;
    write_private(
        &dir.join("tls.key"),
        certified.signing_key.serialize_pem().as_bytes(),
    )?;
    let macaroon = macaroon()?;
    let macaroon_path = dir.join("admin.macaroon");
    write_private(&macaroon_path, &macaroon)?;
    Ok(Credentials {
        cert_path,
        macaroon_path,
        cert: certified.cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        )),
        macaroon_hex: hex::encode(macaroon),
    })
}
