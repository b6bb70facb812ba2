//! Reading the running configuration and state out of configfs.

use crate::fs::{ConfigFs, FsError};
use crate::model::{Backend, Config, Device, Fabric, Group, Lun, NpivPort, Target, DEFAULT_GROUP};
use crate::wwpn::parse_wwpn;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A read that failed: which path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Path relative to the root.
    pub path: String,
    /// The failure.
    pub error: FsError,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.error)
    }
}

impl std::error::Error for ReadError {}

fn rd(fs: &dyn ConfigFs, path: &str) -> Result<String, ReadError> {
    fs.read(path).map_err(|error| ReadError {
        path: path.into(),
        error,
    })
}

fn ls(fs: &dyn ConfigFs, path: &str) -> Result<Vec<String>, ReadError> {
    fs.list_dirs(path).map_err(|error| ReadError {
        path: path.into(),
        error,
    })
}

fn flag(fs: &dyn ConfigFs, path: &str) -> Result<bool, ReadError> {
    Ok(rd(fs, path)? == "1")
}

fn num<T: std::str::FromStr>(fs: &dyn ConfigFs, path: &str) -> Result<T, ReadError> {
    let s = rd(fs, path)?;
    s.trim().parse().map_err(|_| ReadError {
        path: path.into(),
        error: FsError::because(crate::fs::errno::EINVAL, format!("unexpected value {s:?}")),
    })
}

/// Reads one device with every attribute filled in.
pub fn read_device(fs: &dyn ConfigFs, name: &str) -> Result<Device, ReadError> {
    let base = format!("devices/{name}");
    let a = |attr: &str| format!("{base}/{attr}");
    let backend_s = rd(fs, &a("backend"))?;
    let backend = Backend::parse(&backend_s).ok_or_else(|| ReadError {
        path: a("backend"),
        error: FsError::because(
            crate::fs::errno::EINVAL,
            format!("unknown backend {backend_s:?}"),
        ),
    })?;
    let path = rd(fs, &a("path"))?;
    let size: u64 = num(fs, &a("size"))?;
    Ok(Device {
        name: name.into(),
        backend,
        path: (!path.is_empty() && backend != Backend::Nullio).then_some(path),
        size: (backend != Backend::Blockio).then_some(size),
        block_size: Some(num(fs, &a("block_size"))?),
        read_only: Some(flag(fs, &a("read_only"))?),
        write_cache: Some(flag(fs, &a("write_cache"))?),
        thin: Some(flag(fs, &a("thin"))?),
        serial: Some(rd(fs, &a("serial"))?),
        vendor: Some(rd(fs, &a("vendor"))?),
        product: Some(rd(fs, &a("product"))?),
        revision: Some(rd(fs, &a("revision"))?),
        enabled: flag(fs, &a("enable"))?,
    })
}

/// Reads one target (every group, member and LUN).
pub fn read_target(fs: &dyn ConfigFs, fabric: Fabric, dir_name: &str) -> Result<Target, ReadError> {
    let base = format!("targets/{}/{dir_name}", fabric.as_str());
    let initiator = if fabric == Fabric::Local {
        let i = rd(fs, &format!("{base}/initiator"))?;
        (!i.is_empty()).then(|| crate::wwpn::parse_wwpn_list(&i).unwrap_or(i))
    } else {
        None
    };
    let mut names = ls(fs, &format!("{base}/groups"))?;
    // "default" first, then the rest in listing order.
    names.sort_by_key(|n| (n != DEFAULT_GROUP, n.clone()));
    let mut groups = Vec::new();
    for g in names {
        let gdir = format!("{base}/groups/{g}");
        let initiators = ls(fs, &format!("{gdir}/initiators"))?;
        let mut luns = BTreeMap::new();
        for n in ls(fs, &format!("{gdir}/luns"))? {
            let Ok(lun) = n.parse::<u8>() else { continue };
            let ldir = format!("{gdir}/luns/{n}");
            luns.insert(
                lun,
                Lun {
                    device: rd(fs, &format!("{ldir}/device"))?,
                    read_only: flag(fs, &format!("{ldir}/read_only"))?,
                },
            );
        }
        groups.push(Group {
            name: g,
            initiators,
            luns,
        });
    }
    Ok(Target {
        fabric,
        wwpn: parse_wwpn(dir_name).unwrap_or_else(|_| dir_name.to_string()),
        initiator,
        npiv_parent: None,
        rel_port: Some(num(fs, &format!("{base}/rel_port"))?),
        enabled: flag(fs, &format!("{base}/enable"))?,
        groups,
    })
}

