//! An in-memory model of Ferrule's configfs tree (configfs-spec.md), for tests and demos.
//!
//! It enforces what the CLI must get right: default groups appear on mkdir and cannot be
//! removed, attributes exist with their defaults, invalid values and wrong states return the
//! errno the spec names (and a `why`, like the kernel's log line), and nothing changes on error.

use crate::fs::{errno::*, ConfigFs, FsError};
use crate::model::Backend;
use crate::wwpn::{parse_initiator, parse_wwpn, parse_wwpn_list, valid_name};
use std::collections::{BTreeMap, BTreeSet};

/// An initiator logged in to a fake target (what the kernel's session table holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeLogin {
    /// Initiator WWPN, canonical.
    pub initiator: String,
    /// N_Port ID (24 bits).
    pub port_id: u32,
    /// The handle column: the firmware's N_Port handle (FC) or `host<N>` (local).
    pub handle: String,
    /// Commands received.
    pub commands: u64,
}

/// An NPIV port made through `targets/qla2x00t/npiv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeNpiv {
    /// WWPN of the HBA's physical port it is on (canonical).
    pub parent: String,
    /// Its own WWPN (canonical).
    pub wwpn: String,
    /// Its virtual port index on that HBA (the lowest free one, from 1).
    pub vp: u8,
}

/// Virtual port indexes an HBA has (0 is the physical port), as the ISP24xx firmware.
const MAX_VPS: u8 = 16;

/// The kernel's usage text for a malformed `npiv` write.
const NPIV_USAGE: &str = "expected 'add <parent wwpn> <wwpn> [<wwnn>]' or 'del <wwpn>'";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir { default: bool },
    Attr { value: String, writable: bool },
}

/// The fake tree. Compare two fakes with `==` to check that nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeFs {
    nodes: BTreeMap<String, Node>,
    /// Devices whose `product` was written (otherwise it follows the backend).
    explicit_product: BTreeSet<String>,
    /// WWPNs of the HBAs' physical FC ports (qla2x00t targets must be one of them or an NPIV
    /// port, NPIV ports are made on them).
    pub hba_ports: Vec<String>,
    /// NPIV ports, in creation order (the order `npiv` lists them).
    pub npiv: Vec<FakeNpiv>,
    /// Size of existing files / block devices by path; others are 1 GiB.
    pub backing_sizes: BTreeMap<String, u64>,
    /// Paths whose open fails with ENOENT.
    pub missing_paths: BTreeSet<String>,
    /// Successful mutating operations so far.
    pub mutations: usize,
    /// Make the next operation on this path fail with this errno (then clear).
    pub fail_on: Option<(String, i32)>,
    /// Logged-in initiators by target directory, in login order; `sessions` renders them.
    logins: BTreeMap<String, Vec<FakeLogin>>,
}

const GIB: u64 = 1 << 30;

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

fn bool_attr(value: &str) -> Result<&str, FsError> {
    match value {
        "0" | "1" => Ok(value),
        _ => Err(FsError::because(EINVAL, format!("{value:?} is not 0 or 1"))),
    }
}

fn t10(value: &str, max: usize) -> Result<(), FsError> {
    if value.len() > max || !value.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(FsError::because(
            EINVAL,
            format!("at most {max} printable ASCII characters"),
        ));
    }
    Ok(())
}

impl Default for FakeFs {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeFs {
    /// A freshly loaded module: version, devices/, targets/{local,qla2x00t}/.
    pub fn new() -> Self {
        let mut fs = FakeFs {
            nodes: BTreeMap::new(),
            explicit_product: BTreeSet::new(),
            hba_ports: Vec::new(),
            npiv: Vec::new(),
            backing_sizes: BTreeMap::new(),
            missing_paths: BTreeSet::new(),
            mutations: 0,
            fail_on: None,
            logins: BTreeMap::new(),
        };
        fs.dir("", true);
        fs.attr("version", "0.1.0", false);
        fs.dir("devices", true);
        fs.dir("targets", true);
        fs.dir("targets/local", true);
        fs.dir("targets/qla2x00t", true);
        fs.attr(crate::read::NPIV_PATH, "", true);
        fs
    }

