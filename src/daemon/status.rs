//! The control socket and `keepalived-rs status`.
//!
//! A unix stream socket (default `/run/keepalived-rs/control.sock`, mode
//! 0600, root's only; `--control-socket` moves it). Protocol: the client
//! sends one request line, a JSON object such as `{"command":"status"}` (a
//! bare `status` is accepted too); the daemon answers with one JSON document
//! and closes:
//!
//! ```text
//! {"ok":true,"version":"…","pid":123,"sources":{"vrrp":[…],"reload":{…},…}}
//! {"ok":false,"error":"unknown command"}
//! ```
//!
//! Each part of the daemon contributes a named section through a
//! [`StatusRegistry`]: the VRRP engine and the reload counters register here;
//! the IPVS syncer and the checkers add theirs the same way
//! (`registry.register("lvs", move || …)`).

use serde::Serialize;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

pub const DEFAULT_SOCKET: &str = "/run/keepalived-rs/control.sock";

/// A part of the daemon that can describe itself.
pub trait StatusSource: Send + Sync {
    fn snapshot(&self) -> Value;
}

impl<F: Fn() -> Value + Send + Sync> StatusSource for F {
    fn snapshot(&self) -> Value {
        self()
    }
}

type Sources = Vec<(String, Arc<dyn StatusSource>)>;

/// The named status sections; cheap to clone and share between threads.
#[derive(Clone, Default)]
pub struct StatusRegistry {
    sources: Arc<RwLock<Sources>>,
}

impl StatusRegistry {
    /// Add (or replace) the section `name`.
    pub fn register(&self, name: &str, source: impl StatusSource + 'static) {
        let mut s = self.sources.write().unwrap_or_else(|p| p.into_inner());
        s.retain(|(n, _)| n != name);
        s.push((name.to_owned(), Arc::new(source)));
    }

    /// Every section, by name.
    pub fn snapshot(&self) -> Value {
        let sources: Sources = self
            .sources
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut map = serde_json::Map::new();
        for (name, src) in sources {
            map.insert(name, src.snapshot());
        }
        Value::Object(map)
    }
}

/// Serialise a snapshot closure's result, never failing.
pub fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The answer to one request line.
pub fn answer(request: &str, registry: &StatusRegistry) -> Value {
    let req = request.trim();
    let command = if req.starts_with('{') {
        match serde_json::from_str::<Value>(req) {
            Ok(v) => v
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            Err(e) => return json!({"ok": false, "error": format!("bad request: {e}")}),
        }
    } else {
        req.to_owned()
    };
    match command.as_str() {
        "status" | "" => json!({
            "ok": true,
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "sources": registry.snapshot(),
        }),
        "ping" => json!({"ok": true}),
        other => json!({"ok": false, "error": format!("unknown command {other:?}")}),
    }
}

/// The listening socket; removed when dropped.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Create the socket and serve it on the current runtime.
pub fn serve(path: &Path, registry: StatusRegistry) -> Result<ControlSocket, String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "{} is in use by another running daemon",
                path.display()
            ));
        }
        // Left over by a daemon that did not stop cleanly.
        std::fs::remove_file(path)
            .map_err(|e| format!("cannot remove stale {}: {e}", path.display()))?;
    }
    // Bind with a tight umask so the socket is never reachable by others,
    // not even between bind and chmod.
    #[allow(unsafe_code)]
    // SAFETY: umask only changes the process file-creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = tokio::net::UnixListener::bind(path);
    #[allow(unsafe_code)]
    // SAFETY: as above, restoring the previous mask.
    unsafe {
        libc::umask(old);
    }
    let listener = bound.map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    let task = tokio::spawn(accept_loop(listener, registry));
    Ok(ControlSocket {
        path: path.to_path_buf(),
        task,
    })
}

async fn accept_loop(listener: tokio::net::UnixListener, registry: StatusRegistry) {
    let me = nix::unistd::geteuid().as_raw();
    let limit = Arc::new(tokio::sync::Semaphore::new(8));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "control socket: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Root (or whoever runs the daemon) only, whatever the file mode says.
        match stream.peer_cred() {
            Ok(c) if c.uid() == 0 || c.uid() == me => {}
            Ok(c) => {
                tracing::warn!(uid = c.uid(), "control socket: connection refused");
                continue;
            }
            Err(_) => continue,
        }
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(Duration::from_secs(5), handle(stream, registry)).await;
        });
    }
}

