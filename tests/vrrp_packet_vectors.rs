//! Golden vectors: every frame captured from two keepalived 2.2.7 directors failing over
//! (`shared/vectors/keepalived-2.2.7/*.pcap`, see keepalived-vrrp-baseline.md) must
//!
//! - for VRRP: parse (IPv4 header, advert), pass receive validation with the standard
//!   checksum form, and re-encode to the same bytes;
//! - for ARP: be exactly what our gratuitous ARP builder produces.
//!
//! The captures live outside the crate (`../shared/` beside the checkout, also in CI). If they
//! are missing this test fails: passing without vectors would prove nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use etherparse::{EtherType, Ethernet2Header};
use keepalived_rs::net::garp::{gratuitous_arp, parse_gratuitous_arp};
use keepalived_rs::vrrp::packet::{
    validate, Advertisement, Checksum, ChecksumVariant, Family, Ipv4Header, RxParams,
    VersionFields, VrrpVersion, IPPROTO_VRRP, MCAST_GROUP_V4,
};
use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;

/// The lab: VRID 51, VIP 192.168.77.100, lb1 .11 priority 150, lb2 .12 priority 100.
const VRID: u8 = 51;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 100);
const LB1: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 11);
const LB2: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 12);
const LB1_MAC: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x11];
const LB2_MAC: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x12];

/// Captures that must be present; any other `*.pcap` in the directory is checked as well.
const EXPECTED_FILES: [&str; 3] = [
    "v2-term-failover.pcap",
    "v3-adv0.1-kill9-failover.pcap",
    "v3-adv0.1-term-failover.pcap",
];

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/keepalived-2.2.7");
    assert!(
        dir.is_dir(),
        "golden vectors missing: {} does not exist (shared/ must sit beside the checkout)",
        dir.display()
    );
    dir
}

fn pcaps() -> Vec<PathBuf> {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    for name in EXPECTED_FILES {
        assert!(
            files
                .iter()
                .any(|f| f.file_name().is_some_and(|n| n == name)),
            "golden vector {name} missing from {}",
            dir.display()
        );
    }
    files
}

#[derive(Debug, Default)]
struct Counts {
    adverts: usize,
    /// Adverts per (source, priority).
    by_sender: BTreeMap<(Ipv4Addr, u8), usize>,
    garps: BTreeMap<[u8; 6], usize>,
    other: usize,
}

/// Checks one VRRP frame; returns the decoded advert.
fn check_vrrp(name: &str, idx: usize, ip_packet: &[u8]) -> Advertisement {
    let ctx = format!("{name} frame #{idx}");
    let (hdr, payload) =
        Ipv4Header::parse(ip_packet).unwrap_or_else(|e| panic!("{ctx}: IPv4 header: {e}"));
    assert_eq!(hdr.protocol, IPPROTO_VRRP, "{ctx}");
    assert_eq!(hdr.ttl, 255, "{ctx}: keepalived sends TTL 255");
    assert_eq!(
        hdr.tos, 0xc0,
        "{ctx}: keepalived sends TOS internetwork control"
    );
    assert_eq!(hdr.dst, MCAST_GROUP_V4, "{ctx}");

    let version = if name.starts_with("v2-") {
        VrrpVersion::V2
    } else {
        VrrpVersion::V3
    };
    let advert = Advertisement::decode(payload, Family::Ipv4)
        .unwrap_or_else(|e| panic!("{ctx}: decode: {e}"));
    assert_eq!(advert.version(), version, "{ctx}");
    assert_eq!(advert.vrid, VRID, "{ctx}");
    assert_eq!(advert.addresses, vec![IpAddr::V4(VIP)], "{ctx}");
    let interval_cs = match advert.fields {
        VersionFields::V2 {
            advert_int_s,
            auth_type,
            auth_data,
        } => {
            assert_eq!(advert_int_s, 1, "{ctx}");
            assert_eq!(u8::from(auth_type), 0, "{ctx}");
            assert_eq!(auth_data, [0; 8], "{ctx}");
            100
        }
        VersionFields::V3 { max_advert_int_cs } => {
            assert_eq!(max_advert_int_cs, 10, "{ctx}: advert_int 0.1");
            10
        }
    };

    // Validation as the peer instance would do it.
    let params = RxParams::new(
        version,
        Family::Ipv4,
        VRID,
        interval_cs,
        vec![IpAddr::V4(VIP)],
    );
    let valid = validate(&hdr.rx_meta(), payload, &params)
        .unwrap_or_else(|r| panic!("{ctx}: dropped as {}: {r}", r.as_str()));
    assert_eq!(valid.checksum, ChecksumVariant::Standard, "{ctx}");
    assert_eq!(valid.src, IpAddr::V4(hdr.src), "{ctx}");
    assert_eq!(valid.advert, advert, "{ctx}");
    assert!(!valid.interval_mismatch, "{ctx}");

    // Byte-exact re-encoding with the form keepalived sends.
    let form = Checksum::for_send(version, IpAddr::V4(hdr.src), IpAddr::V4(hdr.dst), false);
    let bytes = advert
        .encode(form)
        .unwrap_or_else(|e| panic!("{ctx}: encode: {e}"));
    assert_eq!(bytes, payload, "{ctx}: re-encoding differs");
    if version == VrrpVersion::V3 {
        // keepalived's default v3 IPv4 checksum really includes the pseudo-header.
        assert_ne!(
            advert.encode(Checksum::MessageOnly).unwrap(),
            payload,
            "{ctx}: v3 checksum should not be v2-style"
        );
    }

    // The same packet with Ethernet padding to the 60-byte minimum still parses the same.
    let mut padded = ip_packet.to_vec();
    padded.resize(padded.len().max(60 - 14), 0);
    let (hdr2, payload2) = Ipv4Header::parse(&padded).unwrap();
    assert_eq!((hdr2, payload2), (hdr, payload), "{ctx}: padding");

    advert
}