    /// Whether an FC port (an HBA's physical port or an NPIV port) has this WWPN.
    pub fn fc_port_exists(&self, wwpn: &str) -> bool {
        self.hba_ports.iter().any(|p| p == wwpn) || self.npiv.iter().any(|p| p.wwpn == wwpn)
    }

    /// What `cat npiv` prints: `<parent wwpn> <wwpn> vp<N>` per NPIV port.
    fn npiv_text(&self) -> String {
        self.npiv
            .iter()
            .map(|p| format!("{} {} vp{}", p.parent, p.wwpn, p.vp))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A write to `npiv`, checked as the kernel checks it (same errno, same order).
    fn write_npiv(&mut self, value: &str) -> Result<(), FsError> {
        let usage = || FsError::because(EINVAL, NPIV_USAGE);
        let wwpn = |w: Option<&str>| {
            parse_wwpn(w.ok_or_else(usage)?).map_err(|_| FsError::because(EINVAL, "not a WWPN"))
        };
        let mut words = value.split_ascii_whitespace();
        match words.next() {
            Some("add") => {
                let parent = wwpn(words.next())?;
                let port = wwpn(words.next())?;
                if let Some(node) = words.next() {
                    wwpn(Some(node))?;
                }
                if words.next().is_some() {
                    return Err(usage());
                }
                if self.fc_port_exists(&port) {
                    return Err(FsError::because(EEXIST, "an FC port with this WWPN exists"));
                }
                if !self.hba_ports.contains(&parent) {
                    return Err(FsError::because(
                        ENOENT,
                        "no physical FC port with the parent WWPN",
                    ));
                }
                let vp = (1..MAX_VPS)
                    .find(|i| !self.npiv.iter().any(|p| p.parent == parent && p.vp == *i))
                    .ok_or_else(|| FsError::because(ENOSPC, "no free virtual port on this HBA"))?;
                self.npiv.push(FakeNpiv {
                    parent,
                    wwpn: port,
                    vp,
                });
            }
            Some("del") => {
                let port = wwpn(words.next())?;
                if words.next().is_some() {
                    return Err(usage());
                }
                let Some(i) = self.npiv.iter().position(|p| p.wwpn == port) else {
                    return Err(FsError::because(ENOENT, "no NPIV port with this WWPN"));
                };
                self.npiv.remove(i);
                // Its sessions end; a target on it stays configured.
                let dirs = self.child_dirs("targets/qla2x00t");
                for d in dirs {
                    if parse_wwpn(&d).ok().as_deref() == Some(port.as_str()) {
                        self.logins.remove(&format!("targets/qla2x00t/{d}"));
                    }
                }
            }
            _ => return Err(usage()),
        }
        Ok(())
    }

    /// A fake with these FC ports present.
    pub fn with_hba_ports(ports: &[&str]) -> Self {
        let mut fs = Self::new();
        fs.hba_ports = ports.iter().map(|p| p.to_string()).collect();
        fs
    }

    /// Replaces a target's `sessions` text (what the kernel would report).
    pub fn set_sessions(&mut self, target_dir: &str, text: &str) {
        self.attr(&format!("{target_dir}/sessions"), text, false);
    }

    /// An initiator logs in to an enabled target (PLOGI + PRLI on FC, `enable 1` on the local
    /// fabric), keyed like the kernel's session table: a login that shares the WWPN, the
    /// N_Port ID or the handle of a live session replaces it. Refused (as the kernel rejects
    /// the login) when the target does not exist or is disabled.
    pub fn log_in(
        &mut self,
        target_dir: &str,
        initiator: &str,
        port_id: u32,
        handle: &str,
    ) -> Result<(), String> {
        let initiator = parse_wwpn(initiator)?;
        if self.get(&format!("{target_dir}/enable")) != Some("1") {
            return Err(format!("{target_dir}: no enabled target, login rejected"));
        }
        let port_id = port_id & 0x00ff_ffff;
        let list = self.logins.entry(target_dir.to_string()).or_default();
        list.retain(|l| l.initiator != initiator && l.port_id != port_id && l.handle != handle);
        list.push(FakeLogin {
            initiator,
            port_id,
            handle: handle.to_string(),
            commands: 0,
        });
        Ok(())
    }

    /// The initiator at `port_id` logs out (LOGO); false if there was no such session.
    pub fn log_out(&mut self, target_dir: &str, port_id: u32) -> bool {
        let Some(list) = self.logins.get_mut(target_dir) else {
            return false;
        };
        let n = list.len();
        list.retain(|l| l.port_id != port_id);
        list.len() != n
    }

    /// Counts `n` more commands on the session at `port_id`.
    pub fn add_commands(&mut self, target_dir: &str, port_id: u32, n: u64) {
        for l in self.logins.get_mut(target_dir).into_iter().flatten() {
            if l.port_id == port_id {
                l.commands = l.commands.saturating_add(n);
            }
        }
    }

    /// The group `initiator` resolves to on a target, as the kernel resolves it: an exact
    /// member, else the most specific matching pattern, else `default`.
    fn resolve_group(&self, target_dir: &str, initiator: &str) -> String {
        let groups_dir = format!("{target_dir}/groups");
        let mut best: Option<(usize, String)> = None;
        for g in self.child_dirs(&groups_dir) {
            for m in self.child_dirs(&format!("{groups_dir}/{g}/initiators")) {
                let Ok(m) = parse_initiator(&m) else { continue };
                if m == initiator {
                    return g;
                }
                if let Some(spec) = pattern_specificity(&m, initiator) {
                    if best.as_ref().is_none_or(|(b, _)| spec > *b) {
                        best = Some((spec, g.clone()));
                    }
                }
            }
        }
        best.map_or_else(|| "default".to_string(), |(_, g)| g)
    }

    /// The `sessions` lines the kernel would print for these logins (without the header).
    fn session_lines(&self, target_dir: &str) -> Vec<String> {
        let Some(list) = self.logins.get(target_dir) else {
            return Vec::new();
        };
        list.iter()
            .map(|l| {
                let group = self.resolve_group(target_dir, &l.initiator);
                let luns_dir = format!("{target_dir}/groups/{group}/luns");
                let mut luns: Vec<u16> = self
                    .child_dirs(&luns_dir)
                    .iter()
                    .filter(|n| self.get(&format!("{luns_dir}/{n}/device")) != Some(""))
                    .filter_map(|n| n.parse().ok())
                    .collect();
                luns.sort_unstable();
                let luns = if luns.is_empty() {
                    "-".to_string()
                } else {
                    luns.iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                };
                format!(
                    "{} {:06x} {} {group} {luns} {}",
                    l.initiator, l.port_id, l.handle, l.commands
                )
            })
            .collect()
    }

    /// Every path in the tree ("dir/" for directories), for debugging and assertions.
    pub fn paths(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|(p, n)| match n {
                Node::Dir { .. } => format!("{p}/"),
                Node::Attr { .. } => p.clone(),
            })
            .collect()
    }

