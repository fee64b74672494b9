//! Real-server checkers against real servers on loopback: TCP listeners, a
//! small HTTP server answering chosen statuses and bodies, a TLS server with
//! a certificate made here, and the `genhash` subcommand; `ha_suspend`
//! against a VIP added and removed in a lab namespace.

mod lab;

use keepalived_rs::check::realserver::{self, plan};
use keepalived_rs::check::{ProbeOutcome, RealServerUpdate};
use keepalived_rs::config::model::lvs::{
    Checker, HttpCheck, HttpProtocol, RealServer, SslContext, TcpCheck, Url, VirtualServer,
};
use keepalived_rs::config::model::Config;
use keepalived_rs::config::values::Timer;
use keepalived_rs::script::ScriptRunner;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const WAIT: Duration = Duration::from_secs(10);

fn config(addr: SocketAddr, checker: Checker) -> Config {
    let mut rs = RealServer::new(addr.ip(), Some(addr.port()));
    rs.checkers.push(checker);
    let vs = VirtualServer {
        address: Some("192.0.2.1".parse().unwrap()),
        port: Some(80),
        delay_loop: Timer::from_secs(1),
        warmup: Some(Timer::from_secs(0)),
        connect_timeout: Timer::from_secs(2),
        real_server: vec![rs],
        ..Default::default()
    };
    Config {
        virtual_server: vec![vs],
        ..Default::default()
    }
}

async fn next_update(rx: &mut UnboundedReceiver<RealServerUpdate>) -> RealServerUpdate {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no update in time")
        .expect("channel closed")
}

/// Run the one checker of a one-real-server configuration once.
async fn probe_once(cfg: &Config) -> ProbeOutcome {
    let plan = plan(cfg);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let checker = &plan.real_servers[0].checkers[0];
    checker.probe.probe().await
}

// ===== TCP_CHECK =====

#[tokio::test]
async fn tcp_check_follows_the_listener_with_exact_retries() {
    // Reserve a port, then close it: the real server starts dead.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut cfg = config(
        addr,
        Checker::Tcp(TcpCheck {
            retry: Some(2),
            delay_before_retry: Some(Timer::from_millis(50)),
            ..Default::default()
        }),
    );
    cfg.virtual_server[0].delay_loop = Timer::from_secs(1);
    let (tx, mut rx) = unbounded_channel();
    let set = realserver::start(&cfg, ScriptRunner::new(2), tx);
    let first = next_update(&mut rx).await;
    assert!(first.alive, "not alpha: starts alive");
    assert_eq!(first.reason, "initial state");
    assert_eq!(first.key.port, addr.port());
    let down = next_update(&mut rx).await;
    assert!(!down.alive);
    assert!(
        down.reason.contains("connection refused"),
        "{}",
        down.reason
    );
    // One probe and two retries: exactly three connection attempts.
    let st = set.status();
    assert_eq!(
        (st[0].checkers[0].probes, st[0].checkers[0].failures),
        (3, 3)
    );
    let listener = TcpListener::bind(addr).await.unwrap();
    let up = next_update(&mut rx).await;
    assert!(up.alive, "{up:?}");
    drop(listener);
}

// ===== a small HTTP server =====

#[derive(Clone)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// Serves `answer` on every connection and records each request head.
struct HttpServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    async fn start(status: u16, body: &[u8]) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new(Answer {
            status,
            body: body.to_vec(),
        }));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (a, r) = (answer.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (a, r) = (a.clone(), r.clone());
                tokio::spawn(serve_one(stream, a, r));
            }
        });
        HttpServer {
            addr,
            answer,
            requests,
        }
    }

    fn set(&self, status: u16, body: &[u8]) {
        *self.answer.lock().unwrap() = Answer {
            status,
            body: body.to_vec(),
        };
    }

    fn last_request(&self) -> String {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let a = answer.lock().unwrap().clone();
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        a.status,
        a.body.len()
    )
    .into_bytes();
    out.extend_from_slice(&a.body);
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
}

