//! Ferrule TOML → [`Config`], collecting every error with its line and column.

use crate::model::{
    defaults, parse_size, Backend, Config, Device, Fabric, Group, Lun, Target, DEFAULT_GROUP,
};
use crate::wwpn::{parse_initiator, parse_wwpn, parse_wwpn_list, valid_name};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One problem in a config file, located at 1-based `line`:`column` (column in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Parses and validates a config file. On failure returns every diagnostic, in file order.
pub fn parse_config(text: &str) -> Result<Config, Vec<Diagnostic>> {
    let mut cx = Cx {
        text,
        errors: Vec::new(),
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    // After a syntax error the recovered document is partial: checking it would only add
    // noise ("needs `backend`" for a key the broken line hid), so report syntax alone.
    let syntax_failed = !syntax.is_empty();
    for e in syntax {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        cx.err(at, e.message().trim().to_string());
    }
    let config = if syntax_failed {
        Config::default()
    } else {
        cx.document(doc.get_ref())
    };
    let mut errors = cx.errors;
    if errors.is_empty() {
        return Ok(config);
    }
    errors.sort_by_key(|(at, _)| *at);
    errors.dedup();
    Err(errors
        .into_iter()
        .map(|(at, message)| {
            let (line, column) = line_col(text, at);
            Diagnostic {
                line,
                column,
                message,
            }
        })
        .collect())
}

/// 1-based line and column (in characters) of byte offset `at`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before
        .get(line_start..)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

type Table<'i> = DeTable<'i>;
type Val<'i> = Spanned<DeValue<'i>>;

struct Cx<'t> {
    text: &'t str,
    errors: Vec<(usize, String)>,
}

/// A value with the offset it came from, for cross-checks after the walk.
struct At<T> {
    value: T,
    at: usize,
}

struct DeviceAt {
    device: Device,
    name_at: usize,
}

struct GroupAt {
    group: Group,
    name_at: usize,
    initiators_at: Vec<usize>,
    luns_at: BTreeMap<u8, usize>,
}

struct TargetAt {
    target: Target,
    wwpn_at: usize,
    npiv_parent_at: usize,
    groups: Vec<GroupAt>,
}

impl<'t> Cx<'t> {
    fn err(&mut self, at: usize, msg: impl Into<String>) {
        self.errors.push((at, msg.into()));
    }

    fn unknown_keys(&mut self, t: &Table<'_>, allowed: &[&str], what: &str) {
        for (k, _) in t.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                let hint = closest(k.get_ref(), allowed)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| format!(" (allowed: {})", allowed.join(", ")));
                self.err(
                    k.span().start,
                    format!("unknown key `{}` in {what}{hint}", k.get_ref()),
                );
            }
        }
    }

    fn string(&mut self, t: &Table<'_>, key: &str) -> Option<At<String>> {
        let v = t.get(key)?;
        match v.get_ref().as_str() {
            Some(s) => Some(At {
                value: s.to_string(),
                at: v.span().start,
            }),
            None => {
                self.err(
                    v.span().start,
                    format!("`{key}` must be a string, found {}", v.get_ref().type_str()),
                );
                None
            }
        }
    }

    fn bool(&mut self, t: &Table<'_>, key: &str) -> Option<bool> {
        let v = t.get(key)?;
        match v.get_ref().as_bool() {
            Some(b) => Some(b),
            None => {
                self.err(
                    v.span().start,
                    format!(
                        "`{key}` must be true or false, found {}",
                        v.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    fn int(&mut self, t: &Table<'_>, key: &str) -> Option<At<i128>> {
        let v = t.get(key)?;
        let at = v.span().start;
        match v.get_ref().as_integer() {
            Some(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(At { value: n, at }),
                Err(_) => {
                    self.err(at, format!("`{key}`: integer out of range"));
                    None
                }
            },
            None => {
                self.err(
                    at,
                    format!(
                        "`{key}` must be an integer, found {}",
                        v.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }

    fn required<T>(&mut self, v: Option<T>, at: usize, key: &str, what: &str) -> Option<T> {
        if v.is_none() {
            self.err(at, format!("{what} needs `{key}`"));
        }
        v
    }

    fn tables<'a, 'i>(&mut self, v: &'a Val<'i>, key: &str) -> Vec<(&'a Table<'i>, usize)> {
        match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter_map(|item| match item.get_ref().as_table() {
                    Some(t) => Some((t, item.span().start)),
                    None => {
                        self.err(
                            item.span().start,
                            format!("`{key}` entries must be tables (write [[{key}]])"),
                        );
                        None
                    }
                })
                .collect(),
            DeValue::Table(t) => {
                self.err(
                    v.span().start,
                    format!("`{key}` must be an array of tables: write [[{key}]], not [{key}]"),
                );
                vec![(t, v.span().start)]
            }
            other => {
                self.err(
                    v.span().start,
                    format!(
                        "`{key}` must be an array of tables, found {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    fn document(&mut self, doc: &Table<'_>) -> Config {
        self.unknown_keys(doc, &["device", "target"], "the top level");
        let mut devices = Vec::new();
        if let Some(v) = doc.get("device") {
            for (t, at) in self.tables(v, "device") {
                if let Some(d) = self.device(t, at) {
                    devices.push(d);
                }
            }
        }
        let mut targets = Vec::new();
        if let Some(v) = doc.get("target") {
            for (t, at) in self.tables(v, "target") {
                if let Some(tg) = self.target(t, at) {
                    targets.push(tg);
                }
            }
        }
        self.cross_check(&devices, &targets);
        let mut config = Config {
            devices: devices.into_iter().map(|d| d.device).collect(),
            targets: targets
                .into_iter()
                .map(|mut t| {
                    t.target.groups = t.groups.into_iter().map(|g| g.group).collect();
                    t.target
                })
                .collect(),
            npiv: Vec::new(),
        };
        config.npiv = config.npiv_list();
        config
    }

    fn t10(&mut self, t: &Table<'_>, key: &str, max: usize) -> Option<String> {
        let s = self.string(t, key)?;
        if s.value.len() > max {
            self.err(
                s.at,
                format!("`{key}` is {} characters, at most {max}", s.value.len()),
            );
        } else if let Some(c) = s.value.chars().find(|c| !(' '..='~').contains(c)) {
            self.err(s.at, format!("`{key}`: {c:?} is not printable ASCII"));
        }
        Some(s.value)
    }

    fn device(&mut self, t: &Table<'_>, table_at: usize) -> Option<DeviceAt> {
        self.unknown_keys(
            t,
            &[
                "name",
                "backend",
                "path",
                "size",
                "block_size",
                "read_only",
                "write_cache",
                "thin",
                "serial",
                "vendor",
                "product",
                "revision",
                "enabled",
            ],
            "[[device]]",
        );
        let name = self.string(t, "name");
        let name = self.required(name, table_at, "name", "[[device]]");
        if let Some(n) = &name {
            if let Err(e) = valid_name(&n.value) {
                self.err(n.at, format!("device {e}"));
            }
        }
        let backend = self.string(t, "backend");
        let backend = self.required(backend, table_at, "backend", "[[device]]");
        let backend = backend.and_then(|b| match Backend::parse(&b.value) {
            Some(x) => Some(x),
            None => {
                self.err(
                    b.at,
                    format!(
                        "unknown backend {:?} (expected nullio, fileio or blockio)",
                        b.value
                    ),
                );
                None
            }
        });
        let path = self.string(t, "path");
        let size = match t.get("size") {
            None => None,
            Some(v) => {
                let at = v.span().start;
                let parsed = match v.get_ref() {
                    DeValue::String(s) => parse_size(s),
                    DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix())
                        .map_err(|_| "size must be a non-negative number of bytes".to_string()),
                    other => Err(format!(
                        "`size` must be a string like \"10G\" or a number of bytes, found {}",
                        other.type_str()
                    )),
                };
                match parsed {
                    Ok(n) => Some(At { value: n, at }),
                    Err(e) => {
                        self.err(at, e);
                        None
                    }
                }
            }
        };
        let block_size = self.int(t, "block_size").and_then(|b| {
            if b.value == 512 || b.value == 4096 {
                Some(b.value as u32)
            } else {
                self.err(b.at, format!("block_size {} is not 512 or 4096", b.value));
                None
            }
        });
        let read_only = self.bool(t, "read_only");
        let write_cache = self.bool(t, "write_cache");
        let thin = self.bool(t, "thin");
        let serial = self.t10(t, "serial", 64);
        if serial.as_deref() == Some("") {
            let at = t.get("serial").map(|v| v.span().start).unwrap_or(table_at);
            self.err(
                at,
                "`serial` is empty; remove it to keep the kernel's default",
            );
        }
        let vendor = self.t10(t, "vendor", 8);
        let product = self.t10(t, "product", 16);
        let revision = self.t10(t, "revision", 4);
        let enabled = self.bool(t, "enabled").unwrap_or(true);

        let (name, backend) = (name?, backend?);
        let here = name.at;
        match backend {
            Backend::Nullio => {
                if size.as_ref().is_none_or(|s| s.value == 0) {
                    self.err(
                        size.as_ref().map_or(here, |s| s.at),
                        format!("device {:?}: nullio needs a non-zero `size`", name.value),
                    );
                }
                if let Some(p) = &path {
                    self.err(p.at, "nullio has no `path`; remove it");
                }
            }
            Backend::Fileio | Backend::Blockio => {
                if path.is_none() {
                    self.err(
                        here,
                        format!("device {:?}: {} needs `path`", name.value, backend.as_str()),
                    );
                }
                if let Some(p) = &path {
                    if !p.value.starts_with('/') {
                        self.err(p.at, format!("`path` {:?} must be absolute", p.value));
                    }
                }
            }
        }
        if backend == Backend::Blockio {
            if let Some(s) = &size {
                self.err(
                    s.at,
                    "blockio takes its size from the block device; remove `size`",
                );
            }
        }
        let bs = block_size.unwrap_or(defaults::BLOCK_SIZE);
        if let Some(s) = &size {
            if s.value % u64::from(bs) != 0 {
                self.err(
                    s.at,
                    format!(
                        "size {} is not a multiple of block_size {bs} ({} bytes too many)",
                        s.value,
                        s.value % u64::from(bs)
                    ),
                );
            }
        }
        let size = size
            .map(|s| s.value)
            .filter(|&s| !(s == 0 && backend == Backend::Fileio));
        Some(DeviceAt {
            device: Device {
                name: name.value,
                backend,
                path: path.map(|p| p.value),
                size: if backend == Backend::Blockio {
                    None
                } else {
                    size
                },
                block_size,
                read_only,
                write_cache,
                thin,
                serial,
                vendor,
                product,
                revision,
                enabled,
            },
            name_at: name.at,
        })
    }

    fn target(&mut self, t: &Table<'_>, table_at: usize) -> Option<TargetAt> {
        self.unknown_keys(
            t,
            &[
                "fabric",
                "wwpn",
                "initiator",
                "npiv_parent",
                "rel_port",
                "enabled",
                "group",
            ],
            "[[target]]",
        );
        let fabric = self.string(t, "fabric");
        let fabric = self.required(fabric, table_at, "fabric", "[[target]]");
        let fabric = fabric.and_then(|f| match Fabric::parse(&f.value) {
            Some(x) => Some(x),
            None => {
                self.err(
                    f.at,
                    format!("unknown fabric {:?} (expected local or qla2x00t)", f.value),
                );
                None
            }
        });
        let wwpn = self.string(t, "wwpn");
        let wwpn = self.required(wwpn, table_at, "wwpn", "[[target]]");
        let wwpn = wwpn.and_then(|w| match parse_wwpn(&w.value) {
            Ok(c) => Some(At { value: c, at: w.at }),
            Err(e) => {
                self.err(w.at, format!("target {e}"));
                None
            }
        });
        let initiator = self
            .string(t, "initiator")
            .and_then(|w| match parse_wwpn_list(&w.value) {
                Ok(c) => Some(At { value: c, at: w.at }),
                Err(e) => {
                    self.err(w.at, format!("initiator: {e}"));
                    None
                }
            });
        let npiv_parent = self
            .string(t, "npiv_parent")
            .and_then(|w| match parse_wwpn(&w.value) {
                Ok(c) => Some(At { value: c, at: w.at }),
                Err(e) => {
                    self.err(w.at, format!("npiv_parent: {e}"));
                    None
                }
            });
        let rel_port = self.int(t, "rel_port").and_then(|r| {
            if (1..=65535).contains(&r.value) {
                Some(r.value as u16)
            } else {
                self.err(r.at, format!("rel_port {} is not in 1..65535", r.value));
                None
            }
        });
        let enabled = self.bool(t, "enabled").unwrap_or(true);
        let mut groups = Vec::new();
        if let Some(v) = t.get("group") {
            for (g, at) in self.tables(v, "target.group") {
                if let Some(g) = self.group(g, at) {
                    groups.push(g);
                }
            }
        }
        let (fabric, wwpn) = (fabric?, wwpn?);
        match (fabric, &initiator) {
            (Fabric::Local, None) => self.err(
                wwpn.at,
                "a local target needs `initiator` (the WWPN its local SCSI host presents)",
            ),
            (Fabric::Qla2x00t, Some(i)) => self.err(
                i.at,
                "`initiator` is for local targets only; FC initiators log in by themselves",
            ),
            _ => {}
        }
        if let Some(p) = &npiv_parent {
            if fabric != Fabric::Qla2x00t {
                self.err(
                    p.at,
                    format!(
                        "`npiv_parent` is for qla2x00t targets only (an NPIV port is a virtual FC port); a {} target has none",
                        fabric.as_str()
                    ),
                );
            } else if p.value == wwpn.value {
                self.err(
                    p.at,
                    format!(
                        "npiv_parent {} is the target's own WWPN: name the HBA port the NPIV port is made on",
                        p.value
                    ),
                );
            }
        }
        let npiv_parent_at = npiv_parent.as_ref().map_or(wwpn.at, |p| p.at);
        Some(TargetAt {
            target: Target {
                fabric,
                wwpn: wwpn.value,
                initiator: initiator.map(|i| i.value),
                npiv_parent: npiv_parent.map(|p| p.value),
                rel_port,
                enabled,
                groups: Vec::new(),
            },
            wwpn_at: wwpn.at,
            npiv_parent_at,
            groups,
        })
    }

    fn group(&mut self, t: &Table<'_>, table_at: usize) -> Option<GroupAt> {
        self.unknown_keys(t, &["name", "initiators", "luns"], "[[target.group]]");
        let name = self.string(t, "name");
        let name = self.required(name, table_at, "name", "[[target.group]]")?;
        if let Err(e) = valid_name(&name.value) {
            self.err(name.at, format!("group {e}"));
        }
        let mut initiators = Vec::new();
        let mut initiators_at = Vec::new();
        if let Some(v) = t.get("initiators") {
            match v.get_ref().as_array() {
                Some(items) => {
                    for item in items.iter() {
                        let at = item.span().start;
                        match item.get_ref().as_str() {
                            Some(s) => {
                                match parse_initiator(s) {
                                    Ok(c) => {
                                        if let Some(i) = initiators.iter().position(|x| *x == c) {
                                            let (l, _) = line_col(self.text, initiators_at[i]);
                                            self.err(at, format!("initiator {c} is listed twice (first on line {l})"));
                                        } else {
                                            initiators.push(c);
                                            initiators_at.push(at);
                                        }
                                    }
                                    Err(e) => self.err(at, e),
                                }
                            }
                            None => self.err(at, "`initiators` entries must be strings"),
                        }
                    }
                }
                None => self.err(v.span().start, "`initiators` must be an array of strings"),
            }
        }
        if name.value == DEFAULT_GROUP && !initiators.is_empty() {
            self.err(
                initiators_at[0],
                "the \"default\" group holds the initiators no other group matches; it cannot list initiators",
            );
        }
        let mut luns = BTreeMap::new();
        let mut luns_at = BTreeMap::new();
        if let Some(v) = t.get("luns") {
            match v.get_ref().as_table() {
                Some(lt) => {
                    for (k, lv) in lt.iter() {
                        let kat = k.span().start;
                        let n = match k.get_ref().parse::<u32>() {
                            Ok(n) if n <= 255 => n as u8,
                            Ok(n) => {
                                self.err(kat, format!("LUN {n} is out of range (0..255)"));
                                continue;
                            }
                            Err(_) => {
                                self.err(
                                    kat,
                                    format!("LUN key {:?} must be a number 0..255", k.get_ref()),
                                );
                                continue;
                            }
                        };
                        let at = lv.span().start;
                        let lun = match lv.get_ref() {
                            DeValue::String(s) => Some(Lun {
                                device: s.to_string(),
                                read_only: false,
                            }),
                            DeValue::Table(inner) => {
                                self.unknown_keys(inner, &["device", "read_only"], "a LUN");
                                let dev = self.string(inner, "device");
                                let ro = self.bool(inner, "read_only").unwrap_or(false);
                                match dev {
                                    Some(d) => Some(Lun {
                                        device: d.value,
                                        read_only: ro,
                                    }),
                                    None => {
                                        self.err(at, format!("LUN {n} needs `device`"));
                                        None
                                    }
                                }
                            }
                            other => {
                                self.err(at, format!(
                                    "LUN {n} must be a device name or {{ device = \"...\", read_only = true }}, found {}",
                                    other.type_str()
                                ));
                                None
                            }
                        };
                        if let Some(l) = lun {
                            if luns.contains_key(&n) {
                                self.err(kat, format!("LUN {n} is mapped twice"));
                            }
                            luns.insert(n, l);
                            luns_at.insert(n, at);
                        }
                    }
                }
                None => self.err(
                    v.span().start,
                    "`luns` must be a table: luns = { 0 = \"disk1\", 1 = { device = \"disk2\", read_only = true } }",
                ),
            }
        }
        Some(GroupAt {
            group: Group {
                name: name.value,
                initiators,
                luns,
            },
            name_at: name.at,
            initiators_at,
            luns_at,
        })
    }

    fn cross_check(&mut self, devices: &[DeviceAt], targets: &[TargetAt]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for d in devices {
            if let Some(first) = seen.insert(&d.device.name, d.name_at) {
                let (l, _) = line_col(self.text, first);
                self.err(
                    d.name_at,
                    format!(
                        "duplicate device name {:?} (first defined on line {l})",
                        d.device.name
                    ),
                );
                seen.insert(&d.device.name, first);
            }
        }
        let mut seen_t: HashMap<(Fabric, &str), usize> = HashMap::new();
        for t in targets {
            let key = (t.target.fabric, t.target.wwpn.as_str());
            if let Some(first) = seen_t.get(&key) {
                let (l, _) = line_col(self.text, *first);
                self.err(
                    t.wwpn_at,
                    format!(
                        "duplicate target {} {} (first defined on line {l})",
                        t.target.fabric.as_str(),
                        t.target.wwpn
                    ),
                );
            } else {
                seen_t.insert(key, t.wwpn_at);
            }
            if let (Fabric::Qla2x00t, Some(parent)) = (t.target.fabric, &t.target.npiv_parent) {
                let vport_parent = targets.iter().find(|o| {
                    o.target.fabric == Fabric::Qla2x00t
                        && o.target.wwpn == *parent
                        && o.target.wwpn != t.target.wwpn
                        && o.target.npiv_parent.is_some()
                });
                if let Some(o) = vport_parent {
                    let (l, _) = line_col(self.text, o.wwpn_at);
                    self.err(
                        t.npiv_parent_at,
                        format!(
                            "npiv_parent {parent} is itself an NPIV port (target on line {l}): name the HBA's physical port"
                        ),
                    );
                }
            }
            let mut group_names: HashMap<&str, usize> = HashMap::new();
            let mut members: HashMap<&str, (&str, usize)> = HashMap::new();
            for g in &t.groups {
                if let Some(first) = group_names.get(g.group.name.as_str()) {
                    let (l, _) = line_col(self.text, *first);
                    self.err(
                        g.name_at,
                        format!(
                            "duplicate group {:?} in target {} (first defined on line {l})",
                            g.group.name, t.target.wwpn
                        ),
                    );
                } else {
                    group_names.insert(&g.group.name, g.name_at);
                }
                for (i, at) in g.group.initiators.iter().zip(&g.initiators_at) {
                    match members.get(i.as_str()) {
                        Some((other, first)) if *other != g.group.name => {
                            let (l, _) = line_col(self.text, *first);
                            self.err(
                                *at,
                                format!(
                                    "initiator {i} is in two groups of target {}: {:?} (line {l}) and {:?}",
                                    t.target.wwpn, other, g.group.name
                                ),
                            );
                        }
                        _ => {
                            members.insert(i, (&g.group.name, *at));
                        }
                    }
                }
                for (n, lun) in &g.group.luns {
                    let at = g.luns_at.get(n).copied().unwrap_or(g.name_at);
                    match devices.iter().find(|d| d.device.name == lun.device) {
                        None => {
                            let known: Vec<&str> =
                                devices.iter().map(|d| d.device.name.as_str()).collect();
                            let hint = closest(&lun.device, &known)
                                .map(|s| format!("; did you mean {s:?}?"))
                                .unwrap_or_default();
                            self.err(
                                at,
                                format!("LUN {n} maps unknown device {:?}{hint}", lun.device),
                            );
                        }
                        Some(d) if !d.device.enabled && t.target.enabled => self.err(
                            at,
                            format!(
                                "LUN {n} maps device {:?}, which has enabled = false, into an enabled target",
                                lun.device
                            ),
                        ),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The candidate within edit distance 2 of `word`, for "did you mean" hints.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
