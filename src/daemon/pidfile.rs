//! Pid files: written at start, removed at stop; a pid file held by a live
//! process refuses the start (a second instance), a stale one is replaced.

use std::io;
use std::path::{Path, PathBuf};

pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub fn create(path: &Path) -> io::Result<PidFile> {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                let me = std::process::id() as i32;
                if pid != me && pid > 0 && process_alive(pid) {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "pid file {} is held by running process {pid}: another instance is running",
                            path.display()
                        ),
                    ));
                }
            }
            tracing::info!(path = %path.display(), "replacing stale pid file");
        }
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        std::fs::write(path, format!("{}\n", std::process::id()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

fn process_alive(pid: i32) -> bool {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_replaced_live_refused_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pid");
        // A pid that cannot exist (pid_max is at most 2^22).
        std::fs::write(&p, "99999999\n").unwrap();
        let f = PidFile::create(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(f);
        assert!(!p.exists());
        // pid 1 is always alive.
        std::fs::write(&p, "1\n").unwrap();
        let err = PidFile::create(&p).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }
}
