//! `ipvsadm -Ln` as comparable data: blocks of (service line, sorted
//! destination lines), sorted; connection counters dropped.

#![allow(dead_code)]

/// A table as blocks of (service line, sorted `  -> ADDR:PORT FORWARD WEIGHT`).
pub type Blocks = Vec<(String, Vec<String>)>;

/// Parse `ipvsadm -Ln`.
pub fn parse_ipvsadm(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(&"TCP") | Some(&"UDP") | Some(&"SCTP") | Some(&"FWM") => {
                blocks.push((words.join(" "), Vec::new()));
            }
            Some(&"->") if words.get(1) != Some(&"RemoteAddress:Port") => {
                if let (Some(b), Some(a), Some(f), Some(w)) =
                    (blocks.last_mut(), words.get(1), words.get(2), words.get(3))
                {
                    b.1.push(format!("  -> {a} {f} {w}"));
                }
            }
            _ => {}
        }
    }
    for b in &mut blocks {
        b.1.sort();
    }
    blocks.sort();
    blocks
}

/// The lines only one side has (`-` left only, `+` right only), at most
/// `max` of each.
pub fn difference(left: &Blocks, right: &Blocks, max: usize) -> Vec<String> {
    let flat = |b: &Blocks| -> std::collections::BTreeSet<String> {
        b.iter()
            .flat_map(|(svc, ds)| {
                std::iter::once(svc.clone()).chain(ds.iter().map(move |d| format!("{svc} {d}")))
            })
            .collect()
    };
    let (l, r) = (flat(left), flat(right));
    let mut out: Vec<String> = l
        .difference(&r)
        .take(max)
        .map(|x| format!("- {x}"))
        .collect();
    out.extend(r.difference(&l).take(max).map(|x| format!("+ {x}")));
    out
}

/// Number of services and destinations.
pub fn entries(b: &Blocks) -> usize {
    b.iter().map(|(_, d)| 1 + d.len()).sum()
}
