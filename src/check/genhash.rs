//! `genhash`: print the MD5 digest of a web page, the value HTTP_GET and
//! SSL_GET compare with `digest` (genhash(1)).
//!
//! Invoked as `keepalived-rs genhash ...`, `keepalived-rs --genhash ...` /
//! `-T ...` (keepalived 2.x spelling) or through a link named `genhash`. It
//! fetches the page exactly as the checker does (same request, same
//! User-Agent, same TLS settings), so the digest it prints is the one the
//! checker will compute.
//!
//! Output as genhash's: `MD5SUM = <hex>` followed by an empty line (scripts
//! take the third word of the next-to-last line); `-v` first prints the
//! response headers and the body.

use super::connect::ConnectTarget;
use super::http::{default_host, fetch, BodyUse, TlsClients};
use crate::config::model::lvs::HttpProtocol;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "genhash",
    about = "Print the MD5 digest of a web page for HTTP_GET/SSL_GET 'digest'",
    disable_version_flag = true
)]
pub struct GenhashArgs {
    /// Use SSL to connect to the server
    #[arg(short = 'S', long = "use-ssl")]
    pub use_ssl: bool,
    /// The address (or name) of the server
    #[arg(short = 's', long = "server", value_name = "HOST")]
    pub server: Option<String>,
    /// The port (default 80, 443 with -S)
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<u16>,
    /// The path of the page
    #[arg(short = 'u', long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// The Host header (and TLS server name) to send
    #[arg(short = 'V', long = "use-virtualhost", value_name = "HOST")]
    pub virtualhost: Option<String>,
    /// Digest algorithm: only MD5, the one the checkers use
    #[arg(short = 'H', long = "hash", value_name = "ALG", default_value = "md5")]
    pub hash: String,
    /// HTTP protocol version: 1.0, 1.0c (with Connection: close) or 1.1
    #[arg(
        short = 'P',
        long = "protocol",
        value_name = "VERSION",
        default_value = "1.0"
    )]
    pub protocol: String,
    /// Connection timeout in seconds
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = 5.0
    )]
    pub timeout: f64,
    /// Print the response headers and body too
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Print the release number and exit
    #[arg(short = 'r', long = "release")]
    pub release: bool,
}

/// The genhash arguments (program name first) when the command line asks
/// for genhash; `None` for a normal keepalived-rs command line.
pub fn genhash_args(args: &[OsString]) -> Option<Vec<OsString>> {
    let argv0_is_genhash = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "genhash");
    if argv0_is_genhash {
        return Some(args.to_vec());
    }
    let first = args.get(1)?;
    if first == "genhash" || first == "--genhash" || first == "-T" {
        let mut out = vec![OsString::from("genhash")];
        out.extend(args.iter().skip(2).cloned());
        return Some(out);
    }
    None
}

fn parse_protocol(s: &str) -> Option<HttpProtocol> {
    match s.to_ascii_lowercase().as_str() {
        "1.0" => Some(HttpProtocol::Http10),
        "1.0c" => Some(HttpProtocol::Http10Close),
        "1.1" => Some(HttpProtocol::Http11),
        _ => None,
    }
}

/// Run genhash with `args` (program name first), writing to `out`.
pub fn run(args: Vec<OsString>, out: &mut dyn Write) -> ExitCode {
    let a = match GenhashArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if a.release {
        let _ = writeln!(out, "genhash (keepalived-rs) {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match digest(&a, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genhash: {e}");
            ExitCode::from(1)
        }
    }
}

fn digest(a: &GenhashArgs, out: &mut dyn Write) -> Result<(), String> {
    if !a.hash.eq_ignore_ascii_case("md5") {
        return Err(format!(
            "hash algorithm '{}' is not supported (the checkers use MD5)",
            a.hash
        ));
    }
    let protocol = parse_protocol(&a.protocol)
        .ok_or_else(|| format!("unknown protocol '{}' (1.0, 1.0c or 1.1)", a.protocol))?;
    let server = a.server.as_deref().ok_or("no server given (-s)")?;
    let url = a.url.as_deref().ok_or("no url given (-u)")?;
    let port = a.port.unwrap_or(if a.use_ssl { 443 } else { 80 });
    let addr = resolve(server, port)?;
    let timeout = Duration::try_from_secs_f64(a.timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("invalid timeout '{}'", a.timeout))?;
    let host = a
        .virtualhost
        .clone()
        .unwrap_or_else(|| default_host(&addr, a.use_ssl));
    let target = ConnectTarget::new(addr, timeout);
    let tls = a
        .use_ssl
        .then(|| TlsClients::new(None).pick(a.virtualhost.is_some()));
    let body = if a.verbose {
        BodyUse::DigestAndKeep
    } else {
        BodyUse::Digest
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let fetched = runtime.block_on(fetch(&target, tls.as_ref(), protocol, url, &host, body))?;
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        if a.verbose {
            writeln!(out, "HTTP status: {} ({})", fetched.status, fetched.version)?;
            writeln!(out, "HTTP header:")?;
            for (name, value) in &fetched.headers {
                writeln!(out, "{name}: {}", String::from_utf8_lossy(value))?;
            }
            writeln!(out, "HTML body:")?;
            out.write_all(fetched.body.as_deref().unwrap_or_default())?;
            writeln!(out)?;
        }
        writeln!(out, "MD5SUM = {}", fetched.digest.as_deref().unwrap_or(""))?;
        writeln!(out)
    };
    write(out).map_err(|e| format!("writing the output: {e}"))
}

fn resolve(server: &str, port: u16) -> Result<SocketAddr, String> {
    if let Ok(ip) = server.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (server, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{server}': {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve '{server}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn recognises_the_genhash_spellings() {
        assert_eq!(
            genhash_args(&os(&["keepalived-rs", "genhash", "-s", "x"])),
            Some(os(&["genhash", "-s", "x"]))
        );
        assert_eq!(
            genhash_args(&os(&["keepalived-rs", "-T", "-s", "x"])),
            Some(os(&["genhash", "-s", "x"]))
        );
        assert_eq!(
            genhash_args(&os(&["/usr/bin/genhash", "-s", "x"])),
            Some(os(&["/usr/bin/genhash", "-s", "x"]))
        );
        assert_eq!(genhash_args(&os(&["keepalived-rs", "-n"])), None);
        assert_eq!(genhash_args(&os(&["keepalived-rs"])), None);
    }

    #[test]
    fn refuses_other_hashes_and_protocols() {
        let mut out = Vec::new();
        let code = run(
            os(&["genhash", "-s", "127.0.0.1", "-u", "/", "-H", "sha1"]),
            &mut out,
        );
        assert_eq!(code, ExitCode::from(1));
        assert_eq!(parse_protocol("1.0C"), Some(HttpProtocol::Http10Close));
        assert_eq!(parse_protocol("2"), None);
    }
}
