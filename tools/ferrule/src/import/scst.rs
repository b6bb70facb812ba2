//! `ferrule import scst /etc/scst.conf`: SCST's configuration file to Ferrule TOML.
//!
//! Carried over: vdisk_fileio / vdisk_blockio / vdisk_nullio devices (filename, size,
//! blocksize, read_only, write_through, thin_provisioned, usn, t10_vend_id, prod_id,
//! prod_rev_lvl), qla2x00t targets (enabled, rel_tgt_id, LUNs, GROUPs with INITIATORs and
//! LUNs). Everything else is listed in the notes with its line number.

use super::Imported;
use crate::model::{Backend, Device, Fabric, Group, Lun, Target, DEFAULT_GROUP};
use crate::wwpn::{parse_initiator, parse_wwpn, valid_name};
use std::collections::BTreeMap;

/// One statement: its words and, if it opened a `{ }` block, the statements inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// 1-based line of the first word.
    pub line: usize,
    /// Words (quotes removed).
    pub words: Vec<String>,
    /// Statements in its block.
    pub children: Vec<Node>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Eol,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut toks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let mut chars = line.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                '#' => break,
                '{' => {
                    chars.next();
                    toks.push((ln, Tok::Open));
                }
                '}' => {
                    chars.next();
                    toks.push((ln, Tok::Close));
                }
                '"' => {
                    chars.next();
                    let mut w = String::new();
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => {
                                if let Some(n) = chars.next() {
                                    w.push(n);
                                }
                            }
                            Some(x) => w.push(x),
                            None => return Err(format!("line {ln}: unterminated quote")),
                        }
                    }
                    toks.push((ln, Tok::Word(w)));
                }
                c if c.is_whitespace() => {
                    chars.next();
                }
                _ => {
                    let mut w = String::new();
                    while let Some(&x) = chars.peek() {
                        if x.is_whitespace() || matches!(x, '{' | '}' | '#' | '"') {
                            break;
                        }
                        w.push(x);
                        chars.next();
                    }
                    toks.push((ln, Tok::Word(w)));
                }
            }
        }
        toks.push((ln, Tok::Eol));
    }
    Ok(toks)
}

/// Parses scst.conf syntax into statements.
pub fn parse(text: &str) -> Result<Vec<Node>, String> {
    let toks = tokenize(text)?;
    let mut pos = 0;
    let nodes = block(&toks, &mut pos, 0)?;
    if pos < toks.len() {
        return Err(format!("line {}: unexpected '}}'", toks[pos].0));
    }
    Ok(nodes)
}

fn block(toks: &[(usize, Tok)], pos: &mut usize, depth: usize) -> Result<Vec<Node>, String> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut cur: Option<Node> = None;
    while let Some((ln, t)) = toks.get(*pos) {
        *pos += 1;
        match t {
            Tok::Word(w) => cur
                .get_or_insert_with(|| Node {
                    line: *ln,
                    words: Vec::new(),
                    children: Vec::new(),
                })
                .words
                .push(w.clone()),
            Tok::Eol => nodes.extend(cur.take()),
            Tok::Open => {
                let children = block(toks, pos, depth + 1)?;
                // "{" on its own line belongs to the statement before it.
                match cur.take() {
                    Some(mut n) => {
                        n.children = children;
                        nodes.push(n);
                    }
                    None => match nodes.last_mut() {
                        Some(n) if n.children.is_empty() => n.children = children,
                        _ => return Err(format!("line {ln}: '{{' without a statement")),
                    },
                }
            }
            Tok::Close => {
                nodes.extend(cur.take());
                if depth == 0 {
                    *pos -= 1;
                    return Ok(nodes);
                }
                return Ok(nodes);
            }
        }
    }
    nodes.extend(cur.take());
    if depth > 0 {
        return Err("missing '}' at end of file".into());
    }
    Ok(nodes)
}

