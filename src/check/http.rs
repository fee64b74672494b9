//! `HTTP_GET` and `SSL_GET`: fetch each `url` on a fresh connection and
//! check the status code (default 200-299) and, when given, the MD5 digest
//! of the body (the value `genhash` prints) and the `regex` test
//! ([`super::body_regex`]).
//!
//! As keepalived: no redirects are followed, no connection is reused, the
//! Host header is the url's `virtualhost`, else the checker's, the real
//! server's, the virtual server's, else the address; TLS certificates are not
//! verified. Beyond keepalived: with `SSL { ca FILE }` the server certificate
//! is verified against that CA (for the virtualhost name, else the address).
//!
//! `connect_timeout` bounds the connect, the TLS handshake, and the whole
//! exchange (request, headers and body) separately. One probe checks every
//! url in order and fails on the first that fails; there is no delay between
//! urls (keepalived's `fast_recovery` behaviour).

use super::body_regex::BodyRegex;
use super::connect::{describe_addr, io_reason, secs, ConnectTarget};
use super::probe::{Probe, ProbeFuture, ProbeOutcome};
use crate::config::model::lvs::{HttpProtocol, SslContext, StatusCodeRange};
use md5::{Digest, Md5};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// keepalived's User-Agent, so real servers' logs and filters see the same client.
pub const USER_AGENT_VALUE: &str = "KeepAliveClient";

/// Bodies larger than this fail the check instead of being hashed without end.
pub const MAX_BODY: usize = 16 << 20;

/// One `url { }` block, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlCheck {
    pub path: String,
    /// Expected MD5 of the body, lower-case hex.
    pub digest: Option<String>,
    /// Accepted status codes (empty: 200-299).
    pub status_codes: Vec<StatusCodeRange>,
    /// The Host header (and the TLS server name when it is a DNS name).
    pub host: String,
    /// The `regex` test, or why its pattern could not be compiled (then the
    /// check fails with that reason).
    pub regex: Option<Result<BodyRegex, String>>,
}

impl UrlCheck {
    pub fn accepts_status(&self, code: u16) -> bool {
        if self.status_codes.is_empty() {
            (200..=299).contains(&code)
        } else {
            self.status_codes
                .iter()
                .any(|r| (r.first..=r.last).contains(&code))
        }
    }
}

/// The TLS side of an SSL_GET: the client configuration (or why it could not
/// be built: then every check fails with that reason, rather than silently
/// running without the verification the configuration asked for).
#[derive(Clone)]
pub struct TlsClient {
    pub config: Result<Arc<ClientConfig>, String>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.config {
            Ok(_) => f.write_str("TlsClient(ok)"),
            Err(e) => write!(f, "TlsClient(error: {e})"),
        }
    }
}

/// The two client configurations (SNI sent or not) built from the `SSL`
/// block, shared by every SSL_GET checker.
#[derive(Clone, Debug)]
pub struct TlsClients {
    pub with_sni: TlsClient,
    pub without_sni: TlsClient,
}

impl TlsClients {
    pub fn new(ssl: Option<&SslContext>) -> Self {
        match client_config(ssl) {
            Ok(cfg) => {
                let mut without = cfg.clone();
                without.enable_sni = false;
                TlsClients {
                    with_sni: TlsClient {
                        config: Ok(Arc::new(cfg)),
                    },
                    without_sni: TlsClient {
                        config: Ok(Arc::new(without)),
                    },
                }
            }
            Err(e) => TlsClients {
                with_sni: TlsClient {
                    config: Err(e.clone()),
                },
                without_sni: TlsClient { config: Err(e) },
            },
        }
    }

    pub fn pick(&self, sni: bool) -> TlsClient {
        if sni {
            self.with_sni.clone()
        } else {
            self.without_sni.clone()
        }
    }
}

