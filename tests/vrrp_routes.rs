//! virtual_routes and virtual_rules follow mastership: installed (after the
//! addresses) when an instance becomes MASTER, removed when it leaves MASTER
//! or stops — with the real binary in a two-director lab.

mod lab;

use lab::daemon::Daemon;
use lab::{wait_for, Lab};
use std::time::Duration;

fn conf(prio: u8, vip: &str, gw: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    \
         priority {prio}\n    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {vip}/24\n    }}\n    \
         virtual_routes {{\n        10.77.0.0/16 via {gw} dev eth0 metric 7\n        \
         192.0.2.0/24 dev eth0 table 100\n    }}\n    \
         virtual_rules {{\n        from 10.88.0.0/16 table 100 priority 1234\n    }}\n}}\n"
    )
}

fn has_routing(host: &lab::Host) -> (bool, bool, bool) {
    let main = host.sh("ip -4 route show 10.77.0.0/16");
    let t100 = host.sh("ip -4 route show table 100 2>/dev/null || true");
    let rules = host.sh("ip -4 rule show");
    (
        main.contains("10.77.0.0/16")
            && main.contains("metric 7")
            && (main.contains("proto 18") || main.contains("proto keepalived")),
        t100.contains("192.0.2.0/24"),
        rules.contains("1234:")
            && rules.contains("from 10.88.0.0/16")
            && rules.contains("lookup 100"),
    )
}

#[test]
fn virtual_routes_and_rules_follow_mastership() {
    let lab = Lab::new(&["lb1", "lb2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let vip = lab.addr(100);
    let gw = lab.addr(254);
    let mut d1 = Daemon::start(
        lab.host("lb1"),
        dir.path(),
        "lb1",
        &conf(150, &vip, &gw),
        &[],
    );
    let d2 = Daemon::start(
        lab.host("lb2"),
        dir.path(),
        "lb2",
        &conf(100, &vip, &gw),
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(5), || has_routing(lab.host("lb1"))
            == (true, true, true)),
        "master lacks routes/rules: {:?}\n{}",
        has_routing(lab.host("lb1")),
        d1.log_text()
    );
    // lb2 may have been MASTER for a moment at start (both start together):
    // it must let go of them within a few adverts.
    assert!(
        wait_for(Duration::from_secs(5), || has_routing(lab.host("lb2"))
            == (false, false, false)),
        "backup must not hold the virtual routes/rules: {:?}",
        has_routing(lab.host("lb2"))
    );
    // Graceful stop of the master: its routes and rules go, the backup's come.
    let status = d1.term().expect("lb1 exits on SIGTERM");
    assert!(status.success());
    assert_eq!(has_routing(lab.host("lb1")), (false, false, false));
    assert!(
        wait_for(Duration::from_secs(3), || has_routing(lab.host("lb2"))
            == (true, true, true)),
        "new master lacks routes/rules: {:?}\n{}",
        has_routing(lab.host("lb2")),
        d2.log_text()
    );
}