async fn handle(stream: tokio::net::UnixStream, registry: StatusRegistry) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(rd.take(4096));
    reader.read_line(&mut line).await?;
    let mut body = answer(&line, &registry).to_string();
    body.push('\n');
    wr.write_all(body.as_bytes()).await?;
    wr.shutdown().await
}

/// `keepalived-rs status`: ask the daemon and print its answer.
pub fn client(path: &Path, json_out: bool) -> i32 {
    let text = match request(path, r#"{"command":"status"}"#) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "keepalived-rs: cannot query {}: {e}{}",
                path.display(),
                query_hint(e.kind())
            );
            return 1;
        }
    };
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("keepalived-rs: bad answer from the daemon: {e}");
            return 1;
        }
    };
    if v.get("ok") != Some(&Value::Bool(true)) {
        eprintln!(
            "keepalived-rs: the daemon refused: {}",
            v.get("error").and_then(Value::as_str).unwrap_or("?")
        );
        return 1;
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or(text));
    } else {
        print!("{}", render(&v, now_unix()));
    }
    0
}

/// What a failed `status` most likely means, for the error message.
fn query_hint(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind;
    match kind {
        // No socket file, or one left behind by a daemon that was killed.
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => {
            " (no keepalived-rs daemon answers there: is it running, and was it \
             started with another --control-socket?)"
        }
        ErrorKind::PermissionDenied => " (the control socket is for root only)",
        _ => "",
    }
}

