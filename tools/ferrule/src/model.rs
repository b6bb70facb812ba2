//! The normalised configuration model shared by `check`, `apply`, `save` and the importers.
//!
//! Optional device attributes (`None`) are left alone by `apply`; attributes with a documented
//! default (see [`defaults`]) are enforced, so `save` can omit them and stay round-trippable.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Documented kernel defaults (configfs spec): `apply` enforces them when a field is unset.
pub mod defaults {
    /// Logical block size.
    pub const BLOCK_SIZE: u32 = 512;
    /// T10 vendor identification.
    pub const VENDOR: &str = "FERRULE";
    /// T10 product revision.
    pub const REVISION: &str = "0001";
    /// Relative target port identifier.
    pub const REL_PORT: u16 = 1;
}

/// Storage backend of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Discards writes, reads zeroes; needs a size.
    Nullio,
    /// A regular file.
    Fileio,
    /// A block device.
    Blockio,
}

impl Backend {
    /// The configfs / TOML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Nullio => "nullio",
            Backend::Fileio => "fileio",
            Backend::Blockio => "blockio",
        }
    }
    /// Parses the configfs / TOML spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "nullio" => Some(Backend::Nullio),
            "fileio" => Some(Backend::Fileio),
            "blockio" => Some(Backend::Blockio),
            _ => None,
        }
    }
}

/// Target fabric (directory under `targets/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fabric {
    /// Loopback fabric: a local SCSI host per target.
    Local,
    /// QLogic FC HBA ports.
    Qla2x00t,
}

impl Fabric {
    /// The configfs / TOML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Fabric::Local => "local",
            Fabric::Qla2x00t => "qla2x00t",
        }
    }
    /// Parses the configfs / TOML spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "local" => Some(Fabric::Local),
            "qla2x00t" => Some(Fabric::Qla2x00t),
            _ => None,
        }
    }
    /// Every fabric, in configfs listing order.
    pub const ALL: [Fabric; 2] = [Fabric::Local, Fabric::Qla2x00t];
}

/// A whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Devices, in file order.
    pub devices: Vec<Device>,
    /// Targets, in file order.
    pub targets: Vec<Target>,
    /// Every NPIV port (a virtual FC port on an HBA, `targets/qla2x00t/npiv`). From a file:
    /// one per target with `npiv_parent`; read from configfs: every port the kernel lists,
    /// including any without a target (which a file cannot name, so `apply` deletes them).
    pub npiv: Vec<NpivPort>,
}

/// An NPIV port: a virtual FC port with its own WWPN, made on an HBA's physical port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NpivPort {
    /// The virtual port's WWPN (canonical form).
    pub wwpn: String,
    /// The WWPN of the HBA's physical port it was made on (canonical form).
    pub parent: String,
}

/// One `[[device]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Name (directory under `devices/`).
    pub name: String,
    /// Backend.
    pub backend: Backend,
    /// File or block device path (fileio, blockio).
    pub path: Option<String>,
    /// Size in bytes (nullio: required; fileio: None = the file's size; blockio: None).
    pub size: Option<u64>,
    /// Logical block size; None = 512.
    pub block_size: Option<u32>,
    /// Write-protected; None = false.
    pub read_only: Option<bool>,
    /// Write-back cache; None = leave as the kernel has it.
    pub write_cache: Option<bool>,
    /// Thin provisioning (UNMAP); None = false.
    pub thin: Option<bool>,
    /// VPD unit serial; None = leave (kernel derives one from the name).
    pub serial: Option<String>,
    /// T10 vendor; None = "FERRULE".
    pub vendor: Option<String>,
    /// T10 product; None = the backend name.
    pub product: Option<String>,
    /// T10 revision; None = "0001".
    pub revision: Option<String>,
    /// Open the backend (enable = 1); default true.
    pub enabled: bool,
}

impl Device {
    /// A device with only a name and a backend set.
    pub fn new(name: &str, backend: Backend) -> Self {
        Device {
            name: name.into(),
            backend,
            path: None,
            size: None,
            block_size: None,
            read_only: None,
            write_cache: None,
            thin: None,
            serial: None,
            vendor: None,
            product: None,
            revision: None,
            enabled: true,
        }
    }
}