    fn dir(&mut self, path: &str, default: bool) {
        self.nodes.insert(path.into(), Node::Dir { default });
    }

    fn attr(&mut self, path: &str, value: &str, writable: bool) {
        self.nodes.insert(
            path.into(),
            Node::Attr {
                value: value.into(),
                writable,
            },
        );
    }

    fn get(&self, path: &str) -> Option<&str> {
        match self.nodes.get(path) {
            Some(Node::Attr { value, .. }) => Some(value),
            _ => None,
        }
    }

    fn set(&mut self, path: &str, v: &str) {
        if let Some(Node::Attr { value, .. }) = self.nodes.get_mut(path) {
            *value = v.into();
        }
    }

    fn child_dirs(&self, path: &str) -> Vec<String> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        self.nodes
            .iter()
            .filter_map(|(p, n)| {
                let rest = p.strip_prefix(&prefix)?;
                (!rest.is_empty() && !rest.contains('/') && matches!(n, Node::Dir { .. }))
                    .then(|| rest.to_string())
            })
            .collect()
    }

    /// (target dir, device) of every LUN, with whether its target is enabled.
    fn lun_maps(&self) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        for (p, n) in &self.nodes {
            let parts: Vec<&str> = p.split('/').collect();
            if let (Node::Attr { value, .. }, [_, _, _, "groups", _, "luns", _, "device"]) =
                (n, parts.as_slice())
            {
                let tdir = parts[..3].join("/");
                let live = self.get(&format!("{tdir}/enable")) == Some("1");
                out.push((tdir, value.clone(), live));
            }
        }
        out
    }

    fn check_injected(&mut self, path: &str) -> Result<(), FsError> {
        if let Some((p, e)) = &self.fail_on {
            if p == path {
                let e = *e;
                self.fail_on = None;
                return Err(FsError::because(e, "injected failure"));
            }
        }
        Ok(())
    }

    fn mkdir_checked(&mut self, path: &str) -> Result<(), FsError> {
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["devices", name] => {
                valid_name(name).map_err(|e| FsError::because(EINVAL, e))?;
                self.dir(path, false);
                let serial = format!("FER{:08X}", fnv(name));
                for (attr, value) in [
                    ("backend", "nullio"),
                    ("path", ""),
                    ("size", "0"),
                    ("block_size", "512"),
                    ("read_only", "0"),
                    ("write_cache", "1"),
                    ("thin", "0"),
                    ("serial", serial.as_str()),
                    ("vendor", "FERRULE"),
                    ("product", "nullio"),
                    ("revision", "0001"),
                    ("enable", "0"),
                ] {
                    self.attr(&format!("{path}/{attr}"), value, true);
                }
                self.attr(&format!("{path}/naa"), &naa(&serial), false);
                self.attr(&format!("{path}/info"), "", false);
                self.refresh_info(name);
            }
            ["targets", fabric @ ("local" | "qla2x00t"), wwpn] => {
                let canon = parse_wwpn(wwpn).map_err(|e| FsError::because(EINVAL, e))?;
                if self
                    .child_dirs(parent(path))
                    .iter()
                    .any(|d| parse_wwpn(d).ok().as_deref() == Some(canon.as_str()))
                {
                    return Err(FsError::because(EEXIST, "target exists"));
                }
                if *fabric == "qla2x00t" && !self.fc_port_exists(&canon) {
                    return Err(FsError::because(ENOENT, "no FC port has this WWPN"));
                }
                self.dir(path, false);
                self.attr(&format!("{path}/enable"), "0", true);
                if *fabric == "local" {
                    self.attr(&format!("{path}/initiator"), "", true);
                }
                self.attr(&format!("{path}/rel_port"), "1", true);
                self.attr(
                    &format!("{path}/sessions"),
                    crate::read::SESSIONS_HEADER,
                    false,
                );
                self.dir(&format!("{path}/groups"), true);
                self.group_dirs(&format!("{path}/groups/default"), true);
            }
            ["targets", _, _, "groups", name] => {
                valid_name(name).map_err(|e| FsError::because(EINVAL, e))?;
                self.group_dirs(path, false);
            }
            ["targets", _, _, "groups", group, "initiators", member] => {
                let canon = parse_initiator(member).map_err(|e| FsError::because(EINVAL, e))?;
                if *group == "default" {
                    return Err(FsError::because(EINVAL, "the default group has no members"));
                }
                let groups_dir = parts[..4].join("/");
                for g in self.child_dirs(&groups_dir) {
                    let has = self
                        .child_dirs(&format!("{groups_dir}/{g}/initiators"))
                        .iter()
                        .any(|m| parse_initiator(m).ok().as_deref() == Some(canon.as_str()));
                    if has {
                        return Err(FsError::because(EEXIST, format!("{canon} is in group {g}")));
                    }
                }
                self.dir(path, false);
            }
            ["targets", _, _, "groups", _, "luns", n] => {
                match n.parse::<u16>() {
                    Ok(v) if v <= 255 && n.len() <= 3 => {}
                    _ => return Err(FsError::because(EINVAL, "LUN must be 0..255")),
                }
                self.dir(path, false);
                self.attr(&format!("{path}/device"), "", true);
                self.attr(&format!("{path}/read_only"), "0", true);
            }
            _ => return Err(FsError::new(EPERM)),
        }
        Ok(())
    }

    fn group_dirs(&mut self, path: &str, default: bool) {
        self.dir(path, default);
        self.dir(&format!("{path}/initiators"), true);
        self.dir(&format!("{path}/luns"), true);
    }

    fn refresh_info(&mut self, dev: &str) {
        let base = format!("devices/{dev}");
        let get = |a: &str| self.get(&format!("{base}/{a}")).unwrap_or("").to_string();
        let size: u64 = get("size").parse().unwrap_or(0);
        let bs: u64 = get("block_size").parse().unwrap_or(512);
        let enabled = get("enable") == "1";
        let opens = self
            .lun_maps()
            .iter()
            .filter(|(_, d, live)| d == dev && *live)
            .count();
        let path = get("path");
        let info = format!(
            "{} {} {} {} {} {}",
            get("backend"),
            if path.is_empty() { "-" } else { &path },
            size,
            size / bs.max(1),
            if enabled { "enabled" } else { "disabled" },
            opens
        );
        self.set(&format!("{base}/info"), &info);
    }

    fn write_device(&mut self, dev: &str, attr: &str, value: &str) -> Result<(), FsError> {
        let base = format!("devices/{dev}");
        let get = |s: &Self, a: &str| s.get(&format!("{base}/{a}")).unwrap_or("").to_string();
        let enabled = get(self, "enable") == "1";
        let backend = Backend::parse(&get(self, "backend")).unwrap_or(Backend::Nullio);
        let busy = || FsError::because(EBUSY, format!("{attr} can only change while enable=0"));
        let value = match attr {
            "backend" => {
                let b = Backend::parse(value)
                    .ok_or_else(|| FsError::because(EINVAL, "backend is nullio|fileio|blockio"))?;
                if enabled {
                    return Err(busy());
                }
                if !self.explicit_product.contains(dev) {
                    self.set(&format!("{base}/product"), b.as_str());
                }
                value.to_string()
            }
            "path" => {
                if enabled {
                    return Err(busy());
                }
                if !value.is_empty() && !value.starts_with('/') {
                    return Err(FsError::because(EINVAL, "path must be absolute"));
                }
                value.to_string()
            }
            "size" => {
                let n: u64 = value
                    .parse()
                    .map_err(|_| FsError::because(EINVAL, "size is a number of bytes"))?;
                if backend == Backend::Blockio {
                    return Err(FsError::because(
                        EINVAL,
                        "blockio size is the device's size",
                    ));
                }
                let bs: u64 = get(self, "block_size").parse().unwrap_or(512);
                if n % bs != 0 {
                    return Err(FsError::because(
                        EINVAL,
                        format!("{n} is not a multiple of block_size {bs}"),
                    ));
                }
                if enabled && n == 0 {
                    return Err(FsError::because(EINVAL, "cannot resize to 0"));
                }
                n.to_string()
            }
            "block_size" => {
                let n: u64 = match value {
                    "512" => 512,
                    "4096" => 4096,
                    _ => return Err(FsError::because(EINVAL, "block_size is 512 or 4096")),
                };
                if enabled {
                    return Err(busy());
                }
                let size: u64 = get(self, "size").parse().unwrap_or(0);
                // blockio's size comes from the device when it is opened.
                if size % n != 0 && backend != Backend::Blockio {
                    return Err(FsError::because(
                        EINVAL,
                        format!("size {size} is not a multiple of {n}"),
                    ));
                }
                value.to_string()
            }
            "read_only" | "write_cache" | "thin" => bool_attr(value)?.to_string(),
            "serial" => {
                if value.is_empty() {
                    return Err(FsError::because(EINVAL, "serial is empty"));
                }
                t10(value, 64)?;
                self.set(&format!("{base}/naa"), &naa(value));
                value.to_string()
            }
            "vendor" => t10(value, 8).map(|_| value.to_string())?,
            "product" => {
                t10(value, 16)?;
                self.explicit_product.insert(dev.to_string());
                value.to_string()
            }
            "revision" => t10(value, 4).map(|_| value.to_string())?,
            "enable" => {
                let on = bool_attr(value)? == "1";
                if on && !enabled {
                    let path = get(self, "path");
                    match backend {
                        Backend::Nullio => {
                            if get(self, "size") == "0" {
                                return Err(FsError::because(EINVAL, "nullio needs a size"));
                            }
                        }
                        Backend::Fileio | Backend::Blockio => {
                            if path.is_empty() {
                                return Err(FsError::because(EINVAL, "no path"));
                            }
                            if self.missing_paths.contains(&path) {
                                return Err(FsError::because(
                                    ENOENT,
                                    format!("cannot open {path}"),
                                ));
                            }
                            let actual = self.backing_sizes.get(&path).copied().unwrap_or(GIB);
                            let cur: u64 = get(self, "size").parse().unwrap_or(0);
                            if backend == Backend::Blockio || cur == 0 {
                                self.set(&format!("{base}/size"), &actual.to_string());
                            }
                        }
                    }
                }
                if !on && enabled {
                    let live = self
                        .lun_maps()
                        .into_iter()
                        .find(|(_, d, live)| d == dev && *live);
                    if let Some((t, _, _)) = live {
                        return Err(FsError::because(
                            EBUSY,
                            format!("mapped by enabled target {t}"),
                        ));
                    }
                }
                value.to_string()
            }
            _ => return Err(FsError::new(EACCES)),
        };
        self.set(&format!("{base}/{attr}"), &value);
        self.refresh_info(dev);
        Ok(())
    }

    fn write_target(&mut self, tdir: &str, attr: &str, value: &str) -> Result<(), FsError> {
        let enabled = self.get(&format!("{tdir}/enable")) == Some("1");
        let value = match attr {
            "enable" => {
                let on = bool_attr(value)? == "1";
                if on
                    && tdir.starts_with("targets/local/")
                    && self.get(&format!("{tdir}/initiator")) == Some("")
                {
                    return Err(FsError::because(EINVAL, "set initiator first"));
                }
                if let Some(w) = tdir.strip_prefix("targets/qla2x00t/") {
                    let w = parse_wwpn(w).unwrap_or_default();
                    if on && !enabled && !self.fc_port_exists(&w) {
                        return Err(FsError::because(ENODEV, "no FC port with this WWPN"));
                    }
                }
                if !on {
                    // Disabling ends every session of the target.
                    self.logins.remove(tdir);
                }
                value.to_string()
            }
            "initiator" => {
                if enabled {
                    return Err(FsError::because(EBUSY, "only while enable=0"));
                }
                parse_wwpn_list(value).map_err(|e| FsError::because(EINVAL, e))?
            }
            "rel_port" => {
                if enabled {
                    return Err(FsError::because(EBUSY, "only while enable=0"));
                }
                match value.parse::<u32>() {
                    Ok(n) if (1..=65535).contains(&n) => n.to_string(),
                    _ => return Err(FsError::because(EINVAL, "rel_port is 1..65535")),
                }
            }
            _ => return Err(FsError::new(EACCES)),
        };
        self.set(&format!("{tdir}/{attr}"), &value);
        Ok(())
    }

    fn write_lun(&mut self, ldir: &str, attr: &str, value: &str) -> Result<(), FsError> {
        let tdir = ldir.split('/').take(3).collect::<Vec<_>>().join("/");
        match attr {
            "device" => {
                if !self.nodes.contains_key(&format!("devices/{value}")) || value.is_empty() {
                    return Err(FsError::because(ENOENT, format!("no device {value:?}")));
                }
                let cur = self.get(&format!("{ldir}/device")).unwrap_or("");
                if !cur.is_empty() && self.get(&format!("{tdir}/enable")) == Some("1") {
                    return Err(FsError::because(
                        EBUSY,
                        "mapped to a live target: rmdir + mkdir",
                    ));
                }
            }
            "read_only" => {
                bool_attr(value)?;
            }
            _ => return Err(FsError::new(EACCES)),
        }
        self.set(&format!("{ldir}/{attr}"), value);
        Ok(())
    }
}

