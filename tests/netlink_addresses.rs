//! The rtnetlink edge against a real kernel, inside a lab namespace: add and
//! remove an address with label and broadcast, see it in the dump, and see the
//! link go down through the monitor.

mod lab;

use futures_util::StreamExt;
use keepalived_rs::net::netlink::{monitor, AddressSpec, NetEvent, Netlink};
use std::net::IpAddr;
use std::time::Duration;

/// Run `f` on a thread whose network namespace is the lab host's.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("netns file");
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
    .join()
    .expect("netns thread")
}

#[test]
fn add_list_remove_address_and_see_link_down() {
    let lab = lab::Lab::new(&["a"]);
    let host = lab.host("a").clone();
    let vip: IpAddr = lab.addr(100).parse().expect("vip");
    let ns = host.ns.clone();
    let h2 = host.clone();
    in_netns(&ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let nl = Netlink::connect().expect("netlink");
            let eth0 = nl.link_by_name("eth0").await.expect("eth0");
            assert!(eth0.up);
            assert_eq!(eth0.mac.map(|m| m[0]), Some(0x02));
            assert!(nl.link_by_name("nope0").await.is_err());

            let mut spec = AddressSpec::new(eth0.index, vip, 24);
            spec.label = Some("eth0:vip".into());
            nl.add_address(&spec).await.expect("add");
            // Adding again is not an error (replace).
            nl.add_address(&spec).await.expect("add again");
            let addrs = nl.addresses().await.expect("dump");
            let found = addrs.iter().find(|a| a.addr == vip).expect("vip listed");
            assert_eq!(found.prefix_len, 24);
            assert_eq!(found.label.as_deref(), Some("eth0:vip"));
            assert!(h2.sh("ip -o addr show dev eth0").contains("eth0:vip"));

            nl.del_address(&spec).await.expect("del");
            nl.del_address(&spec)
                .await
                .expect("del of a missing address is fine");
            assert!(!nl
                .addresses()
                .await
                .expect("dump")
                .iter()
                .any(|a| a.addr == vip));

            let mut events = monitor().expect("monitor");
            h2.sh("ip link set eth0 down");
            let down = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(ev) = events.next().await {
                    if let NetEvent::Link(l) = ev {
                        if l.name == "eth0" && !l.up {
                            return true;
                        }
                    }
                }
                false
            })
            .await
            .unwrap_or(false);
            assert!(down, "no link-down event within 5 s");
        });
    });
}
