//! `notify_fifo` / `vrrp_notify_fifo`: an ordered stream of state changes
//! written to a FIFO, one line per event, as keepalived writes them:
//!
//! ```text
//! INSTANCE "VI_1" MASTER 100
//! GROUP "G1" BACKUP
//! ```
//!
//! The FIFO is created if missing (and then removed at stop). The optional
//! `*_fifo_script` is started with the FIFO's path as its argument and runs
//! for the daemon's lifetime, in its own process group, which is terminated
//! at stop.
//!
//! Writes never block the VRRP thread: the FIFO is opened read-write and
//! non-blocking (a FIFO opened for writing alone blocks until a reader
//! comes, and fails writes with EPIPE when it goes); a line that does not fit
//! because nobody reads is dropped and counted.

use crate::script::RunAs;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// A configured FIFO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoSpec {
    pub path: PathBuf,
    /// Who owns a FIFO we create.
    pub owner: Option<RunAs>,
    /// `notify_fifo_script` and who runs it.
    pub script: Option<(String, Option<RunAs>)>,
}

/// The line for an instance's or group's new state. Groups carry no priority.
pub fn event_line(kind: &str, name: &str, state: &str, priority: Option<u8>) -> String {
    match priority {
        Some(p) => format!("{kind} \"{name}\" {state} {p}\n"),
        None => format!("{kind} \"{name}\" {state}\n"),
    }
}

/// An open FIFO and its reader script.
pub struct FifoWriter {
    path: PathBuf,
    file: File,
    created: bool,
    script: Option<std::process::Child>,
    /// Lines dropped because the FIFO was full.
    pub dropped: u64,
}