/// How specific WWPN pattern `pattern` (canonical: colon fields, `*` for a byte, a trailing
/// `*` for the rest) is when it matches `wwpn` (canonical): the number of fixed bytes.
fn pattern_specificity(pattern: &str, wwpn: &str) -> Option<usize> {
    let p: Vec<&str> = pattern.split(':').collect();
    let w: Vec<&str> = wwpn.split(':').collect();
    let mut fixed = 0;
    for (i, wb) in w.iter().enumerate() {
        match p.get(i) {
            Some(&"*") if i + 1 == p.len() && p.len() < w.len() => return Some(fixed),
            Some(&"*") => {}
            Some(pb) if pb == wb => fixed += 1,
            _ => return None,
        }
    }
    (p.len() == w.len()).then_some(fixed)
}

/// Stable pseudo-serial (FNV-1a), like the kernel deriving one from the name.
fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn naa(serial: &str) -> String {
    format!("6001405{:09x}", u64::from(fnv(serial)) << 4)
}

impl ConfigFs for FakeFs {
    fn root_exists(&self) -> bool {
        true
    }

    fn read(&self, path: &str) -> Result<String, FsError> {
        if path == crate::read::NPIV_PATH {
            return Ok(self.npiv_text());
        }
        match self.nodes.get(path) {
            Some(Node::Attr { value, .. }) => match path.strip_suffix("/sessions") {
                Some(tdir) if self.logins.contains_key(tdir) => {
                    let mut lines = vec![value.clone()];
                    lines.extend(self.session_lines(tdir));
                    Ok(lines.join("\n"))
                }
                _ => Ok(value.clone()),
            },
            Some(Node::Dir { .. }) => Err(FsError::new(EISDIR)),
            None => Err(FsError::new(ENOENT)),
        }
    }