fn check_file(path: &Path) -> Counts {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader = PcapReader::new(file).unwrap_or_else(|e| panic!("{name}: not a pcap: {e}"));
    assert_eq!(reader.header().datalink, DataLink::ETHERNET, "{name}");

    let mut counts = Counts::default();
    let mut idx = 0;
    while let Some(pkt) = reader.next_packet() {
        idx += 1;
        let pkt = pkt.unwrap_or_else(|e| panic!("{name} frame #{idx}: {e}"));
        let frame: &[u8] = &pkt.data;
        assert_eq!(
            pkt.orig_len as usize,
            frame.len(),
            "{name} #{idx} truncated capture"
        );
        let (eth, rest) = Ethernet2Header::from_slice(frame).unwrap();
        match eth.ether_type {
            EtherType::IPV4 if rest.get(9) == Some(&IPPROTO_VRRP) => {
                let advert = check_vrrp(&name, idx, rest);
                let src = Ipv4Addr::new(rest[12], rest[13], rest[14], rest[15]);
                let expected_mac = if src == LB1 { LB1_MAC } else { LB2_MAC };
                assert_eq!(
                    eth.source, expected_mac,
                    "{name} #{idx}: real NIC MAC, no VMAC"
                );
                counts.adverts += 1;
                *counts.by_sender.entry((src, advert.priority)).or_default() += 1;
            }
            EtherType::ARP => {
                let (mac, vip) = parse_gratuitous_arp(frame)
                    .unwrap_or_else(|| panic!("{name} #{idx}: ARP that is not a GARP"));
                assert_eq!(vip, VIP, "{name} #{idx}");
                let built = gratuitous_arp(mac, vip);
                assert_eq!(&frame[..built.len()], &built, "{name} #{idx}: GARP bytes");
                assert!(
                    frame[built.len()..].iter().all(|&b| b == 0),
                    "{name} #{idx}: non-zero padding"
                );
                *counts.garps.entry(mac).or_default() += 1;
            }
            _ => counts.other += 1,
        }
    }
    counts
}

#[test]
fn keepalived_captures_decode_validate_and_reencode() {
    let mut total = 0;
    for path in pcaps() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let c = check_file(&path);
        eprintln!(
            "{name}: {} adverts {:?}, GARPs {:?}, other {}",
            c.adverts, c.by_sender, c.garps, c.other
        );
        assert!(c.adverts > 0, "{name}: no VRRP adverts");
        total += c.adverts;

        // Scenario checks for the known captures: both directors advertised, lb2 took over
        // and announced the VIP with a burst of GARPs.
        if EXPECTED_FILES.contains(&name.as_str()) {
            assert!(c.by_sender.contains_key(&(LB2, 100)), "{name}: lb2 advert");
            assert!(
                c.garps.get(&LB2_MAC).copied().unwrap_or(0) >= 5,
                "{name}: lb2 GARPs"
            );
            assert_eq!(c.other, 0, "{name}: unexpected frames");
            let prio0 = c.by_sender.get(&(LB1, 0)).copied().unwrap_or(0);
            if name.contains("term") {
                // Graceful stop: lb1 sends one priority-0 advert.
                assert_eq!(prio0, 1, "{name}: priority-0 advert from lb1");
            } else {
                // kill -9: no priority-0 advert.
                assert_eq!(prio0, 0, "{name}");
                assert!(c.by_sender.contains_key(&(LB1, 150)), "{name}: lb1 advert");
            }
        }
    }
    assert!(total >= 40, "only {total} adverts in the vectors");
}

/// A backup configured like lb2 accepts lb1's adverts and drops them for the right reason
/// when one setting differs.
#[test]
fn keepalived_v2_advert_against_misconfigured_backup() {
    let path = vectors_dir().join("v2-term-failover.pcap");
    let mut reader = PcapReader::new(File::open(&path).unwrap()).unwrap();
    let mut ip_packet = None;
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.unwrap();
        if pkt.data.len() > 23 && pkt.data[12..14] == [0x08, 0x00] && pkt.data[23] == IPPROTO_VRRP {
            ip_packet = Some(pkt.data[14..].to_vec());
            break;
        }
    }
    let ip_packet = ip_packet.expect("a VRRP frame in the v2 capture");
    let (hdr, payload) = Ipv4Header::parse(&ip_packet).unwrap();
    let meta = hdr.rx_meta();
    let base = RxParams::new(
        VrrpVersion::V2,
        Family::Ipv4,
        VRID,
        100,
        vec![IpAddr::V4(VIP)],
    );
    let drop = |p: RxParams| validate(&meta, payload, &p).err().map(|r| r.as_str());

    assert_eq!(drop(base.clone()), None);
    let mut p = base.clone();
    p.advert_int_cs = 200;
    assert_eq!(drop(p), Some("advert_interval"));
    let mut p = base.clone();
    p.version = VrrpVersion::V3;
    assert_eq!(drop(p), Some("version"));
    let mut p = base.clone();
    p.vrid = 52;
    assert_eq!(drop(p), Some("vrid"));
    let mut p = base.clone();
    p.auth = keepalived_rs::vrrp::packet::RxAuth::Pass(*b"pw\0\0\0\0\0\0");
    assert_eq!(drop(p), Some("auth_type"));
    let mut p = base;
    p.vips = vec![IpAddr::V4(Ipv4Addr::new(192, 168, 77, 101))];
    assert_eq!(drop(p), Some("address_list"));
}