fn http_check(urls: Vec<Url>) -> HttpCheck {
    HttpCheck {
        url: urls,
        ..Default::default()
    }
}

fn url(path: &str, digest: Option<&str>, status: &[&str]) -> Url {
    let mut u = Url::new(path.into());
    u.digest = digest.map(str::to_owned);
    u.status_code = status.iter().map(|s| s.parse().unwrap()).collect();
    u
}

// md5sum of "hello, checker\n".
const BODY: &[u8] = b"hello, checker\n";
const BODY_MD5: &str = "0ac080b5460964803167aa7deb0af93a";

#[tokio::test]
async fn http_get_digest_match_and_mismatch() {
    let server = HttpServer::start(200, BODY).await;
    let cfg = config(
        server.addr,
        Checker::Http(http_check(vec![url("/index.html", Some(BODY_MD5), &[])])),
    );
    assert_eq!(probe_once(&cfg).await, ProbeOutcome::Up);
    assert!(server
        .last_request()
        .starts_with("GET /index.html HTTP/1.0\r\n"));
    assert!(server
        .last_request()
        .to_ascii_lowercase()
        .contains("user-agent: keepaliveclient\r\n"));
    server.set(200, b"something else");
    match probe_once(&cfg).await {
        ProbeOutcome::Down(r) => assert!(r.contains("digest mismatch"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn http_get_status_codes_and_ranges() {
    let server = HttpServer::start(503, b"busy").await;
    let default = config(
        server.addr,
        Checker::Http(http_check(vec![url("/", None, &[])])),
    );
    assert_eq!(
        probe_once(&default).await,
        ProbeOutcome::Down("/: status 503".into())
    );
    let ranged = config(
        server.addr,
        Checker::Http(http_check(vec![url("/", None, &["200", "500-599"])])),
    );
    assert_eq!(probe_once(&ranged).await, ProbeOutcome::Up);
    server.set(204, b"");
    assert_eq!(probe_once(&default).await, ProbeOutcome::Up);
    assert_eq!(
        probe_once(&ranged).await,
        ProbeOutcome::Down("/: status 204".into())
    );
}

#[tokio::test]
async fn http_get_every_url_must_pass() {
    let server = HttpServer::start(200, BODY).await;
    let cfg = config(
        server.addr,
        Checker::Http(http_check(vec![
            url("/a", None, &[]),
            url("/b", Some("00000000000000000000000000000000"), &[]),
        ])),
    );
    match probe_once(&cfg).await {
        ProbeOutcome::Down(r) => assert!(r.starts_with("/b: digest mismatch"), "{r}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

/// A one-url HTTP_GET configuration read from keepalived.conf text, with
/// `url_extra` inside the url block.
fn http_conf(addr: SocketAddr, url_extra: &str) -> Config {
    let text = format!(
        "virtual_server 192.0.2.1 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
         real_server {} {} {{\n  HTTP_GET {{\n   url {{\n    path /status\n    {url_extra}\n   }}\n\
         connect_timeout 2\n  }}\n }}\n}}\n",
        addr.ip(),
        addr.port()
    );
    let mut o = keepalived_rs::config::LoadOptions::default();
    o.build.check_host = false;
    let loaded = keepalived_rs::config::load_str("regex.conf", &text, &o);
    let errors = loaded
        .diags
        .count(keepalived_rs::config::diag::Severity::Error);
    assert_eq!(errors, 0, "{:?}", loaded.diags.items);
    loaded.config
}

#[tokio::test]
async fn http_get_url_regex_and_its_options() {
    let server = HttpServer::start(200, b"<html>\n<p>Service: RUNNING</p>\n</html>\n").await;
    let down = |o: ProbeOutcome| match o {
        ProbeOutcome::Down(r) => r,
        other => panic!("{other:?}"),
    };
    let cfg = |extra: &str| http_conf(server.addr, extra);
    assert_eq!(
        probe_once(&cfg("regex \"Service: (RUNNING|DEGRADED)\"")).await,
        ProbeOutcome::Up
    );
    let r = down(probe_once(&cfg("regex \"Service: STOPPED\"")).await);
    assert!(r.contains("not matched"), "{r}");
    // Case: only with caseless.
    assert!(matches!(
        probe_once(&cfg("regex running")).await,
        ProbeOutcome::Down(_)
    ));
    assert_eq!(
        probe_once(&cfg("regex running\n regex_options caseless")).await,
        ProbeOutcome::Up
    );
    // regex_no_match: an error page must not be served.
    assert_eq!(
        probe_once(&cfg("regex ERROR\n regex_no_match")).await,
        ProbeOutcome::Up
    );
    let r = down(probe_once(&cfg("regex RUNNING\n regex_no_match")).await);
    assert!(r.contains("regex_no_match"), "{r}");
    // Offsets: "Service" starts at byte 10.
    assert_eq!(
        probe_once(&cfg(
            "regex Service\n regex_min_offset 10\n regex_max_offset 10"
        ))
        .await,
        ProbeOutcome::Up
    );
    assert!(matches!(
        probe_once(&cfg("regex Service\n regex_min_offset 11")).await,
        ProbeOutcome::Down(_)
    ));
    assert!(matches!(
        probe_once(&cfg("regex Service\n regex_max_offset 9")).await,
        ProbeOutcome::Down(_)
    ));
    // Combined with the digest and status: all must pass.
    server.set(503, b"<p>Service: RUNNING</p>");
    let r = down(probe_once(&cfg("regex RUNNING")).await);
    assert!(r.contains("status 503"), "{r}");
    // The body changes: the next check sees it.
    server.set(200, b"<p>Service: STOPPED</p>");
    assert!(matches!(
        probe_once(&cfg("regex RUNNING")).await,
        ProbeOutcome::Down(_)
    ));
}

#[tokio::test]
async fn http_get_url_regex_that_cannot_compile_fails_the_check() {
    let server = HttpServer::start(200, b"ok ok").await;
    // Look-ahead: PCRE2 syntax the regex crate does not have.
    let cfg = http_conf(server.addr, "regex \"ok(?= ok)\"");
    let p = plan(&cfg);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(p.warnings[0].contains("cannot be used"), "{:?}", p.warnings);
    match p.real_servers[0].checkers[0].probe.probe().await {
        ProbeOutcome::Down(r) => assert!(r.contains("cannot be used"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn virtualhost_precedence_url_checker_real_server_virtual_server() {
    let server = HttpServer::start(200, BODY).await;
    let host = |cfg: &Config| {
        let cfg = cfg.clone();
        let server = &server;
        async move {
            assert_eq!(probe_once(&cfg).await, ProbeOutcome::Up);
            let req = server.last_request().to_ascii_lowercase();
            req.lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
                .unwrap_or_default()
        }
    };
    let mut cfg = config(
        server.addr,
        Checker::Http(http_check(vec![url("/", None, &[])])),
    );
    assert_eq!(
        host(&cfg).await,
        format!("127.0.0.1:{}", server.addr.port())
    );
    cfg.virtual_server[0].virtualhost = Some("vs.example".into());
    assert_eq!(host(&cfg).await, "vs.example");
    cfg.virtual_server[0].real_server[0].virtualhost = Some("rs.example".into());
    assert_eq!(host(&cfg).await, "rs.example");
    if let Checker::Http(h) = &mut cfg.virtual_server[0].real_server[0].checkers[0] {
        h.virtualhost = Some("checker.example".into());
    }
    assert_eq!(host(&cfg).await, "checker.example");
    if let Checker::Http(h) = &mut cfg.virtual_server[0].real_server[0].checkers[0] {
        h.url[0].virtualhost = Some("url.example".into());
    }
    assert_eq!(host(&cfg).await, "url.example");
}

#[tokio::test]
async fn http_protocol_versions() {
    let server = HttpServer::start(200, BODY).await;
    for (protocol, line, close) in [
        (HttpProtocol::Http10, "GET / HTTP/1.0", false),
        (HttpProtocol::Http10Close, "GET / HTTP/1.0", true),
        (HttpProtocol::Http11, "GET / HTTP/1.1", true),
    ] {
        let mut h = http_check(vec![url("/", None, &[])]);
        h.http_protocol = protocol;
        let cfg = config(server.addr, Checker::Http(h));
        assert_eq!(probe_once(&cfg).await, ProbeOutcome::Up);
        let req = server.last_request().to_ascii_lowercase();
        assert!(req.starts_with(&line.to_ascii_lowercase()), "{req}");
        assert_eq!(req.contains("connection: close\r\n"), close, "{req}");
        assert!(!req.contains("keep-alive"), "{req}");
    }
}

#[tokio::test]
async fn http_get_down_when_nothing_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let cfg = config(addr, Checker::Http(http_check(vec![url("/", None, &[])])));
    match probe_once(&cfg).await {
        ProbeOutcome::Down(r) => assert!(r.contains("connection refused"), "{r}"),
        other => panic!("{other:?}"),
    }
}

// ===== SSL_GET =====

struct Pki {
    dir: tempfile::TempDir,
    server: Arc<rustls::ServerConfig>,
}

impl Pki {
    /// A CA and a server certificate for `localhost` and 127.0.0.1 signed by it.
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let other_ca_key = KeyPair::generate().unwrap();
        let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
        other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other_ca = other.self_signed(&other_ca_key).unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), other_ca.pem()).unwrap();

        let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
        Pki {
            dir,
            server: Arc::new(server),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// An HTTPS server; records the SNI name each connection sent.
async fn tls_server(
    pki: &Pki,
    body: &'static [u8],
) -> (SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(pki.server.clone());
    let snis = Arc::new(Mutex::new(Vec::new()));
    let seen = snis.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                seen.lock()
                    .unwrap()
                    .push(tls.get_ref().1.server_name().map(str::to_owned));
                let answer = Arc::new(Mutex::new(Answer {
                    status: 200,
                    body: body.to_vec(),
                }));
                serve_one(tls, answer, Arc::new(Mutex::new(Vec::new()))).await;
            });
        }
    });
    (addr, snis)
}

#[tokio::test]
async fn ssl_get_without_and_with_verification() {
    let pki = Pki::new();
    let (addr, snis) = tls_server(&pki, BODY).await;
    let check = || Checker::Ssl(http_check(vec![url("/", Some(BODY_MD5), &[])]));

    // keepalived's default: no verification.
    let cfg = config(addr, check());
    assert_eq!(probe_once(&cfg).await, ProbeOutcome::Up);
    assert_eq!(
        snis.lock().unwrap().last(),
        Some(&None),
        "no SNI by default"
    );

    // With the right CA: verified against the address.
    let mut cfg = config(addr, check());
    cfg.ssl = Some(SslContext {
        ca: Some(pki.path("ca.pem")),
        ..Default::default()
    });
    assert_eq!(probe_once(&cfg).await, ProbeOutcome::Up);

    // With another CA: the handshake fails.
    cfg.ssl = Some(SslContext {
        ca: Some(pki.path("other-ca.pem")),
        ..Default::default()
    });
    match probe_once(&cfg).await {
        ProbeOutcome::Down(r) => assert!(r.contains("TLS handshake"), "{r}"),
        other => panic!("{other:?}"),
    }

    // A CA file that cannot be read: every check fails, never unverified.
    cfg.ssl = Some(SslContext {
        ca: Some(pki.path("missing.pem")),
        ..Default::default()
    });
    match probe_once(&cfg).await {
        ProbeOutcome::Down(r) => assert!(r.contains("missing.pem"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn ssl_get_sends_sni_and_verifies_the_virtualhost() {
    let pki = Pki::new();
    let (addr, snis) = tls_server(&pki, BODY).await;
    let mut h = http_check(vec![url("/", None, &[])]);
    h.enable_sni = true;
    h.virtualhost = Some("localhost".into());
    let mut cfg = config(addr, Checker::Ssl(h));
    cfg.ssl = Some(SslContext {
        ca: Some(pki.path("ca.pem")),
        ..Default::default()
    });
    assert_eq!(probe_once(&cfg).await, ProbeOutcome::Up);
    assert_eq!(
        snis.lock().unwrap().last(),
        Some(&Some("localhost".to_owned()))
    );
    // A name the certificate does not carry fails verification.
    let Checker::Ssl(h) = &mut cfg.virtual_server[0].real_server[0].checkers[0] else {
        unreachable!()
    };
    h.virtualhost = Some("www.example.com".into());
    assert!(!probe_once(&cfg).await.is_up());
}

// ===== genhash =====

#[tokio::test]
async fn genhash_prints_the_md5_of_the_body() {
    let server = HttpServer::start(200, BODY).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(["genhash", "-s", "127.0.0.1", "-p"])
        .arg(server.addr.port().to_string())
        .args(["-u", "/page.html", "-V", "www.example.com"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout, format!("MD5SUM = {BODY_MD5}\n\n"));
    let req = server.last_request().to_ascii_lowercase();
    assert!(req.starts_with("get /page.html http/1.0\r\n"), "{req}");
    assert!(req.contains("host: www.example.com\r\n"), "{req}");
}

#[tokio::test]
async fn genhash_over_tls() {
    let pki = Pki::new();
    let (addr, _) = tls_server(&pki, BODY).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(["--genhash", "-S", "-s", "127.0.0.1", "-p"])
        .arg(addr.port().to_string())
        .args(["-u", "/"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("MD5SUM = {BODY_MD5}\n\n")
    );
}

// ===== ha_suspend =====

#[test]
fn ha_suspend_follows_the_vip_on_this_host() {
    let lab = lab::Lab::new(&["lb"]);
    let lb = lab.host("lb").clone();
    let vip = lab.addr(200);
    let ns_path = format!("/var/run/netns/{}", lb.ns);
    let (host, vip2) = (lb.clone(), vip.clone());
    let accepts = std::thread::spawn(move || {
        let fd = std::fs::File::open(&ns_path).expect("netns file");
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let c = count.clone();
            tokio::spawn(async move {
                while let Ok((s, _)) = listener.accept().await {
                    c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    drop(s);
                }
            });
            let mut cfg = config(addr, Checker::Tcp(TcpCheck::default()));
            cfg.virtual_server[0].address = Some(vip2.parse().unwrap());
            cfg.virtual_server[0].ha_suspend = true;
            let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
            let set = realserver::start(&cfg, ScriptRunner::new(1), tx);
            let n = || count.load(std::sync::atomic::Ordering::SeqCst);
            let sh = |script: String| {
                let h = host.clone();
                tokio::task::spawn_blocking(move || h.sh(&script))
            };
            let mut seen = Vec::new();
            // The VIP is not on this host: no check for 2.5 delay_loops.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            seen.push(n());
            assert!(set.status()[0].checkers[0].suspended);
            // It arrives: checks resume within a delay_loop or so.
            sh(format!("ip addr add {vip2}/32 dev lo")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(3500)).await;
            seen.push(n());
            assert!(!set.status()[0].checkers[0].suspended);
            // It goes: after the check in flight, no more.
            sh(format!("ip addr del {vip2}/32 dev lo")).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            seen.push(n());
            tokio::time::sleep(Duration::from_millis(2500)).await;
            seen.push(n());
            seen
        })
    })
    .join()
    .expect("netns thread");
    assert_eq!(accepts[0], 0, "checked while suspended: {accepts:?}");
    assert!(accepts[1] >= 2, "not resumed: {accepts:?}");
    assert_eq!(
        accepts[2], accepts[3],
        "checked after the VIP left: {accepts:?}"
    );
    drop(lab);
}