/// The rustls client configuration for the `SSL` block: certificates are
/// verified only when `ca` is given; `certificate` + `key` add a client
/// certificate.
pub fn client_config(ssl: Option<&SslContext>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let ca = ssl.and_then(|s| s.ca.as_deref());
    let builder = match ca {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs =
                CertificateDer::pem_file_iter(path).map_err(|e| format!("SSL ca {path}: {e}"))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("SSL ca {path}: {e}"))?;
                roots.add(cert).map_err(|e| format!("SSL ca {path}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("SSL ca {path}: no certificate in the file"));
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider })),
    };
    let cert = ssl.and_then(|s| s.certificate.as_deref());
    let key = ssl.and_then(|s| s.key.as_deref());
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| format!("SSL certificate {cert}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("SSL certificate {cert}: {e}"))?;
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("SSL key {key}: {e} (encrypted keys are not supported)"))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| format!("SSL certificate/key: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// keepalived's default: any server certificate is accepted. The handshake
/// signatures are still checked, so the peer holds the key of the
/// certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What one GET returned.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub status: u16,
    /// `HTTP/1.0` or `HTTP/1.1`, as the status line said.
    pub version: &'static str,
    /// The response headers as received (name, value); filled only with
    /// [`BodyUse::DigestAndKeep`] (genhash -v), the checks never look at them.
    pub headers: Vec<(String, Vec<u8>)>,
    /// MD5 of the body, lower-case hex (when the body was read).
    pub digest: Option<String>,
    /// The body (when asked to keep it).
    pub body: Option<Vec<u8>>,
}

/// What to do with the body of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyUse {
    /// Do not read it (no digest configured).
    Ignore,
    /// Hash it.
    Digest,
    /// Hash it and keep it (genhash -v).
    DigestAndKeep,
}

/// One GET of `path` on a fresh connection to `target`, over TLS when `tls`
/// is given.
pub async fn fetch(
    target: &ConnectTarget,
    tls: Option<&TlsClient>,
    protocol: HttpProtocol,
    path: &str,
    host: &str,
    body: BodyUse,
) -> Result<Fetched, String> {
    let request = build_request(protocol, path, host)?;
    fetch_request(target, tls, &request, host, body).await
}

/// [`fetch`] with the request already written out by [`build_request`].
pub async fn fetch_request(
    target: &ConnectTarget,
    tls: Option<&TlsClient>,
    request: &[u8],
    host: &str,
    body: BodyUse,
) -> Result<Fetched, String> {
    let stream = target.connect().await?;
    match tls {
        None => exchange(stream, request, body, target.timeout).await,
        Some(tls) => {
            let config = tls.config.clone()?;
            let name = server_name(host, &target.addr);
            let connector = tokio_rustls::TlsConnector::from(config);
            let stream =
                match tokio::time::timeout(target.timeout, connector.connect(name, stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return Err(format!("TLS handshake: {}", tls_reason(&e))),
                    Err(_) => {
                        return Err(format!(
                            "TLS handshake timeout after {}",
                            secs(target.timeout)
                        ))
                    }
                };
            exchange(stream, request, body, target.timeout).await
        }
    }
}

/// The TLS server name: the virtualhost when it is a DNS name, else the address.
fn server_name(host: &str, addr: &SocketAddr) -> ServerName<'static> {
    let name = host_without_port(host);
    match ServerName::try_from(name.to_owned()) {
        Ok(ServerName::DnsName(d)) => ServerName::DnsName(d),
        _ => ServerName::IpAddress(addr.ip().into()),
    }
}

/// `www.example.com:8080` → `www.example.com`; `[::1]:80` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn tls_reason(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => io_reason(e),
    }
}

/// The request keepalived sends: `GET path HTTP/1.x` with Host and
/// User-Agent, and `Connection: close` for 1.0c and 1.1 (no body, no
/// keep-alive). The path must be a valid request target and the host a
/// valid header value.
pub fn build_request(protocol: HttpProtocol, path: &str, host: &str) -> Result<Vec<u8>, String> {
    let path = if path.is_empty() { "/" } else { path };
    // A request target: visible ASCII, no spaces or controls (RFC 9112 3.2).
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("invalid url path '{path}': invalid uri character"));
    }
    // A header value: no control characters but tab (RFC 9110 5.5).
    if host.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!("invalid virtualhost '{host}'"));
    }
    let (version, close) = match protocol {
        HttpProtocol::Http10 => ("HTTP/1.0", false),
        HttpProtocol::Http10Close => ("HTTP/1.0", true),
        HttpProtocol::Http11 => ("HTTP/1.1", true),
    };
    let mut r =
        format!("GET {path} {version}\r\nHost: {host}\r\nUser-Agent: {USER_AGENT_VALUE}\r\n");
    if close {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    Ok(r.into_bytes())
}

