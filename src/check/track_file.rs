//! `track_file`: a number read from a file; the instances tracking it get
//! number × weight added to their priority (see [`crate::vrrp::track`]).
//!
//! Reading ([`parse_value`]) is pure and follows keepalived 2.2.7 (checked in
//! a namespace): leading blanks and a sign are accepted, the number ends at
//! the first non-digit (" 12xyz" is 12), and a missing, unreadable or
//! non-numeric file reads as 0.
//!
//! The file is watched with inotify on its *directory*, so a file that is
//! created, deleted or replaced by a rename (what editors and `mv` do) is
//! seen as well as one written in place; every completed write, rename or
//! delete naming the file makes us read it again.  When the directory cannot be watched (it does not
//! exist yet, or inotify is unavailable) we fall back to reading the file
//! every [`POLL_FALLBACK`] and keep trying to set the watch up.

use crate::config::model::TrackFileInit;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// How often the file is read when it cannot be watched.
pub const POLL_FALLBACK: Duration = Duration::from_secs(1);

/// The number in a track file's text, as keepalived reads it.
pub fn parse_value(text: &str) -> i64 {
    let s = text.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        value = value.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative {
        -value
    } else {
        value
    }
}

/// Read the file's number (0 when it cannot be read).
pub fn read_value(path: &Path) -> i64 {
    // A track file holds one number; reading more than a page of it would
    // only be a mistake (or /dev/zero).
    use std::io::Read;
    let mut buf = Vec::new();
    match std::fs::File::open(path) {
        Ok(f) => {
            if let Err(e) = f.take(4096).read_to_end(&mut buf) {
                tracing::debug!(file = %path.display(), error = %e, "track_file unreadable");
                return 0;
            }
            parse_value(&String::from_utf8_lossy(&buf))
        }
        Err(_) => 0,
    }
}

/// `init_file [VALUE] [overwrite]`: write VALUE when the file does not exist
/// (or always, with `overwrite`).
pub fn init_file(path: &Path, init: &TrackFileInit) -> std::io::Result<()> {
    if !init.overwrite && path.exists() {
        return Ok(());
    }
    std::fs::write(path, format!("{}\n", init.value))
}

/// What [`watch`] needs to know about one track file.
#[derive(Clone, Debug)]
pub struct FileSpec {
    pub name: String,
    pub path: PathBuf,
    pub init: Option<TrackFileInit>,
}

/// Initialise (init_file), read and watch `spec.path`, sending `(id, value)`
/// at once and whenever the number changes.  Ends when the receiver is gone.
pub async fn watch(id: usize, spec: FileSpec, tx: mpsc::Sender<(usize, i64)>) {
    if let Some(init) = &spec.init {
        if let Err(e) = init_file(&spec.path, init) {
            tracing::error!(track_file = %spec.name, file = %spec.path.display(), error = %e,
                "cannot initialise the track file");
        }
    }
    let mut last = read_value(&spec.path);
    tracing::info!(track_file = %spec.name, value = last, "track file read");
    if tx.send((id, last)).await.is_err() {
        return;
    }
    loop {
        match DirWatch::new(&spec.path) {
            Ok(w) => loop {
                if !w.changed().await {
                    break;
                }
                let value = read_value(&spec.path);
                if value != last {
                    tracing::info!(track_file = %spec.name, from = last, to = value, "track file changed");
                    last = value;
                    if tx.send((id, value)).await.is_err() {
                        return;
                    }
                }
            },
            Err(e) => {
                tracing::debug!(track_file = %spec.name, error = %e, "cannot watch; polling");
            }
        }
        // Unwatched (or the watch broke): poll once, then try again.
        tokio::time::sleep(POLL_FALLBACK).await;
        let value = read_value(&spec.path);
        if value != last {
            tracing::info!(track_file = %spec.name, from = last, to = value, "track file changed");
            last = value;
            if tx.send((id, value)).await.is_err() {
                return;
            }
        }
        if tx.is_closed() {
            return;
        }
    }
}

struct InotifyFd(nix::sys::inotify::Inotify);

impl AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// An inotify watch on a file's directory, filtered to that file's name.
struct DirWatch {
    fd: AsyncFd<InotifyFd>,
    name: std::ffi::OsString,
}