/// Target directory names under each fabric, as listed (not canonicalised).
pub fn target_dirs(fs: &dyn ConfigFs) -> Result<Vec<(Fabric, String)>, ReadError> {
    let mut out = Vec::new();
    for fabric in Fabric::ALL {
        let dir = format!("targets/{}", fabric.as_str());
        if fs.exists(&dir) {
            for t in ls(fs, &dir)? {
                out.push((fabric, t));
            }
        }
    }
    Ok(out)
}

/// The attribute that creates, deletes and lists NPIV ports.
pub const NPIV_PATH: &str = "targets/qla2x00t/npiv";

/// Parses the `npiv` attribute: one line per NPIV port, `<parent wwpn> <wwpn> vp<N>`.
/// Returns the first line that does not have that form as the error.
pub fn parse_npiv(text: &str) -> Result<Vec<NpivPort>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = match f.as_slice() {
            [parent, wwpn, vp]
                if vp
                    .strip_prefix("vp")
                    .is_some_and(|n| decimal::<u8>(n).is_some()) =>
            {
                parse_wwpn(parent)
                    .and_then(|parent| Ok((parent, parse_wwpn(wwpn)?)))
                    .ok()
            }
            _ => None,
        };
        match port {
            Some((parent, wwpn)) => out.push(NpivPort { wwpn, parent }),
            None => {
                return Err(format!(
                    "line {}: {line:?} is not \"<parent> <wwpn> vp<N>\"",
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

/// The NPIV ports the kernel lists (none if this module has no `npiv` attribute).
pub fn read_npiv(fs: &dyn ConfigFs) -> Result<Vec<NpivPort>, ReadError> {
    if !fs.exists(NPIV_PATH) {
        return Ok(Vec::new());
    }
    parse_npiv(&rd(fs, NPIV_PATH)?).map_err(|why| ReadError {
        path: NPIV_PATH.into(),
        error: FsError::because(crate::fs::errno::EINVAL, why),
    })
}

/// The whole running configuration, every attribute read (not normalised). A qla2x00t
/// target whose WWPN is an NPIV port gets that port's parent as `npiv_parent`.
pub fn read_config(fs: &dyn ConfigFs) -> Result<Config, ReadError> {
    let mut cfg = Config::default();
    for d in ls(fs, "devices")? {
        cfg.devices.push(read_device(fs, &d)?);
    }
    for (fabric, t) in target_dirs(fs)? {
        cfg.targets.push(read_target(fs, fabric, &t)?);
    }
    cfg.npiv = read_npiv(fs)?;
    for t in &mut cfg.targets {
        if t.fabric == Fabric::Qla2x00t {
            t.npiv_parent = cfg
                .npiv
                .iter()
                .find(|p| p.wwpn == t.wwpn)
                .map(|p| p.parent.clone());
        }
    }
    Ok(cfg)
}

/// The header line of every `sessions` attribute.
pub const SESSIONS_HEADER: &str = "initiator port_id handle group luns commands";

/// One initiator session as the kernel reports it in a target's `sessions` attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    /// Fabric of the target.
    pub fabric: Fabric,
    /// Target WWPN.
    pub target: String,
    /// Initiator WWPN.
    pub initiator: String,
    /// N_Port ID, 6 lowercase hex digits (local initiators: `0100nn`).
    pub port_id: String,
    /// The handle as the kernel prints it: the firmware's N_Port handle in decimal (FC) or
    /// `host<N>` (local).
    pub handle: String,
    /// FC: the firmware's N_Port handle (the login slot); None for local sessions.
    pub n_port_handle: Option<u16>,
    /// Local: the SCSI host number of the session's initiator; None for FC sessions.
    pub scsi_host: Option<u32>,
    /// Initiator group the session was matched to.
    pub group: String,
    /// LUNs the session sees.
    pub luns: Vec<u8>,
    /// Commands received on the session.
    pub commands: u64,
}

/// A six-hex-digit N_Port ID, lowercased.
fn port_id(s: &str) -> Option<String> {
    (s.len() == 6 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// Decimal digits only (no sign, no spaces), as the kernel prints numbers.
fn decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The handle column: decimal N_Port handle on FC, `host<N>` on the local fabric.
fn handle(fabric: Fabric, s: &str) -> Option<(Option<u16>, Option<u32>)> {
    match fabric {
        Fabric::Qla2x00t => Some((Some(decimal(s)?), None)),
        Fabric::Local => Some((None, Some(decimal(s.strip_prefix("host")?)?))),
    }
}

fn parse_session_line(fabric: Fabric, target: &str, line: &str) -> Option<Session> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [ini, port, h, group, luns, cmds] = f.as_slice() else {
        return None;
    };
    let luns = if *luns == "-" {
        Vec::new()
    } else {
        luns.split(',')
            .map(decimal::<u8>)
            .collect::<Option<Vec<u8>>>()?
    };
    let (n_port_handle, scsi_host) = handle(fabric, h)?;
    Some(Session {
        fabric,
        target: target.to_string(),
        initiator: parse_wwpn(ini).ok()?,
        port_id: port_id(port)?,
        handle: h.to_string(),
        n_port_handle,
        scsi_host,
        group: group.to_string(),
        luns,
        commands: decimal(cmds)?,
    })
}

/// Parses a `sessions` attribute. Lines that do not parse (and a header other than
/// [`SESSIONS_HEADER`]) are returned as `line N: "text"` so a kernel/CLI format mismatch is
/// visible, not silently dropped; the other lines still count.
pub fn parse_sessions(fabric: Fabric, target: &str, text: &str) -> (Vec<Session>, Vec<String>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || (i == 0 && line.trim_end() == SESSIONS_HEADER) {
            continue;
        }
        match parse_session_line(fabric, target, line) {
            Some(s) => out.push(s),
            None => bad.push(format!("line {}: {line:?}", i + 1)),
        }
    }
    (out, bad)
}

/// Sessions of every target; the second list names lines that did not parse.
pub fn read_sessions(fs: &dyn ConfigFs) -> Result<(Vec<Session>, Vec<String>), ReadError> {
    let mut all = Vec::new();
    let mut bad = Vec::new();
    for (fabric, t) in target_dirs(fs)? {
        let path = format!("targets/{}/{t}/sessions", fabric.as_str());
        let text = rd(fs, &path)?;
        let wwpn = parse_wwpn(&t).unwrap_or(t);
        let (s, b) = parse_sessions(fabric, &wwpn, &text);
        all.extend(s);
        bad.extend(b.into_iter().map(|l| format!("{path}: {l}")));
    }
    Ok((all, bad))
}

/// A device as `ferrule devices` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    /// Name.
    pub name: String,
    /// Backend.
    pub backend: Backend,
    /// Path ("" for nullio).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Logical block size.
    pub block_size: u32,
    /// enable = 1.
    pub enabled: bool,
    /// Write-protected.
    pub read_only: bool,
    /// Write-back cache.
    pub write_cache: bool,
    /// Thin provisioned.
    pub thin: bool,
    /// VPD unit serial.
    pub serial: String,
    /// NAA identifier.
    pub naa: String,
    /// LUNs mapping it: "<target wwpn>/<group>/<lun>".
    pub mapped_by: Vec<String>,
}

/// Every device with its state and the LUNs that map it.
pub fn read_devices(fs: &dyn ConfigFs) -> Result<Vec<DeviceRow>, ReadError> {
    let cfg = read_config(fs)?;
    let mut rows = Vec::new();
    for d in &cfg.devices {
        let base = format!("devices/{}", d.name);
        let size = match d.size {
            Some(s) => s,
            None => num(fs, &format!("{base}/size"))?,
        };
        let mapped_by = cfg
            .targets
            .iter()
            .flat_map(|t| {
                t.groups.iter().flat_map(move |g| {
                    g.luns
                        .iter()
                        .filter(|(_, l)| l.device == d.name)
                        .map(move |(n, _)| format!("{}/{}/{n}", t.wwpn, g.name))
                })
            })
            .collect();
        rows.push(DeviceRow {
            name: d.name.clone(),
            backend: d.backend,
            path: d.path.clone().unwrap_or_default(),
            size,
            block_size: d.block_size.unwrap_or(512),
            enabled: d.enabled,
            read_only: d.read_only.unwrap_or(false),
            write_cache: d.write_cache.unwrap_or(false),
            thin: d.thin.unwrap_or(false),
            serial: d.serial.clone().unwrap_or_default(),
            naa: rd(fs, &format!("{base}/naa"))?,
            mapped_by,
        });
    }
    Ok(rows)
}

/// What `ferrule status` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The configfs root exists.
    pub loaded: bool,
    /// The root directory.
    pub root: String,
    /// Module version (`version` attribute).
    pub version: Option<String>,
    /// Devices, total.
    pub devices: usize,
    /// Devices with enable = 1.
    pub devices_enabled: usize,
    /// Targets, total.
    pub targets: usize,
    /// Targets with enable = 1.
    pub targets_enabled: usize,
    /// Initiator groups (including each target's default group).
    pub groups: usize,
    /// LUN mappings.
    pub luns: usize,
    /// Logged-in sessions, every fabric.
    pub sessions: usize,
    /// Of those, FC sessions (`qla2x00t` targets).
    pub sessions_fc: usize,
    /// Of those, local (loopback) sessions.
    pub sessions_local: usize,
    /// `sessions` lines that did not parse (`<path>: line N: "text"`); not counted above.
    pub sessions_unparsed: Vec<String>,
}

/// Reads the summary. A missing root is not an error: `loaded` is false.
pub fn read_status(fs: &dyn ConfigFs, root: &str) -> Result<Status, ReadError> {
    let mut st = Status {
        loaded: fs.root_exists(),
        root: root.into(),
        version: None,
        devices: 0,
        devices_enabled: 0,
        targets: 0,
        targets_enabled: 0,
        groups: 0,
        luns: 0,
        sessions: 0,
        sessions_fc: 0,
        sessions_local: 0,
        sessions_unparsed: Vec::new(),
    };
    if !st.loaded {
        return Ok(st);
    }
    st.version = Some(rd(fs, "version")?);
    if !fs.exists("devices") {
        // An early module with only `version`.
        return Ok(st);
    }
    let cfg = read_config(fs)?;
    st.devices = cfg.devices.len();
    st.devices_enabled = cfg.devices.iter().filter(|d| d.enabled).count();
    st.targets = cfg.targets.len();
    st.targets_enabled = cfg.targets.iter().filter(|t| t.enabled).count();
    st.groups = cfg.targets.iter().map(|t| t.groups.len()).sum();
    st.luns = cfg
        .targets
        .iter()
        .flat_map(|t| &t.groups)
        .map(|g| g.luns.len())
        .sum();
    let (sessions, unparsed) = read_sessions(fs)?;
    st.sessions = sessions.len();
    st.sessions_fc = sessions
        .iter()
        .filter(|s| s.fabric == Fabric::Qla2x00t)
        .count();
    st.sessions_local = sessions
        .iter()
        .filter(|s| s.fabric == Fabric::Local)
        .count();
    st.sessions_unparsed = unparsed;
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_format() {
        let text = "initiator port_id handle group luns commands\n\
                    21:00:00:24:ff:31:4c:5a 0A0B0C 7 esx 0,1,2 1234\n\
                    21000024ff314c5b 010203 8 default - 0\n\
                    garbage line\n";
        let (s, bad) = parse_sessions(Fabric::Qla2x00t, "50:01", text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].initiator, "21:00:00:24:ff:31:4c:5a");
        assert_eq!(s[0].port_id, "0a0b0c");
        assert_eq!(s[0].luns, vec![0, 1, 2]);
        assert_eq!(s[0].commands, 1234);
        assert_eq!(s[1].initiator, "21:00:00:24:ff:31:4c:5b");
        assert!(s[1].luns.is_empty());
        assert_eq!(bad, vec!["line 4: \"garbage line\"".to_string()]);
    }
}