impl FifoWriter {
    /// Create the FIFO if needed, start the script, open for writing.
    pub fn open(spec: &FifoSpec) -> std::io::Result<FifoWriter> {
        let created = match std::fs::symlink_metadata(&spec.path) {
            Ok(m) if m.file_type().is_fifo() => false,
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a FIFO", spec.path.display()),
                ))
            }
            Err(_) => {
                nix::unistd::mkfifo(&spec.path, nix::sys::stat::Mode::from_bits_truncate(0o600))
                    .map_err(std::io::Error::from)?;
                if let Some(o) = spec.owner {
                    let _ = nix::unistd::chown(
                        &spec.path,
                        Some(nix::unistd::Uid::from_raw(o.uid)),
                        Some(nix::unistd::Gid::from_raw(o.gid)),
                    );
                }
                true
            }
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&spec.path)?;
        let script = match &spec.script {
            Some((cmd, user)) => match start_script(cmd, &spec.path, *user) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!(script = %cmd, error = %e, "cannot start the notify FIFO script");
                    None
                }
            },
            None => None,
        };
        Ok(FifoWriter {
            path: spec.path.clone(),
            file,
            created,
            script,
            dropped: 0,
        })
    }

    /// Write one line; never blocks.
    pub fn write_line(&mut self, line: &str) {
        match self.file.write(line.as_bytes()) {
            Ok(n) if n == line.len() => {}
            Ok(_) | Err(_) => {
                self.dropped += 1;
                tracing::warn!(fifo = %self.path.display(), dropped = self.dropped,
                    "notify FIFO full or failing; event line dropped");
            }
        }
    }

    /// Stop the script and remove the FIFO if we created it.
    ///
    /// The script must get every line written, the last ones (STOP) too:
    /// once what we wrote has been read (or after [`DRAIN_WAIT`], for a
    /// script that has not opened the FIFO yet), our descriptor is closed so
    /// the script reads to the end and then sees EOF; it has [`EXIT_WAIT`] to
    /// finish and exit on its own before its process group is terminated.
    /// (Killing it as soon as the pipe was empty lost a line it had read but
    /// not yet handled.)
    pub fn close(self) {
        let FifoWriter {
            path,
            file,
            created,
            script,
            ..
        } = self;
        if let Some(mut child) = script {
            let deadline = std::time::Instant::now() + DRAIN_WAIT;
            while std::time::Instant::now() < deadline && fifo_pending(&file) > 0 {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // The buffered lines stay in the pipe for the reader, which then
            // sees EOF (unless another writer still holds the FIFO open).
            drop(file);
            let deadline = std::time::Instant::now() + EXIT_WAIT;
            while std::time::Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            // The group too: whatever the script started (the group outlives
            // an exited leader while members remain; none left is ESRCH).
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            let _ = child.wait();
        } else {
            drop(file);
        }
        if created {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// How long [`FifoWriter::close`] waits for the script to read what is in
/// the pipe before closing it regardless.
const DRAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// How long [`FifoWriter::close`] waits for the script to exit after EOF.
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Bytes written but not yet read.
fn fifo_pending(f: &File) -> i32 {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    #[allow(unsafe_code)]
    // SAFETY: FIONREAD writes one c_int to the pointer we pass.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), libc::FIONREAD, &mut n) };
    if rc == 0 {
        n
    } else {
        0
    }
}

fn start_script(
    cmd: &str,
    fifo: &Path,
    user: Option<RunAs>,
) -> std::io::Result<std::process::Child> {
    let words = crate::config::ast::split_command(cmd)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let Some((program, args)) = words.split_first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty script",
        ));
    };
    if crate::script::script_security() {
        crate::script::check_secure(program, user).map_err(|why| {
            tracing::warn!("{why}");
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, why)
        })?;
    }
    let mut c = std::process::Command::new(program);
    c.args(args)
        .arg(fifo)
        .stdin(std::process::Stdio::null())
        .process_group(0);
    if let Some(u) = user {
        c.uid(u.uid).gid(u.gid);
    }
    c.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_as_keepalived_writes_them() {
        assert_eq!(
            event_line("INSTANCE", "VI_1", "MASTER", Some(100)),
            "INSTANCE \"VI_1\" MASTER 100\n"
        );
        assert_eq!(
            event_line("GROUP", "G1", "BACKUP", None),
            "GROUP \"G1\" BACKUP\n"
        );
    }

    #[test]
    fn creates_writes_without_reader_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let spec = FifoSpec {
            path: path.clone(),
            owner: None,
            script: None,
        };
        let mut w = FifoWriter::open(&spec).unwrap();
        w.write_line("INSTANCE \"VI_1\" MASTER 100\n");
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        assert_eq!(s, "INSTANCE \"VI_1\" MASTER 100\n");
        // Nobody reads: lines beyond the pipe's capacity are dropped, never block.
        let long = "x".repeat(4000) + "\n";
        for _ in 0..100 {
            w.write_line(&long);
        }
        assert!(w.dropped > 0);
        w.close();
        assert!(!path.exists(), "a FIFO we created is removed at stop");
    }

    #[test]
    fn a_slow_script_gets_every_line_before_it_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let out = dir.path().join("out");
        let reader = dir.path().join("reader.sh");
        // Reads everything at once, then takes its time with each line: the
        // pipe is empty long before the last line is handled.
        std::fs::write(
            &reader,
            format!(
                "exec 3< \"$1\"\nlines=$(cat <&3)\necho \"$lines\" | while read -r l; do sleep 0.2; echo \"$l\" >> {}; done\n",
                out.display()
            ),
        )
        .unwrap();
        let spec = FifoSpec {
            path: path.clone(),
            owner: None,
            script: Some((format!("/bin/sh {}", reader.display()), None)),
        };
        let mut w = FifoWriter::open(&spec).unwrap();
        // As a long-running reader would have: the FIFO open before the end.
        let pid = w.script.as_ref().map(std::process::Child::id).unwrap();
        let fd3 = format!("/proc/{pid}/fd/3");
        let t = std::time::Instant::now();
        while std::fs::read_link(&fd3).ok().as_deref() != Some(path.as_path()) {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(10),
                "reader never opened the FIFO"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        for l in ["A 1\n", "B 2\n", "STOP 3\n"] {
            w.write_line(l);
        }
        let t = std::time::Instant::now();
        w.close();
        assert!(t.elapsed() < std::time::Duration::from_secs(3));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap_or_default(),
            "A 1\nB 2\nSTOP 3\n"
        );
        assert!(!path.exists());
    }

    #[test]
    fn refuses_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, "x").unwrap();
        let spec = FifoSpec {
            path,
            owner: None,
            script: None,
        };
        assert!(FifoWriter::open(&spec).is_err());
    }
}
