//! The IPVS programming floor for benchmarks: N TCP services (wrr) with M
//! NAT real servers each, sent as raw generic netlink requests one by one,
//! each waiting for its ACK, and nothing else. Whatever keepalived-rs or
//! keepalived spend beyond this is their own overhead.
//!
//! The requests are encoded before the clock starts; the timed part is only
//! send + receive-ACK. By default it runs in a fresh network namespace (the
//! kernel keeps deleted destinations on a per-namespace trash list that
//! slows later adds down) and flushes the table at the end.
//!
//! ```sh
//! cargo build --release --example ipvs_floor
//! scripts/ipvs-vm target/release/examples/ipvs_floor --services 1000 --dests 10
//! ```
//!
//! Prints one JSON line: `{"services":1000,"dests":10,"entries":11000,"seconds":0.23,...}`.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Instant;

use keepalived_rs::ipvs::codec::{self, cmd, IpvsAttr, IpvsMessage};
use keepalived_rs::ipvs::netlink::encode_request;
use keepalived_rs::ipvs::types::{
    DestId, Destination, Forward, Service, ServiceId, TunnelType, PROTO_TCP,
};
use keepalived_rs::ipvs::IpvsClient;
use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};

struct Opts {
    services: u32,
    dests: u32,
    fresh_netns: bool,
    flush: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        services: 1000,
        dests: 10,
        fresh_netns: true,
        flush: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> Result<u32, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--services" => o.services = num("--services")?,
            "--dests" => o.dests = num("--dests")?,
            "--same-netns" => o.fresh_netns = false,
            "--keep" => o.flush = false,
            "-h" | "--help" => {
                return Err(
                    "usage: ipvs_floor [--services N] [--dests M] [--same-netns] [--keep]".into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.services > 65_000 || o.dests > 250 {
        return Err("at most 65000 services and 250 destinations each".into());
    }
    Ok(o)
}

fn service_addr(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        100 + (i / 65_536) as u8,
        (i / 256 % 256) as u8,
        (i % 256) as u8,
    ))
}

fn dest_addr(i: u32, j: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        172,
        16 + (i / 256 % 16) as u8,
        (i % 256) as u8,
        1 + j as u8,
    ))
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvs_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Opts) -> Result<(), String> {
    if o.fresh_netns {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("unshare: {e}"))?;
        // lo up, so the namespace has routing tables (else every IPv4 real
        // server is refused).
        let st = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .map_err(|e| format!("ip link set lo up: {e}"))?;
        if !st.success() {
            return Err("ip link set lo up failed".into());
        }
    }
    // Resolve the family with the client (not timed).
    let family = IpvsClient::new().map_err(|e| e.to_string())?.family_id();

    // Encode every request up front.
    let mut reqs: Vec<Vec<u8>> = Vec::with_capacity((o.services * (1 + o.dests)) as usize);
    let mut seq = 0u32;
    for i in 0..o.services {
        let id = ServiceId::Addr {
            protocol: PROTO_TCP,
            addr: service_addr(i),
            port: 80,
        };
        let svc = Service {
            id,
            scheduler: "wrr".into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        };
        seq += 1;
        let attrs = codec::service_attrs(&svc)?;
        reqs.push(encode_request(
            family,
            seq,
            NLM_F_REQUEST | NLM_F_ACK,
            IpvsMessage::new(cmd::NEW_SERVICE, vec![IpvsAttr::Service(attrs)]),
        ));
        for j in 0..o.dests {
            let d = Destination {
                id: DestId {
                    addr: dest_addr(i, j),
                    port: 8080,
                },
                forward: Forward::Masq,
                weight: 1,
                upper_threshold: 0,
                lower_threshold: 0,
                tunnel_type: TunnelType::Ipip,
                tunnel_port: 0,
                tunnel_flags: 0,
            };
            seq += 1;
            reqs.push(encode_request(
                family,
                seq,
                NLM_F_REQUEST | NLM_F_ACK,
                IpvsMessage::new(
                    cmd::NEW_DEST,
                    vec![
                        IpvsAttr::Service(codec::service_key_attrs(&id)),
                        IpvsAttr::Dest(codec::dest_attrs(&d)),
                    ],
                ),
            ));
        }
    }

    let mut sock = Socket::new(NETLINK_GENERIC).map_err(|e| format!("socket: {e}"))?;
    sock.bind_auto().map_err(|e| format!("bind: {e}"))?;
    sock.connect(&SocketAddr::new(0, 0))
        .map_err(|e| format!("connect: {e}"))?;
    let mut buf: Vec<u8> = Vec::with_capacity(8192);

    let start = Instant::now();
    for r in &reqs {
        sock.send(r, 0).map_err(|e| format!("send: {e}"))?;
        buf.clear();
        let n = sock.recv(&mut buf, 0).map_err(|e| format!("recv: {e}"))?;
        // nlmsghdr (16) + nlmsgerr.error (4): type NLMSG_ERROR, error 0 = ACK.
        if n < 20 || u16::from_ne_bytes([buf[4], buf[5]]) != 2 {
            return Err(format!("unexpected reply of {n} bytes"));
        }
        let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        if err != 0 {
            return Err(format!(
                "kernel error {}",
                std::io::Error::from_raw_os_error(-err)
            ));
        }
    }
    let secs = start.elapsed().as_secs_f64();

    if o.flush {
        let mut c = IpvsClient::new().map_err(|e| e.to_string())?;
        keepalived_rs::ipvs::IpvsOps::flush(&mut c).map_err(|e| e.to_string())?;
    }
    println!(
        "{{\"services\":{},\"dests\":{},\"entries\":{},\"seconds\":{:.4},\"requests_per_second\":{:.0},\"fresh_netns\":{}}}",
        o.services,
        o.dests,
        reqs.len(),
        secs,
        reqs.len() as f64 / secs.max(1e-9),
        o.fresh_netns
    );
    Ok(())
}