fn request(path: &Path, req: &str) -> std::io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(req.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("-")
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// The human-readable status: one block per VRRP instance, then the
/// reload counters, then any other section as JSON.
pub fn render(v: &Value, now: u64) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "keepalived-rs {} (pid {})",
        s(v, "version"),
        n(v, "pid")
    );
    let empty = serde_json::Map::new();
    let sources = v
        .get("sources")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if let Some(list) = sources.get("vrrp").and_then(Value::as_array) {
        let _ = writeln!(out, "VRRP instances: {}", list.len());
        for i in list {
            let master = i.get("master").and_then(Value::as_str).unwrap_or("none");
            let _ = writeln!(
                out,
                "  {}: {}  vrid {} on {}  priority {} (base {})  master {}",
                s(i, "name"),
                s(i, "state"),
                n(i, "vrid"),
                s(i, "interface"),
                n(i, "effective_priority"),
                n(i, "base_priority"),
                master
            );
            let when = i
                .get("last_transition_unix")
                .and_then(Value::as_u64)
                .map(|t| format!(", {} s ago", now.saturating_sub(t)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    last transition: {}{when} ({} transitions)",
                i.get("last_transition")
                    .and_then(Value::as_str)
                    .unwrap_or("none"),
                n(i, "transitions")
            );
            let dropped: u64 = i
                .get("dropped")
                .and_then(Value::as_object)
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            let reasons = i
                .get("dropped")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, c)| format!("{k} {}", c.as_u64().unwrap_or(0)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|t| !t.is_empty())
                .map(|t| format!(" ({t})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    adverts: sent {}, received {}, dropped {dropped}{reasons}; split brain {}",
                n(i, "adverts_sent"),
                n(i, "adverts_received"),
                n(i, "split_brain")
            );
        }
    }
    if let Some(r) = sources.get("reload") {
        let _ = writeln!(
            out,
            "Reloads: {} ok, {} failed{}{}",
            n(r, "ok"),
            n(r, "failed"),
            r.get("last_result")
                .and_then(Value::as_str)
                .map(|t| format!("; last applied: {t}"))
                .unwrap_or_default(),
            r.get("last_error")
                .and_then(Value::as_str)
                .map(|t| format!("; last error: {t}"))
                .unwrap_or_default()
        );
    }
    if let Some(m) = sources.get("scripts").and_then(Value::as_object) {
        if !m.is_empty() {
            let _ = writeln!(out, "Scripts: {}", m.len());
        }
        for (cmd, c) in m {
            let _ = writeln!(
                out,
                "  {cmd}: ok {}, failed {}, timed out {}, signalled {}, spawn failed {}",
                n(c, "ok"),
                n(c, "failed"),
                n(c, "timed_out"),
                n(c, "signalled"),
                n(c, "spawn_failed")
            );
        }
    }
    for (name, section) in sources {
        if name == "vrrp" || name == "reload" || name == "scripts" {
            continue;
        }
        // A subsystem with nothing configured (`checkers: []` without
        // virtual servers) says nothing.
        let empty = match section {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if empty {
            continue;
        }
        let _ = writeln!(
            out,
            "{name}: {}",
            serde_json::to_string_pretty(section).unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_and_protocol() {
        let r = StatusRegistry::default();
        r.register("vrrp", || json!([{"name": "VI_1", "state": "MASTER"}]));
        r.register("lvs", || json!({"virtual_servers": 0}));
        r.register("lvs", || json!({"virtual_servers": 2}));
        let a = answer("{\"command\":\"status\"}\n", &r);
        assert_eq!(a["ok"], true);
        assert_eq!(a["sources"]["vrrp"][0]["state"], "MASTER");
        assert_eq!(a["sources"]["lvs"]["virtual_servers"], 2);
        assert_eq!(answer("status", &r)["ok"], true);
        assert_eq!(answer("{\"command\":\"nope\"}", &r)["ok"], false);
        assert_eq!(answer("{bad", &r)["ok"], false);
    }

    #[test]
    fn render_text() {
        let v = json!({"ok": true, "version": "0.1.0", "pid": 7, "sources": {
            "vrrp": [{"name": "VI_1", "state": "MASTER", "vrid": 51, "interface": "eth0",
                      "base_priority": 150, "effective_priority": 150, "master": "10.0.0.1",
                      "last_transition": "BACKUP -> MASTER (MasterDownTimer)",
                      "last_transition_unix": 990, "transitions": 2,
                      "adverts_sent": 10, "adverts_received": 3,
                      "dropped": {"ttl": 1}, "split_brain": 1}],
            "reload": {"ok": 2, "failed": 1, "last_error": "bad"},
            "scripts": {"/etc/keepalived/check_nginx.sh": {"ok": 5, "failed": 1,
                "timed_out": 2, "signalled": 0, "spawn_failed": 0}},
            "lvs": {"x": 1}}});
        let t = render(&v, 1000);
        assert!(
            t.contains("VI_1: MASTER  vrid 51 on eth0  priority 150 (base 150)  master 10.0.0.1"),
            "{t}"
        );
        assert!(
            t.contains("BACKUP -> MASTER (MasterDownTimer), 10 s ago (2 transitions)"),
            "{t}"
        );
        assert!(
            t.contains("sent 10, received 3, dropped 1 (ttl 1); split brain 1"),
            "{t}"
        );
        assert!(
            t.contains("Reloads: 2 ok, 1 failed; last error: bad"),
            "{t}"
        );
        assert!(t.contains("lvs: {"), "{t}");
        assert!(
            t.contains("  /etc/keepalived/check_nginx.sh: ok 5, failed 1, timed out 2,"),
            "{t}"
        );
        assert!(!t.contains("scripts: {"), "{t}");
    }

    #[test]
    fn render_skips_empty_sections() {
        let v = json!({"ok": true, "version": "0.1.0", "pid": 7, "sources": {
            "vrrp": [], "reload": {"ok": 0, "failed": 0},
            "checkers": [], "scripts": {}, "ipvs": {"services": 1}}});
        let t = render(&v, 1000);
        assert!(!t.contains("checkers"), "{t}");
        assert!(t.contains("ipvs: {"), "{t}");
    }

    #[test]
    fn query_errors_say_what_to_check() {
        use std::io::ErrorKind;
        assert!(query_hint(ErrorKind::NotFound).contains("is it running"));
        assert!(query_hint(ErrorKind::ConnectionRefused).contains("--control-socket"));
        assert!(query_hint(ErrorKind::PermissionDenied).contains("root"));
        assert_eq!(query_hint(ErrorKind::TimedOut), "");
    }
}