fn flag(v: &str) -> Option<bool> {
    match v {
        "1" | "Y" | "y" | "yes" => Some(true),
        "0" | "N" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// Converts scst.conf text.
pub fn import(text: &str) -> Result<Imported, String> {
    let nodes = parse(text)?;
    let mut out = Imported::default();
    for n in &nodes {
        let kw = n.words.first().map(String::as_str).unwrap_or("");
        match kw {
            "HANDLER" => handler(n, &mut out),
            "TARGET_DRIVER" => driver(n, &mut out),
            _ => out.notes.push(format!(
                "line {}: global setting `{}` (SCST-specific)",
                n.line,
                n.words.join(" ")
            )),
        }
    }
    Ok(out)
}

fn handler(n: &Node, out: &mut Imported) {
    let name = n.words.get(1).map(String::as_str).unwrap_or("");
    let backend =
        match name {
            "vdisk_fileio" => Backend::Fileio,
            "vdisk_blockio" => Backend::Blockio,
            "vdisk_nullio" => Backend::Nullio,
            _ => {
                let devs: Vec<String> = n
                    .children
                    .iter()
                    .filter(|c| c.words.first().map(String::as_str) == Some("DEVICE"))
                    .filter_map(|c| c.words.get(1).cloned())
                    .collect();
                out.notes.push(format!(
                "line {}: HANDLER {name} (devices {}): Ferrule has nullio, fileio and blockio only",
                n.line,
                if devs.is_empty() { "none".into() } else { devs.join(", ") }
            ));
                return;
            }
        };
    for d in &n.children {
        if d.words.first().map(String::as_str) != Some("DEVICE") {
            out.notes.push(format!(
                "line {}: handler setting `{}`",
                d.line,
                d.words.join(" ")
            ));
            continue;
        }
        let Some(dname) = d.words.get(1) else {
            continue;
        };
        if let Err(e) = valid_name(dname) {
            out.notes
                .push(format!("line {}: device {e}; rename it", d.line));
        }
        let mut dev = Device::new(dname, backend);
        for a in &d.children {
            let key = a.words.first().map(String::as_str).unwrap_or("");
            let val = a.words.get(1).map(String::as_str).unwrap_or("");
            let bad = |out: &mut Imported| {
                out.notes.push(format!(
                    "line {}: device {dname}: `{key} {val}` is not a valid value",
                    a.line
                ))
            };
            match key {
                "filename" => dev.path = Some(val.to_string()),
                "size" => match val.parse() {
                    Ok(s) => dev.size = Some(s),
                    Err(_) => bad(out),
                },
                "size_mb" => match val.parse::<u64>().ok().and_then(|m| m.checked_mul(1 << 20)) {
                    Some(s) => dev.size = Some(s),
                    None => bad(out),
                },
                "blocksize" => match val {
                    "512" => dev.block_size = Some(512),
                    "4096" => dev.block_size = Some(4096),
                    _ => out.notes.push(format!(
                        "line {}: device {dname}: blocksize {val} (Ferrule supports 512 and 4096)",
                        a.line
                    )),
                },
                "read_only" => match flag(val) {
                    Some(v) => dev.read_only = Some(v),
                    None => bad(out),
                },
                "write_through" => match flag(val) {
                    Some(v) => dev.write_cache = Some(!v),
                    None => bad(out),
                },
                "thin_provisioned" => match flag(val) {
                    Some(v) => dev.thin = Some(v),
                    None => bad(out),
                },
                "usn" => dev.serial = Some(val.to_string()),
                "t10_vend_id" => dev.vendor = Some(val.chars().take(8).collect()),
                "prod_id" => dev.product = Some(val.chars().take(16).collect()),
                "prod_rev_lvl" => dev.revision = Some(val.chars().take(4).collect()),
                "nv_cache" if val == "0" => {}
                "nv_cache" if val == "1" => {
                    out.notes.push(format!(
                        "line {}: device {dname}: nv_cache 1 (SYNCHRONIZE CACHE ignored); Ferrule always honours it, write_cache = true is the closest",
                        a.line
                    ));
                    dev.write_cache.get_or_insert(true);
                }
                "t10_dev_id" => out.notes.push(format!(
                    "line {}: device {dname}: t10_dev_id {val:?}; Ferrule derives the device identifiers from `serial`, so initiators will see a new NAA",
                    a.line
                )),
                _ => out.notes.push(format!(
                    "line {}: device {dname}: `{}`",
                    a.line,
                    a.words.join(" ")
                )),
            }
        }
        if backend == Backend::Blockio && dev.size.take().is_some() {
            out.notes.push(format!(
                "device {dname}: size (blockio uses the block device's size)"
            ));
        }
        if backend == Backend::Nullio && dev.size.is_none() {
            // SCST's nullio default is a large virtual size; Ferrule needs it explicit.
            dev.size = Some(1 << 40);
            out.notes.push(format!(
                "device {dname}: nullio without size; set to 1T, adjust if needed"
            ));
        }
        out.config.devices.push(dev);
    }
}

fn lun_stmt(n: &Node, out: &mut Imported, luns: &mut BTreeMap<u8, Lun>, ctx: &str) {
    let num = n.words.get(1).and_then(|v| v.parse::<u32>().ok());
    let dev = n.words.get(2);
    match (num, dev) {
        (Some(num), Some(dev)) if num <= 255 => {
            let mut lun = Lun {
                device: dev.clone(),
                read_only: false,
            };
            for a in &n.children {
                match (
                    a.words.first().map(String::as_str),
                    a.words.get(1).map(String::as_str),
                ) {
                    (Some("read_only"), Some(v)) => lun.read_only = flag(v).unwrap_or(false),
                    _ => out.notes.push(format!(
                        "line {}: {ctx} LUN {num}: `{}`",
                        a.line,
                        a.words.join(" ")
                    )),
                }
            }
            luns.insert(num as u8, lun);
        }
        _ => out.notes.push(format!(
            "line {}: {ctx}: `{}` (Ferrule LUNs are 0..255)",
            n.line,
            n.words.join(" ")
        )),
    }
}

fn driver(n: &Node, out: &mut Imported) {
    let name = n.words.get(1).map(String::as_str).unwrap_or("");
    let fabric = match name {
        "qla2x00t" => Fabric::Qla2x00t,
        _ => {
            out.notes.push(format!(
                "line {}: TARGET_DRIVER {name}: Ferrule serves FC (qla2x00t) and local targets only",
                n.line
            ));
            return;
        }
    };
    for t in &n.children {
        if t.words.first().map(String::as_str) != Some("TARGET") {
            if t.words.first().map(String::as_str) != Some("enabled") {
                out.notes.push(format!(
                    "line {}: driver setting `{}`",
                    t.line,
                    t.words.join(" ")
                ));
            }
            continue;
        }
        let raw = t.words.get(1).map(String::as_str).unwrap_or("");
        let wwpn = match parse_wwpn(raw) {
            Ok(w) => w,
            Err(e) => {
                out.notes.push(format!("line {}: target {e}", t.line));
                continue;
            }
        };
        let mut target = Target {
            fabric,
            wwpn: wwpn.clone(),
            initiator: None,
            rel_port: None,
            npiv_parent: None,
            enabled: false,
            groups: Vec::new(),
        };
        let mut default_luns = BTreeMap::new();
        for s in &t.children {
            let kw = s.words.first().map(String::as_str).unwrap_or("");
            let val = s.words.get(1).map(String::as_str).unwrap_or("");
            match kw {
                "enabled" => target.enabled = flag(val).unwrap_or(false),
                "rel_tgt_id" => match val.parse::<u16>() {
                    Ok(r) if r >= 1 => target.rel_port = Some(r),
                    _ => out.notes.push(format!("line {}: rel_tgt_id {val}", s.line)),
                },
                "LUN" => lun_stmt(s, out, &mut default_luns, &format!("target {wwpn}")),
                "GROUP" => {
                    let mut g = Group {
                        name: val.to_string(),
                        initiators: Vec::new(),
                        luns: BTreeMap::new(),
                    };
                    if let Err(e) = valid_name(val) {
                        out.notes
                            .push(format!("line {}: group {e}; rename it", s.line));
                    }
                    for m in &s.children {
                        let mk = m.words.first().map(String::as_str).unwrap_or("");
                        let mv = m.words.get(1).map(String::as_str).unwrap_or("");
                        match mk {
                            "LUN" => lun_stmt(m, out, &mut g.luns, &format!("group {val}")),
                            "INITIATOR" => match parse_initiator(mv) {
                                Ok(i) => g.initiators.push(i),
                                Err(e) => out.notes.push(format!(
                                    "line {}: group {val}: INITIATOR {mv}: {e}",
                                    m.line
                                )),
                            },
                            _ => out.notes.push(format!(
                                "line {}: group {val}: `{}`",
                                m.line,
                                m.words.join(" ")
                            )),
                        }
                    }
                    target.groups.push(g);
                }
                "HW_TARGET" => {}
                _ => out.notes.push(format!(
                    "line {}: target {wwpn}: `{}`",
                    s.line,
                    s.words.join(" ")
                )),
            }
        }
        if !default_luns.is_empty() {
            target.groups.insert(
                0,
                Group {
                    name: DEFAULT_GROUP.into(),
                    initiators: Vec::new(),
                    luns: default_luns,
                },
            );
        }
        out.config.targets.push(target);
    }
}