    fn write(&mut self, path: &str, value: &str) -> Result<(), FsError> {
        self.check_injected(path)?;
        match self.nodes.get(path) {
            None => return Err(FsError::new(ENOENT)),
            Some(Node::Dir { .. }) => return Err(FsError::new(EISDIR)),
            Some(Node::Attr {
                writable: false, ..
            }) => return Err(FsError::new(EACCES)),
            Some(Node::Attr { .. }) => {}
        }
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["targets", "qla2x00t", "npiv"] => self.write_npiv(value)?,
            ["devices", dev, attr] => self.write_device(dev, attr, value)?,
            ["targets", _, _, attr] => self.write_target(&parts[..3].join("/"), attr, value)?,
            ["targets", _, _, "groups", _, "luns", _, attr] => {
                self.write_lun(&parts[..7].join("/"), attr, value)?
            }
            _ => return Err(FsError::new(EACCES)),
        }
        self.mutations += 1;
        Ok(())
    }

    fn mkdir(&mut self, path: &str) -> Result<(), FsError> {
        self.check_injected(path)?;
        if self.nodes.contains_key(path) {
            return Err(FsError::new(EEXIST));
        }
        if !matches!(self.nodes.get(parent(path)), Some(Node::Dir { .. })) {
            return Err(FsError::new(ENOENT));
        }
        self.mkdir_checked(path)?;
        self.mutations += 1;
        Ok(())
    }

    fn rmdir(&mut self, path: &str) -> Result<(), FsError> {
        self.check_injected(path)?;
        match self.nodes.get(path) {
            None => return Err(FsError::new(ENOENT)),
            Some(Node::Attr { .. }) => return Err(FsError::new(ENOTDIR)),
            Some(Node::Dir { default: true }) => return Err(FsError::new(EPERM)),
            Some(Node::Dir { default: false }) => {}
        }
        let prefix = format!("{path}/");
        // Only default groups may remain below a removed item (configfs removes them with it).
        let user_child = self
            .nodes
            .iter()
            .any(|(p, n)| p.starts_with(&prefix) && matches!(n, Node::Dir { default: false }));
        if user_child {
            return Err(FsError::new(ENOTEMPTY));
        }
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["devices", dev] => {
                if self.lun_maps().iter().any(|(_, d, _)| d == dev) {
                    return Err(FsError::because(EBUSY, "device is mapped by a LUN"));
                }
                self.explicit_product.remove(*dev);
            }
            ["targets", _, _] if self.get(&format!("{path}/enable")) == Some("1") => {
                return Err(FsError::because(EBUSY, "target is enabled"));
            }
            _ => {}
        }
        self.nodes
            .retain(|p, _| p != path && !p.starts_with(&prefix));
        self.logins.remove(path);
        let devs: Vec<String> = self.child_dirs("devices");
        for d in devs {
            self.refresh_info(&d);
        }
        self.mutations += 1;
        Ok(())
    }

    fn list_dirs(&self, path: &str) -> Result<Vec<String>, FsError> {
        match self.nodes.get(path) {
            Some(Node::Dir { .. }) => Ok(self.child_dirs(path)),
            Some(Node::Attr { .. }) => Err(FsError::new(ENOTDIR)),
            None => Err(FsError::new(ENOENT)),
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_groups_and_attributes() {
        let mut fs = FakeFs::new();
        fs.mkdir("targets/local/50:01:40:50:00:00:00:01").unwrap();
        let t = "targets/local/50:01:40:50:00:00:00:01";
        assert!(fs.exists(&format!("{t}/groups/default/luns")));
        assert_eq!(fs.read(&format!("{t}/rel_port")).unwrap(), "1");
        assert_eq!(
            fs.rmdir(&format!("{t}/groups/default")).unwrap_err().errno,
            EPERM
        );
        assert_eq!(
            fs.mkdir("targets/qla2x00t/21:00:00:24:ff:31:4c:5a")
                .unwrap_err()
                .errno,
            ENOENT
        );
        assert_eq!(
            fs.mkdir("targets/local/50:01:40:50:00:00:00:0g")
                .unwrap_err()
                .errno,
            EINVAL
        );
    }

    #[test]
    fn device_state_rules() {
        let mut fs = FakeFs::new();
        fs.mkdir("devices/d").unwrap();
        assert_eq!(fs.read("devices/d/product").unwrap(), "nullio");
        assert_eq!(fs.write("devices/d/enable", "1").unwrap_err().errno, EINVAL);
        fs.write("devices/d/size", "1048576").unwrap();
        assert_eq!(
            fs.write("devices/d/size", "1000").unwrap_err().errno,
            EINVAL
        );
        fs.write("devices/d/enable", "1").unwrap();
        assert_eq!(
            fs.write("devices/d/block_size", "4096").unwrap_err().errno,
            EBUSY
        );
        assert_eq!(fs.write("devices/d/naa", "1").unwrap_err().errno, EACCES);
        let before = fs.clone();
        assert!(fs.write("devices/d/read_only", "yes").is_err());
        assert_eq!(fs, before, "a refused write changes nothing");
        fs.write("devices/d/size", "2097152").unwrap();
        assert_eq!(
            fs.read("devices/d/info").unwrap(),
            "nullio - 2097152 4096 enabled 0"
        );
    }

    #[test]
    fn membership_and_lun_rules() {
        let mut fs = FakeFs::new();
        let t = "targets/local/50:01:40:50:00:00:00:01";
        fs.mkdir(t).unwrap();
        fs.mkdir(&format!("{t}/groups/a")).unwrap();
        fs.mkdir(&format!("{t}/groups/b")).unwrap();
        fs.mkdir(&format!("{t}/groups/a/initiators/21:00:00:24:ff:*"))
            .unwrap();
        let e = fs
            .mkdir(&format!("{t}/groups/b/initiators/21:00:00:24:FF:*"))
            .unwrap_err();
        assert_eq!(e.errno, EEXIST);
        assert_eq!(
            fs.mkdir(&format!("{t}/groups/a/luns/256"))
                .unwrap_err()
                .errno,
            EINVAL
        );
        fs.mkdir(&format!("{t}/groups/a/luns/0")).unwrap();
        let e = fs
            .write(&format!("{t}/groups/a/luns/0/device"), "nope")
            .unwrap_err();
        assert_eq!(e.errno, ENOENT);
        assert_eq!(
            fs.rmdir(&format!("{t}/groups/a")).unwrap_err().errno,
            ENOTEMPTY
        );
        fs.mkdir("devices/d").unwrap();
        fs.write(&format!("{t}/groups/a/luns/0/device"), "d")
            .unwrap();
        assert_eq!(fs.rmdir("devices/d").unwrap_err().errno, EBUSY);
    }
}
