//! notify_fifo: the ordered event stream keepalived users feed to their
//! scripts, with the real binary in a namespace.

mod lab;

use lab::daemon::Daemon;
use lab::{wait_for, Lab};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn notify_fifo_script_reads_every_state_change_in_order() {
    let lab = Lab::new(&["lb1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("events.fifo");
    let out = dir.path().join("events.log");
    let reader = dir.path().join("reader.sh");
    std::fs::write(
        &reader,
        format!(
            "#!/bin/sh\nwhile read -r line; do echo \"$line\" >> {}; done < \"$1\"\n",
            out.display()
        ),
    )
    .expect("write reader");
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let vip = lab.addr(100);
    let conf = format!(
        "global_defs {{\n    notify_fifo {}\n    notify_fifo_script {}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 71\n    \
         priority 150\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n",
        fifo.display(),
        reader.display()
    );
    let mut d = Daemon::start(lab.host("lb1"), dir.path(), "lb1", &conf, &[]);
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(5), || read()
            .contains("INSTANCE \"VI_1\" MASTER 150")),
        "events: {:?}\n{}",
        read(),
        d.log_text()
    );
    let status = d.term().expect("exits on SIGTERM");
    assert!(status.success());
    assert!(
        wait_for(Duration::from_secs(2), || read().contains("STOP")),
        "no STOP event: {:?}",
        read()
    );
    let lines: Vec<String> = read().lines().map(str::to_owned).collect();
    assert_eq!(
        lines,
        vec![
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" STOP 150",
        ],
        "events in order"
    );
    assert!(!fifo.exists(), "the FIFO we created is removed at stop");
}