impl DirWatch {
    fn new(path: &Path) -> std::io::Result<DirWatch> {
        use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify};
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("no file name"))?
            .to_os_string();
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        ino.add_watch(
            dir,
            // Not IN_MODIFY or IN_CREATE: they come before the new content
            // is complete (a truncate, the first write), and reading then
            // would report a passing 0.  A write ends with IN_CLOSE_WRITE.
            F::IN_CLOSE_WRITE
                | F::IN_DELETE
                | F::IN_MOVED_TO
                | F::IN_MOVED_FROM
                | F::IN_DELETE_SELF
                | F::IN_MOVE_SELF,
        )?;
        #[allow(unsafe_code)]
        // SAFETY: the Inotify owns its descriptor and keeps it open until it
        // is dropped, which only happens with the AsyncFd that owns it.
        let fd = unsafe { AsyncFd::register(InotifyFd(ino))? };
        Ok(DirWatch { fd, name })
    }

    /// Wait for an event about the file: true; false when the directory
    /// itself went away (or the watch failed) and it must be set up again.
    async fn changed(&self) -> bool {
        use nix::sys::inotify::AddWatchFlags as F;
        loop {
            let Ok(mut guard) = self.fd.readable().await else {
                return false;
            };
            match guard.get_inner().0.read_events() {
                Ok(events) => {
                    let mut ours = false;
                    for e in events {
                        if e.mask
                            .intersects(F::IN_DELETE_SELF | F::IN_MOVE_SELF | F::IN_IGNORED)
                        {
                            return false;
                        }
                        if e.name.as_deref() == Some(self.name.as_os_str()) {
                            ours = true;
                        }
                    }
                    if ours {
                        return true;
                    }
                }
                Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                Err(_) => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_like_keepalived() {
        assert_eq!(parse_value("5\n"), 5);
        assert_eq!(parse_value(" 12xyz\n"), 12);
        assert_eq!(parse_value("\t-300"), -300);
        assert_eq!(parse_value("+7"), 7);
        assert_eq!(parse_value("abc"), 0);
        assert_eq!(parse_value(""), 0);
        assert_eq!(parse_value("-"), 0);
        assert_eq!(parse_value("99999999999999999999999"), i64::MAX);
        assert_eq!(read_value(Path::new("/nonexistent/track")), 0);
    }

    #[test]
    fn init_file_writes_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tf");
        let init = TrackFileInit {
            value: 9,
            overwrite: false,
        };
        init_file(&p, &init).unwrap();
        assert_eq!(read_value(&p), 9);
        std::fs::write(&p, "4\n").unwrap();
        init_file(&p, &init).unwrap();
        assert_eq!(read_value(&p), 4, "an existing file is kept");
        init_file(
            &p,
            &TrackFileInit {
                value: -2,
                overwrite: true,
            },
        )
        .unwrap();
        assert_eq!(read_value(&p), -2);
    }

    #[test]
    fn changes_are_seen_written_renamed_and_deleted() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("weight");
        std::fs::write(&p, "3\n").unwrap();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(8);
            let spec = FileSpec {
                name: "tf".into(),
                path: p.clone(),
                init: None,
            };
            let task = tokio::spawn(watch(1, spec, tx));
            async fn next(rx: &mut mpsc::Receiver<(usize, i64)>) -> Option<(usize, i64)> {
                tokio::time::timeout(Duration::from_millis(500), rx.recv())
                    .await
                    .expect("no event within 0.5 s (not the 1 s poll)")
            }
            assert_eq!(next(&mut rx).await, Some((1, 3)));
            std::fs::write(&p, "8\n").unwrap();
            assert_eq!(next(&mut rx).await, Some((1, 8)));
            let tmp = dir.path().join("weight.tmp");
            std::fs::write(&tmp, "-4\n").unwrap();
            std::fs::rename(&tmp, &p).unwrap();
            assert_eq!(next(&mut rx).await, Some((1, -4)));
            std::fs::remove_file(&p).unwrap();
            assert_eq!(next(&mut rx).await, Some((1, 0)));
            task.abort();
        });
    }
}
