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
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderValue, CONNECTION, HOST, USER_AGENT};
use hyper::{Request, Version};
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
    pub version: Version,
    pub headers: hyper::HeaderMap,
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

fn build_request(
    protocol: HttpProtocol,
    path: &str,
    host: &str,
) -> Result<Request<Empty<Bytes>>, String> {
    let path = if path.is_empty() { "/" } else { path };
    let uri: hyper::Uri = path
        .parse()
        .map_err(|e| format!("invalid url path '{path}': {e}"))?;
    let host = HeaderValue::from_str(host).map_err(|_| format!("invalid virtualhost '{host}'"))?;
    let (version, close) = match protocol {
        HttpProtocol::Http10 => (Version::HTTP_10, false),
        HttpProtocol::Http10Close => (Version::HTTP_10, true),
        HttpProtocol::Http11 => (Version::HTTP_11, true),
    };
    let mut builder = Request::get(uri)
        .version(version)
        .header(HOST, host)
        .header(USER_AGENT, USER_AGENT_VALUE);
    if close {
        builder = builder.header(CONNECTION, "close");
    }
    builder
        .body(Empty::new())
        .map_err(|e| format!("request: {e}"))
}

/// Send the request and read the answer on an established connection.
async fn exchange<S>(
    stream: S,
    request: Request<Empty<Bytes>>,
    body_use: BodyUse,
    timeout: Duration,
) -> Result<Fetched, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let work = async {
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        // The connection is driven here, not in a spawned task, so that
        // dropping the probe (timeout, stop) closes the socket.
        let request_and_body = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
            let (head, mut body) = response.into_parts();
            let mut fetched = Fetched {
                status: head.status.as_u16(),
                version: head.version,
                headers: head.headers,
                digest: None,
                body: None,
            };
            if body_use == BodyUse::Ignore {
                return Ok(fetched);
            }
            let mut hasher = Md5::new();
            let mut kept = Vec::new();
            let mut len = 0usize;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| format!("reading the body: {e}"))?;
                if let Ok(data) = frame.into_data() {
                    len += data.len();
                    if len > MAX_BODY {
                        return Err(format!("body larger than {MAX_BODY} bytes"));
                    }
                    hasher.update(&data);
                    if body_use == BodyUse::DigestAndKeep {
                        kept.extend_from_slice(&data);
                    }
                }
            }
            fetched.digest = Some(hex(&hasher.finalize()));
            if body_use == BodyUse::DigestAndKeep {
                fetched.body = Some(kept);
            }
            Ok(fetched)
        };
        tokio::pin!(request_and_body);
        tokio::pin!(conn);
        let mut conn_done = false;
        loop {
            tokio::select! {
                biased;
                r = &mut request_and_body => break r,
                c = &mut conn, if !conn_done => {
                    conn_done = true;
                    if let Err(e) = c {
                        break Err(format!("HTTP: {e}"));
                    }
                }
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("no complete answer within {}", secs(timeout))),
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
    protocol: HttpProtocol,
    urls: Vec<UrlCheck>,
}

impl HttpProbe {
    /// `tls`: `Some` for SSL_GET.
    pub fn new(
        target: ConnectTarget,
        tls: Option<TlsClient>,
        protocol: HttpProtocol,
        urls: Vec<UrlCheck>,
    ) -> Self {
        HttpProbe {
            target,
            tls,
            protocol,
            urls,
        }
    }

    async fn check_url(&self, url: &UrlCheck) -> Result<(), String> {
        let body = if url.regex.is_some() {
            BodyUse::DigestAndKeep
        } else if url.digest.is_some() {
            BodyUse::Digest
        } else {
            BodyUse::Ignore
        };
        let fetched = fetch(
            &self.target,
            self.tls.as_ref(),
            self.protocol,
            &url.path,
            &url.host,
            body,
        )
        .await
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
            for url in &self.urls {
                if let Err(reason) = self.check_url(url).await {
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
        let r = build_request(HttpProtocol::Http10, "", "h").unwrap();
        assert_eq!(r.version(), Version::HTTP_10);
        assert_eq!(r.uri(), "/");
        assert!(r.headers().get(CONNECTION).is_none());
        let r = build_request(HttpProtocol::Http10Close, "/x?y=1", "h").unwrap();
        assert_eq!(r.headers().get(CONNECTION).unwrap(), "close");
        let r = build_request(HttpProtocol::Http11, "/", "h").unwrap();
        assert_eq!(r.version(), Version::HTTP_11);
        assert!(build_request(HttpProtocol::Http11, "/a b", "h").is_err());
        assert!(build_request(HttpProtocol::Http11, "/", "bad\nhost").is_err());
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