/// One `[[target]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Fabric.
    pub fabric: Fabric,
    /// Target port WWPN (canonical form).
    pub wwpn: String,
    /// Local fabric only: the initiator WWPN(s) presented, one local SCSI host (I_T nexus)
    /// each: up to 8, separated by spaces or commas.
    pub initiator: Option<String>,
    /// Relative target port identifier; None = 1.
    pub rel_port: Option<u16>,
    /// qla2x00t only: the target's port is an NPIV port made on the HBA port with this WWPN
    /// (canonical form); `apply` creates the port before the target and deletes it after.
    pub npiv_parent: Option<String>,
    /// Enable the target; default true.
    pub enabled: bool,
    /// Initiator groups; "default" (unmatched initiators) may appear, without initiators.
    pub groups: Vec<Group>,
}

impl Target {
    /// configfs directory of the target, relative to the root.
    pub fn dir(&self) -> String {
        format!("targets/{}/{}", self.fabric.as_str(), self.wwpn)
    }
}

/// One `[[target.group]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Group name ("default" = unmatched initiators).
    pub name: String,
    /// Members: WWPNs or patterns, canonical form.
    pub initiators: Vec<String>,
    /// LUN map.
    pub luns: BTreeMap<u8, Lun>,
}

/// One LUN of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lun {
    /// Device name.
    pub device: String,
    /// Write-protected through this LUN.
    pub read_only: bool,
}

/// Name of the group every target has.
pub const DEFAULT_GROUP: &str = "default";

/// Parses a size: bytes ("1048576") or a binary-suffixed number ("10G", "512M", "4KiB", "1T").
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    if num.is_empty() {
        return Err(format!(
            "bad size {s:?}: expected a number, e.g. \"10G\" or 1048576"
        ));
    }
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?}: number too large"))?;
    let shift = match suffix.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        "P" | "PB" | "PIB" => 50,
        other => {
            return Err(format!(
                "bad size {s:?}: unknown unit {other:?} (use K, M, G, T, P: powers of 1024)"
            ))
        }
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("bad size {s:?}: too large"))
}

/// Formats a byte count the way `parse_size` reads it, exact ("10G", "1536M", "1000").
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(50, "P"), (40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes != 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Human-readable approximate size for tables ("10.0G").
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "K", "M", "G", "T", "P"];
    let mut unit = 0;
    let mut whole = bytes;
    let mut rem = 0;
    while whole >= 1024 && unit + 1 < units.len() {
        rem = whole % 1024;
        whole /= 1024;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{whole}.{}{}", rem * 10 / 1024, units[unit])
    }
}