/// Longest response head accepted.
const MAX_HEAD: usize = 64 << 10;
/// Most response headers accepted.
const MAX_HEADERS: usize = 100;

/// A read buffer over the connection: `buf[start..end]` is unread.
struct Reader<S> {
    stream: S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<S: AsyncRead + Unpin> Reader<S> {
    fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Read more after what is unread (growing the buffer up to `limit`
    /// bytes of unread data). Ok(0): end of stream.
    async fn fill(&mut self, limit: usize) -> std::io::Result<usize> {
        use tokio::io::AsyncReadExt;
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= limit {
                return Err(std::io::Error::other("line or response head too large"));
            }
            let grown = (self.buf.len() * 2).clamp(4096, limit);
            self.buf.resize(grown, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        self.end += n;
        Ok(n)
    }
}

/// How the body of a response ends (RFC 9112 6.3).
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A body read error for the check's reason.
fn body_error(e: std::io::Error) -> String {
    format!("reading the body: {}", io_reason(&e))
}

/// Send the request and read the answer on an established connection.
async fn exchange<S>(
    mut stream: S,
    request: &[u8],
    body_use: BodyUse,
    timeout: Duration,
) -> Result<Fetched, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let work = async {
        stream
            .write_all(request)
            .await
            .map_err(|e| format!("HTTP: sending the request: {}", io_reason(&e)))?;
        stream
            .flush()
            .await
            .map_err(|e| format!("HTTP: sending the request: {}", io_reason(&e)))?;
        let mut r = Reader {
            stream,
            buf: vec![0; 4096],
            start: 0,
            end: 0,
        };
        let (mut fetched, framing) = read_head(&mut r, body_use).await?;
        if body_use == BodyUse::Ignore {
            return Ok(fetched);
        }
        let mut sink = BodySink {
            hasher: Md5::new(),
            kept: (body_use == BodyUse::DigestAndKeep).then(Vec::new),
            len: 0,
        };
        match framing {
            Framing::None => {}
            Framing::Length(n) => read_length(&mut r, &mut sink, n).await?,
            Framing::Chunked => read_chunked(&mut r, &mut sink).await?,
            Framing::UntilClose => read_to_close(&mut r, &mut sink).await?,
        }
        fetched.digest = Some(hex(&sink.hasher.finalize()));
        fetched.body = sink.kept;
        Ok(fetched)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete answer within {}", secs(timeout))),
    }
}

/// Read and parse the response head (skipping 1xx interim responses).
async fn read_head<S: AsyncRead + Unpin>(
    r: &mut Reader<S>,
    body_use: BodyUse,
) -> Result<(Fetched, Framing), String> {
    loop {
        let parsed = {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(r.unread()) {
                Ok(httparse::Status::Complete(len)) => Some(head_of(&resp, len, body_use)?),
                Ok(httparse::Status::Partial) => None,
                Err(e) => return Err(format!("HTTP: invalid response head: {e}")),
            }
        };
        match parsed {
            Some((len, fetched, _))
                if (100..200).contains(&fetched.status) && fetched.status != 101 =>
            {
                r.consume(len);
            }
            Some((len, fetched, framing)) => {
                r.consume(len);
                return Ok((fetched, framing));
            }
            None => match r.fill(MAX_HEAD).await {
                Ok(0) => {
                    return Err(if r.unread().is_empty() {
                        "HTTP: connection closed before a response".into()
                    } else {
                        "HTTP: connection closed within the response head".into()
                    })
                }
                Ok(_) => {}
                Err(e) => return Err(format!("HTTP: reading the response: {}", io_reason(&e))),
            },
        }
    }
}

/// The parts of a complete head: its length, what the caller sees, and the
/// body's framing.
fn head_of(
    resp: &httparse::Response<'_, '_>,
    len: usize,
    body_use: BodyUse,
) -> Result<(usize, Fetched, Framing), String> {
    let status = resp.code.unwrap_or(0);
    let version = if resp.version == Some(0) {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let mut chunked = false;
    let mut length: Option<u64> = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides (RFC 9112 6.3).
            chunked = h
                .value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or("HTTP: invalid content-length")?;
            if length.is_some_and(|l| l != n) {
                return Err("HTTP: conflicting content-length".into());
            }
            length = Some(n);
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else {
        match length {
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    };
    let headers = if body_use == BodyUse::DigestAndKeep {
        resp.headers
            .iter()
            .map(|h| (h.name.to_owned(), h.value.to_vec()))
            .collect()
    } else {
        Vec::new()
    };
    Ok((
        len,
        Fetched {
            status,
            version,
            headers,
            digest: None,
            body: None,
        },
        framing,
    ))
}

/// Where the body goes: the digest, and a copy when kept.
struct BodySink {
    hasher: Md5,
    kept: Option<Vec<u8>>,
    len: usize,
}

impl BodySink {
    fn take(&mut self, data: &[u8]) -> Result<(), String> {
        self.len += data.len();
        if self.len > MAX_BODY {
            return Err(format!("body larger than {MAX_BODY} bytes"));
        }
        self.hasher.update(data);
        if let Some(k) = &mut self.kept {
            k.extend_from_slice(data);
        }
        Ok(())
    }
}

/// A body of `Content-Length` bytes.
async fn read_length<S: AsyncRead + Unpin>(
    r: &mut Reader<S>,
    sink: &mut BodySink,
    mut left: u64,
) -> Result<(), String> {
    if left > MAX_BODY as u64 {
        return Err(format!("body larger than {MAX_BODY} bytes"));
    }
    loop {
        let have = r.unread();
        let n = have.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        sink.take(&have[..n])?;
        r.consume(n);
        left -= n as u64;
        if left == 0 {
            return Ok(());
        }
        match r.fill(usize::MAX).await {
            Ok(0) => return Err("reading the body: connection closed before the end".into()),
            Ok(_) => {}
            Err(e) => return Err(body_error(e)),
        }
    }
}

/// A body that ends when the server closes the connection. Over TLS a
/// close without close_notify also ends it (as keepalived reads it).
async fn read_to_close<S: AsyncRead + Unpin>(
    r: &mut Reader<S>,
    sink: &mut BodySink,
) -> Result<(), String> {
    loop {
        sink.take(r.unread())?;
        r.consume(r.end - r.start);
        match r.fill(usize::MAX).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(body_error(e)),
        }
    }
}

/// A chunked body (RFC 9112 7.1); trailers are not read.
async fn read_chunked<S: AsyncRead + Unpin>(
    r: &mut Reader<S>,
    sink: &mut BodySink,
) -> Result<(), String> {
    const CLOSED: &str = "reading the body: connection closed within a chunk";
    loop {
        // The chunk-size line.
        let size = loop {
            match httparse::parse_chunk_size(r.unread()) {
                Ok(httparse::Status::Complete((used, size))) => {
                    r.consume(used);
                    break size;
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err("reading the body: invalid chunk size".into()),
            }
            // A size line is short: 4 KiB of it is garbage.
            match r.fill(4096).await {
                Ok(0) => return Err(CLOSED.into()),
                Ok(_) => {}
                Err(e) => return Err(body_error(e)),
            }
        };
        if size == 0 {
            return Ok(());
        }
        if size > MAX_BODY as u64 {
            return Err(format!("body larger than {MAX_BODY} bytes"));
        }
        // The chunk's data, then its CRLF.
        let mut left = size + 2;
        loop {
            let have = r.unread();
            let n = have.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let data_n = usize::try_from(left.saturating_sub(2))
                .unwrap_or(usize::MAX)
                .min(n);
            sink.take(&have[..data_n])?;
            let crlf = &have[data_n..n];
            let crlf_at = (size + 2 - left).saturating_sub(size) as usize;
            if crlf
                .iter()
                .enumerate()
                .any(|(i, b)| *b != b"\r\n"[crlf_at + i])
            {
                return Err("reading the body: invalid chunk end".into());
            }
            r.consume(n);
            left -= n as u64;
            if left == 0 {
                break;
            }
            match r.fill(usize::MAX).await {
                Ok(0) => return Err(CLOSED.into()),
                Ok(_) => {}
                Err(e) => return Err(body_error(e)),
            }
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One HTTP_GET or SSL_GET checker.
#[derive(Clone, Debug)]
pub struct HttpProbe {
    target: ConnectTarget,
    tls: Option<TlsClient>,
    urls: Vec<UrlCheck>,
    /// Per url: the request bytes, written once (or why they cannot be).
    requests: Vec<Result<Vec<u8>, String>>,
}

impl HttpProbe {
    /// `tls`: `Some` for SSL_GET.
    pub fn new(
        target: ConnectTarget,
        tls: Option<TlsClient>,
        protocol: HttpProtocol,
        urls: Vec<UrlCheck>,
    ) -> Self {
        let requests = urls
            .iter()
            .map(|u| build_request(protocol, &u.path, &u.host))
            .collect();
        HttpProbe {
            target,
            tls,
            urls,
            requests,
        }
    }

    async fn check_url(
        &self,
        url: &UrlCheck,
        request: &Result<Vec<u8>, String>,
    ) -> Result<(), String> {
        let body = if url.regex.is_some() {
            BodyUse::DigestAndKeep
        } else if url.digest.is_some() {
            BodyUse::Digest
        } else {
            BodyUse::Ignore
        };
        let fetched = match request {
            Ok(request) => {
                fetch_request(&self.target, self.tls.as_ref(), request, &url.host, body).await
            }
            Err(e) => Err(e.clone()),
        }
        .map_err(|e| format!("{}: {e}", url.path))?;
        if !url.accepts_status(fetched.status) {
            return Err(format!("{}: status {}", url.path, fetched.status));
        }
        if let (Some(want), Some(got)) = (&url.digest, &fetched.digest) {
            if !want.eq_ignore_ascii_case(got) {
                return Err(format!("{}: digest mismatch ({got})", url.path));
            }
        }
        match &url.regex {
            None => {}
            Some(Err(e)) => return Err(format!("{}: {e}", url.path)),
            Some(Ok(re)) => re
                .check(fetched.body.as_deref().unwrap_or_default())
                .map_err(|e| format!("{}: {e}", url.path))?,
        }
        Ok(())
    }
}

impl Probe for HttpProbe {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            if self.urls.is_empty() {
                return ProbeOutcome::Down("no url to check".into());
            }
            for (url, request) in self.urls.iter().zip(&self.requests) {
                if let Err(reason) = self.check_url(url, request).await {
                    return ProbeOutcome::Down(reason);
                }
            }
            ProbeOutcome::Up
        })
    }

    fn describe(&self) -> String {
        let kind = if self.tls.is_some() {
            "SSL_GET"
        } else {
            "HTTP_GET"
        };
        format!("{kind} {}", describe_addr(&self.target.addr))
    }
}

/// The Host header when nobody configures a virtualhost: the address, with
/// the port unless it is the scheme's default.
pub fn default_host(addr: &SocketAddr, tls: bool) -> String {
    let default_port = if tls { 443 } else { 80 };
    let ip = match addr.ip() {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    if addr.port() == default_port {
        ip
    } else {
        format!("{ip}:{}", addr.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        let mut u = UrlCheck {
            path: "/".into(),
            digest: None,
            status_codes: vec![],
            host: "h".into(),
            regex: None,
        };
        assert!(u.accepts_status(200) && u.accepts_status(299) && !u.accepts_status(301));
        u.status_codes = vec!["301-302".parse().unwrap(), "503".parse().unwrap()];
        assert!(u.accepts_status(302) && u.accepts_status(503) && !u.accepts_status(200));
    }

    #[test]
    fn hosts_and_server_names() {
        let a: SocketAddr = "10.0.0.2:80".parse().unwrap();
        assert_eq!(default_host(&a, false), "10.0.0.2");
        assert_eq!(default_host(&a, true), "10.0.0.2:80");
        let b: SocketAddr = "[2001:db8::1]:443".parse().unwrap();
        assert_eq!(default_host(&b, true), "[2001:db8::1]");
        assert_eq!(host_without_port("www.example.com:8080"), "www.example.com");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
        assert_eq!(host_without_port("www.example.com"), "www.example.com");
        assert!(matches!(
            server_name("www.example.com", &a),
            ServerName::DnsName(_)
        ));
        assert!(matches!(
            server_name("10.0.0.2:8443", &a),
            ServerName::IpAddress(_)
        ));
    }

    #[test]
    fn requests_follow_http_protocol() {
        let text =
            |p, path, host| String::from_utf8(build_request(p, path, host).unwrap()).unwrap();
        assert_eq!(
            text(HttpProtocol::Http10, "", "h"),
            "GET / HTTP/1.0\r\nHost: h\r\nUser-Agent: KeepAliveClient\r\n\r\n"
        );
        assert_eq!(
            text(HttpProtocol::Http10Close, "/x?y=1", "h"),
            "GET /x?y=1 HTTP/1.0\r\nHost: h\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\n\r\n"
        );
        assert!(text(HttpProtocol::Http11, "/", "h").starts_with("GET / HTTP/1.1\r\n"));
        assert!(text(HttpProtocol::Http11, "/", "h").contains("\r\nConnection: close\r\n"));
        assert!(build_request(HttpProtocol::Http11, "/a b", "h").is_err());
        assert!(build_request(HttpProtocol::Http11, "/", "bad\nhost").is_err());
    }

    /// Runs `exchange` against a canned answer.
    fn answer(raw: &[u8], body: BodyUse) -> Result<Fetched, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let raw = raw.to_vec();
        rt.block_on(async move {
            let (client, mut server) = tokio::io::duplex(64);
            let serve = async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut req = [0u8; 256];
                let _ = server.read(&mut req).await;
                // Small writes: the parser must cope with any split.
                for part in raw.chunks(7) {
                    if server.write_all(part).await.is_err() {
                        return;
                    }
                }
            };
            let (r, ()) = tokio::join!(
                exchange(
                    client,
                    b"GET / HTTP/1.0\r\n\r\n",
                    body,
                    Duration::from_secs(5)
                ),
                serve
            );
            r
        })
    }

    #[test]
    fn responses_by_length_chunks_and_close() {
        let want = hex(&Md5::digest(b"hello, checker\n"));
        let by_length = b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\nhello, checker\nTRAILING";
        let f = answer(by_length, BodyUse::DigestAndKeep).unwrap();
        assert_eq!((f.status, f.version), (200, "HTTP/1.1"));
        assert_eq!(f.digest.as_deref(), Some(want.as_str()));
        assert_eq!(
            f.headers,
            vec![("Content-Length".to_owned(), b"15".to_vec())]
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        7\r\nhello, \r\n8;ext=1\r\nchecker\n\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let f = answer(chunked, BodyUse::DigestAndKeep).unwrap();
        assert_eq!(f.body.as_deref(), Some(&b"hello, checker\n"[..]));
        assert_eq!(f.digest.as_deref(), Some(want.as_str()));
        let to_close = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello, checker\n";
        let f = answer(to_close, BodyUse::Digest).unwrap();
        assert_eq!(
            (f.version, f.digest.as_deref()),
            ("HTTP/1.0", Some(want.as_str()))
        );
        assert!(f.headers.is_empty() && f.body.is_none());
        let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 No\r\nContent-Length: 0\r\n\r\n";
        let f = answer(interim, BodyUse::Digest).unwrap();
        assert_eq!(f.status, 503);
        assert_eq!(
            f.digest.as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        let f = answer(b"HTTP/1.1 204 No Content\r\n\r\n", BodyUse::Digest).unwrap();
        assert_eq!(f.status, 204);
        let f = answer(b"HTTP/1.1 200 OK\r\n\r\n", BodyUse::Ignore).unwrap();
        assert_eq!((f.status, f.digest), (200, None));
    }

    #[test]
    fn broken_responses_are_errors() {
        for (raw, why) in [
            (&b""[..], "before a response"),
            (b"HTTP/1.1 200 OK\r\nContent-", "within the response head"),
            (b"SSH-2.0-OpenSSH\r\n\r\n", "invalid response head"),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                "before the end",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                "invalid content-length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "invalid chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd",
                "invalid chunk end",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                "within a chunk",
            ),
        ] {
            match answer(raw, BodyUse::Digest) {
                Err(e) => assert!(e.contains(why), "{e} / {why}"),
                Ok(f) => panic!("{f:?} / {why}"),
            }
        }
        let huge = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(answer(huge.as_bytes(), BodyUse::Digest)
            .unwrap_err()
            .contains("larger than"));
    }

    #[test]
    fn md5_hex() {
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn unreadable_ca_is_an_error() {
        let ssl = SslContext {
            ca: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        assert!(client_config(Some(&ssl)).is_err());
        assert!(client_config(None).is_ok());
    }
}