fn quote(s: &str) -> String {
    // A JSON string literal is a valid TOML basic string.
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

impl Config {
    /// Renders the configuration as Ferrule TOML (the `save` / import format).
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for d in &self.devices {
            out.push_str("[[device]]\n");
            let _ = writeln!(out, "name = {}", quote(&d.name));
            let _ = writeln!(out, "backend = {}", quote(d.backend.as_str()));
            if let Some(p) = &d.path {
                let _ = writeln!(out, "path = {}", quote(p));
            }
            if let Some(s) = d.size {
                let _ = writeln!(out, "size = {}", quote(&format_size(s)));
            }
            if let Some(b) = d.block_size {
                let _ = writeln!(out, "block_size = {b}");
            }
            for (key, v) in [
                ("read_only", d.read_only),
                ("write_cache", d.write_cache),
                ("thin", d.thin),
            ] {
                if let Some(v) = v {
                    let _ = writeln!(out, "{key} = {v}");
                }
            }
            for (key, v) in [
                ("serial", &d.serial),
                ("vendor", &d.vendor),
                ("product", &d.product),
                ("revision", &d.revision),
            ] {
                if let Some(v) = v {
                    let _ = writeln!(out, "{key} = {}", quote(v));
                }
            }
            if !d.enabled {
                out.push_str("enabled = false\n");
            }
            out.push('\n');
        }
        for t in &self.targets {
            out.push_str("[[target]]\n");
            let _ = writeln!(out, "fabric = {}", quote(t.fabric.as_str()));
            let _ = writeln!(out, "wwpn = {}", quote(&t.wwpn));
            if let Some(i) = &t.initiator {
                let _ = writeln!(out, "initiator = {}", quote(i));
            }
            if let Some(p) = &t.npiv_parent {
                let _ = writeln!(out, "npiv_parent = {}", quote(p));
            }
            if let Some(r) = t.rel_port {
                let _ = writeln!(out, "rel_port = {r}");
            }
            if !t.enabled {
                out.push_str("enabled = false\n");
            }
            for g in &t.groups {
                out.push_str("\n[[target.group]]\n");
                let _ = writeln!(out, "name = {}", quote(&g.name));
                if !g.initiators.is_empty() {
                    let list: Vec<String> = g.initiators.iter().map(|i| quote(i)).collect();
                    let _ = writeln!(out, "initiators = [{}]", list.join(", "));
                }
                if !g.luns.is_empty() {
                    out.push_str("luns = { ");
                    let items: Vec<String> = g
                        .luns
                        .iter()
                        .map(|(n, l)| {
                            if l.read_only {
                                format!(
                                    "{n} = {{ device = {}, read_only = true }}",
                                    quote(&l.device)
                                )
                            } else {
                                format!("{n} = {}", quote(&l.device))
                            }
                        })
                        .collect();
                    out.push_str(&items.join(", "));
                    out.push_str(" }\n");
                }
            }
            out.push('\n');
        }
        if out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    /// The canonical form used to compare configurations: attributes equal to their documented
    /// default become unset, groups without content other than "default" are kept, and lists are
    /// sorted (order in the file carries no meaning for the kernel).
    pub fn normalised(&self) -> Config {
        let mut c = self.clone();
        for d in &mut c.devices {
            if d.block_size == Some(defaults::BLOCK_SIZE) {
                d.block_size = None;
            }
            if d.read_only == Some(false) {
                d.read_only = None;
            }
            if d.thin == Some(false) {
                d.thin = None;
            }
            if d.vendor.as_deref() == Some(defaults::VENDOR) {
                d.vendor = None;
            }
            if d.product.as_deref() == Some(d.backend.as_str()) {
                d.product = None;
            }
            if d.revision.as_deref() == Some(defaults::REVISION) {
                d.revision = None;
            }
            if d.backend == Backend::Nullio {
                d.path = None;
            }
            if d.backend == Backend::Fileio && d.size == Some(0) {
                d.size = None;
            }
            if d.path.as_deref() == Some("") {
                d.path = None;
            }
        }
        c.devices.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut c.targets {
            if t.rel_port == Some(defaults::REL_PORT) {
                t.rel_port = None;
            }
            t.groups.retain(|g| {
                g.name != DEFAULT_GROUP || !g.luns.is_empty() || !g.initiators.is_empty()
            });
            for g in &mut t.groups {
                g.initiators.sort();
            }
            t.groups.sort_by(|a, b| a.name.cmp(&b.name));
        }
        c.targets
            .sort_by(|a, b| (a.fabric, &a.wwpn).cmp(&(b.fabric, &b.wwpn)));
        // Both spellings of a port (list entry, target key) become the list of every port.
        c.npiv = self.npiv_list();
        c
    }

    /// Every NPIV port: the `npiv` list and the targets' `npiv_parent` keys, by WWPN (a
    /// target's key wins over a list entry for the same WWPN).
    pub fn npiv_ports(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .npiv
            .iter()
            .map(|p| (p.wwpn.clone(), p.parent.clone()))
            .collect();
        for t in &self.targets {
            if let (Fabric::Qla2x00t, Some(p)) = (t.fabric, &t.npiv_parent) {
                out.insert(t.wwpn.clone(), p.clone());
            }
        }
        out
    }

    /// [`Config::npiv_ports`] as the `npiv` list (by WWPN).
    pub fn npiv_list(&self) -> Vec<NpivPort> {
        self.npiv_ports()
            .into_iter()
            .map(|(wwpn, parent)| NpivPort { wwpn, parent })
            .collect()
    }

    /// Finds a device by name.
    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (s, n) in [
            ("10G", 10u64 << 30),
            ("512M", 512 << 20),
            ("4KiB", 4096),
            ("1t", 1 << 40),
            ("1048576", 1048576),
            ("0", 0),
        ] {
            assert_eq!(parse_size(s), Ok(n), "{s}");
        }
        assert!(parse_size("10X")
            .unwrap_err()
            .contains("unknown unit \"X\""));
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999P")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(format_size(10 << 30), "10G");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(format_size(0), "0");
        assert_eq!(human_size(1536 << 20), "1.5G");
        assert_eq!(human_size(100), "100B");
    }
}
