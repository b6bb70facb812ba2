//! Declarative apply: the ordered list of configfs operations that turns the running
//! configuration into the desired one, and its execution.
//!
//! Order: (A) removals in reverse dependency order — disable targets that go away, LUNs,
//! members, groups, targets, devices; (B) targets that must stop (attributes only writable
//! while disabled, or mapping a device that must be reopened), devices (create, set, enable),
//! targets, groups, members, LUNs, and finally enable targets. LUN and membership changes
//! on an enabled target are applied live (the kernel re-resolves its sessions).
//!
//! NPIV ports (`targets/qla2x00t/npiv`): a port is added before its target's mkdir and
//! deleted after its target's rmdir; a port whose parent changes is deleted, then added.

use crate::fs::{ConfigFs, FsError};
use crate::model::{defaults, Backend, Config, Device, Fabric, Group, Target, DEFAULT_GROUP};
use crate::read::NPIV_PATH;
use crate::wwpn::parse_initiator;
use std::collections::BTreeSet;
use std::fmt;

/// One configfs operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Create a directory.
    Mkdir,
    /// Remove a directory.
    Rmdir,
    /// Write an attribute; `old` is the current value when the attribute already exists.
    Write {
        /// The value to write.
        value: String,
        /// The value it replaces, if known.
        old: Option<String>,
    },
}

/// An operation on a path (relative to the configfs root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What to do.
    pub op: Op,
    /// Where.
    pub path: String,
}

/// What a step does to the configuration, for the plan's `+`/`~`/`-` marks and summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Create,
    Set,
    Remove,
}

impl Step {
    /// The NPIV port a write to `npiv` adds (`add <parent> <wwpn>`): its WWPN.
    pub fn npiv_added(&self) -> Option<&str> {
        match &self.op {
            Op::Write { value, .. } if self.path == NPIV_PATH => {
                let mut w = value.strip_prefix("add ")?.split(' ');
                w.nth(1)
            }
            _ => None,
        }
    }

    fn kind(&self) -> Kind {
        match &self.op {
            Op::Mkdir => Kind::Create,
            Op::Rmdir => Kind::Remove,
            Op::Write { value, .. } if self.path == NPIV_PATH => {
                if value.starts_with("del ") {
                    Kind::Remove
                } else {
                    Kind::Create
                }
            }
            Op::Write { .. } => Kind::Set,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Write { value, .. } if self.kind() == Kind::Remove => {
                write!(f, "- {} = {value:?}", self.path)
            }
            Op::Mkdir => write!(f, "+ mkdir {}", self.path),
            Op::Rmdir => write!(f, "- rmdir {}", self.path),
            Op::Write { value, old: None } => write!(f, "+ {} = {value:?}", self.path),
            Op::Write {
                value,
                old: Some(old),
            } => write!(f, "~ {} = {value:?} (was {old:?})", self.path),
        }
    }
}

/// An ordered plan. Empty when the running configuration already matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Steps, in execution order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// True if there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// "3 to create, 5 to set, 1 to remove" (an NPIV port added counts as created, one
    /// deleted as removed).
    pub fn summary(&self) -> String {
        let count = |k: Kind| self.steps.iter().filter(|s| s.kind() == k).count();
        format!(
            "{} to create, {} to set, {} to remove",
            count(Kind::Create),
            count(Kind::Set),
            count(Kind::Remove),
        )
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

fn b(v: bool) -> String {
    if v { "1" } else { "0" }.to_string()
}

/// The attributes `apply` manages, with their desired values, in write order
/// (block_size before size; the size/block_size order is fixed up in `device_writes`).
fn desired_attrs(d: &Device) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("backend", Some(d.backend.as_str().to_string())),
        (
            "path",
            if d.backend == Backend::Nullio {
                None
            } else {
                d.path.clone()
            },
        ),
        (
            "block_size",
            Some(d.block_size.unwrap_or(defaults::BLOCK_SIZE).to_string()),
        ),
        (
            "size",
            if d.backend == Backend::Blockio {
                None
            } else {
                d.size.filter(|&s| s != 0).map(|s| s.to_string())
            },
        ),
        ("read_only", Some(b(d.read_only.unwrap_or(false)))),
        ("write_cache", d.write_cache.map(b)),
        ("thin", Some(b(d.thin.unwrap_or(false)))),
        ("serial", d.serial.clone()),
        (
            "vendor",
            Some(d.vendor.clone().unwrap_or_else(|| defaults::VENDOR.into())),
        ),
        (
            "product",
            Some(
                d.product
                    .clone()
                    .unwrap_or_else(|| d.backend.as_str().into()),
            ),
        ),
        (
            "revision",
            Some(
                d.revision
                    .clone()
                    .unwrap_or_else(|| defaults::REVISION.into()),
            ),
        ),
    ]
}

/// Current values as strings, in the same shape as `desired_attrs`.
fn current_attr(c: &Device, attr: &str) -> Option<String> {
    match attr {
        "backend" => Some(c.backend.as_str().into()),
        "path" => Some(c.path.clone().unwrap_or_default()),
        "block_size" => c.block_size.map(|v| v.to_string()),
        "size" => c.size.map(|v| v.to_string()),
        "read_only" => c.read_only.map(b),
        "write_cache" => c.write_cache.map(b),
        "thin" => c.thin.map(b),
        "serial" => c.serial.clone(),
        "vendor" => c.vendor.clone(),
        "product" => c.product.clone(),
        "revision" => c.revision.clone(),
        _ => None,
    }
}

/// Value a freshly created device has, per the spec (None = not known, always write).
fn fresh_default(d: &Device, attr: &str) -> Option<String> {
    match attr {
        "block_size" => Some(defaults::BLOCK_SIZE.to_string()),
        "read_only" | "thin" => Some("0".into()),
        "vendor" => Some(defaults::VENDOR.into()),
        "revision" => Some(defaults::REVISION.into()),
        "product" => Some(d.backend.as_str().into()),
        _ => None,
    }
}

const RESTART_ATTRS: [&str; 3] = ["backend", "path", "block_size"];

fn write(path: String, value: String, old: Option<String>) -> Step {
    Step {
        op: Op::Write { value, old },
        path,
    }
}

fn npiv_write(value: String) -> Step {
    write(NPIV_PATH.into(), value, None)
}

/// The NPIV ports `desired` names, targets' keys in file order first.
fn desired_npiv(desired: &Config) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = desired
        .targets
        .iter()
        .filter(|t| t.fabric == Fabric::Qla2x00t)
        .filter_map(|t| Some((t.wwpn.clone(), t.npiv_parent.clone()?)))
        .collect();
    for p in &desired.npiv {
        if !out.iter().any(|(w, _)| *w == p.wwpn) {
            out.push((p.wwpn.clone(), p.parent.clone()));
        }
    }
    out
}

fn mkdir(path: String) -> Step {
    Step {
        op: Op::Mkdir,
        path,
    }
}

fn rmdir(path: String) -> Step {
    Step {
        op: Op::Rmdir,
        path,
    }
}

/// Canonical member name (the kernel may list what an admin typed by hand).
fn member_key(raw: &str) -> String {
    parse_initiator(raw).unwrap_or_else(|_| raw.to_string())
}

fn find_target<'a>(list: &'a [Target], fabric: Fabric, wwpn: &str) -> Option<&'a Target> {
    list.iter().find(|t| t.fabric == fabric && t.wwpn == wwpn)
}

fn find_group<'a>(t: Option<&'a Target>, name: &str) -> Option<&'a Group> {
    t.and_then(|t| t.groups.iter().find(|g| g.name == name))
}

/// Writes that bring device `c` (current; None = just created) to `d`.
fn device_writes(d: &Device, c: Option<&Device>) -> Vec<(&'static str, String, Option<String>)> {
    let dir_writes: Vec<_> = desired_attrs(d)
        .into_iter()
        .filter_map(|(attr, want)| {
            let want = want?;
            let old = match c {
                Some(c) => current_attr(c, attr),
                None => fresh_default(d, attr),
            };
            if old.as_deref() == Some(want.as_str()) {
                return None;
            }
            Some((attr, want, c.and_then(|c| current_attr(c, attr))))
        })
        .collect();
    let mut out = dir_writes;
    // Growing the block size: a size that suits the new one also suits the old (smaller) one,
    // so write size first. Shrinking: the current size suits the new block size, write it first.
    let bs_at = out.iter().position(|(a, _, _)| *a == "block_size");
    let size_at = out.iter().position(|(a, _, _)| *a == "size");
    if let (Some(bi), Some(si)) = (bs_at, size_at) {
        let old_bs: u64 = c.and_then(|c| c.block_size).map_or(512, u64::from);
        let new_size: u64 = out[si].1.parse().unwrap_or(0);
        if new_size % old_bs == 0 && si > bi {
            let size = out.remove(si);
            out.insert(bi, size);
        }
    }
    out
}

/// Computes the plan from the running configuration (`current`, as read by
/// [`crate::read::read_config`]) to `desired` (a validated config file).
pub fn plan(current: &Config, desired: &Config) -> Plan {
    let mut steps = Vec::new();

    // Which LUNs survive phase A unchanged: same target, group, number and device.
    let lun_kept = |t: &Target, g: &Group, n: u8| -> bool {
        let dg = find_group(find_target(&desired.targets, t.fabric, &t.wwpn), &g.name);
        match (dg.and_then(|dg| dg.luns.get(&n)), g.luns.get(&n)) {
            (Some(want), Some(have)) => want.device == have.device,
            _ => false,
        }
    };

    // --- Phase A: removals.
    for t in &current.targets {
        if find_target(&desired.targets, t.fabric, &t.wwpn).is_none() && t.enabled {
            steps.push(write(
                format!("{}/enable", t.dir()),
                "0".into(),
                Some("1".into()),
            ));
        }
    }
    for t in &current.targets {
        for g in &t.groups {
            for n in g.luns.keys() {
                if !lun_kept(t, g, *n) {
                    steps.push(rmdir(format!("{}/groups/{}/luns/{n}", t.dir(), g.name)));
                }
            }
        }
    }
    for t in &current.targets {
        let dt = find_target(&desired.targets, t.fabric, &t.wwpn);
        for g in &t.groups {
            let keep: BTreeSet<String> = find_group(dt, &g.name)
                .map(|dg| dg.initiators.iter().cloned().collect())
                .unwrap_or_default();
            for m in &g.initiators {
                if !keep.contains(&member_key(m)) {
                    steps.push(rmdir(format!(
                        "{}/groups/{}/initiators/{m}",
                        t.dir(),
                        g.name
                    )));
                }
            }
        }
    }
    for t in &current.targets {
        let dt = find_target(&desired.targets, t.fabric, &t.wwpn);
        for g in &t.groups {
            if g.name != DEFAULT_GROUP && find_group(dt, &g.name).is_none() {
                steps.push(rmdir(format!("{}/groups/{}", t.dir(), g.name)));
            }
        }
        if dt.is_none() {
            steps.push(rmdir(t.dir()));
        }
    }
    // NPIV ports after their targets: gone from the file, or moving to another parent.
    let have_ports = current.npiv_ports();
    let want_ports = desired_npiv(desired);
    for (wwpn, parent) in &have_ports {
        if !want_ports.iter().any(|(w, p)| w == wwpn && p == parent) {
            steps.push(npiv_write(format!("del {wwpn}")));
        }
    }
    for c in &current.devices {
        if desired.device(&c.name).is_none() {
            if c.enabled {
                steps.push(write(
                    format!("devices/{}/enable", c.name),
                    "0".into(),
                    Some("1".into()),
                ));
            }
            steps.push(rmdir(format!("devices/{}", c.name)));
        }
    }

    // --- Phase B: stop what must stop.
    let restart_devices: BTreeSet<&str> = desired
        .devices
        .iter()
        .filter_map(|d| {
            let c = current.device(&d.name)?;
            let changes = device_writes(d, Some(c));
            (c.enabled && changes.iter().any(|(a, _, _)| RESTART_ATTRS.contains(a)))
                .then_some(d.name.as_str())
        })
        .collect();
    let mut restarted_targets: BTreeSet<(Fabric, &str)> = BTreeSet::new();
    for t in &current.targets {
        let Some(dt) = find_target(&desired.targets, t.fabric, &t.wwpn) else {
            continue;
        };
        if !t.enabled {
            continue;
        }
        let attrs_change = dt.initiator != t.initiator
            || dt.rel_port.unwrap_or(defaults::REL_PORT)
                != t.rel_port.unwrap_or(defaults::REL_PORT);
        let maps_restarting = t.groups.iter().any(|g| {
            g.luns
                .iter()
                .any(|(n, l)| lun_kept(t, g, *n) && restart_devices.contains(l.device.as_str()))
        });
        if attrs_change || maps_restarting || !dt.enabled {
            steps.push(write(
                format!("{}/enable", t.dir()),
                "0".into(),
                Some("1".into()),
            ));
            restarted_targets.insert((t.fabric, t.wwpn.as_str()));
        }
    }

    // Devices.
    for d in &desired.devices {
        let dir = format!("devices/{}", d.name);
        let c = current.device(&d.name);
        if c.is_none() {
            steps.push(mkdir(dir.clone()));
        }
        let writes = device_writes(d, c);
        let was_enabled = c.is_some_and(|c| c.enabled);
        let restart = restart_devices.contains(d.name.as_str());
        if restart {
            steps.push(write(format!("{dir}/enable"), "0".into(), Some("1".into())));
        }
        for (attr, value, old) in writes {
            steps.push(write(format!("{dir}/{attr}"), value, old));
        }
        let enabled_now = was_enabled && !restart;
        if d.enabled != enabled_now {
            let old = c.map(|_| b(enabled_now));
            steps.push(write(format!("{dir}/enable"), b(d.enabled), old));
        }
    }

    // NPIV ports before their targets.
    for (wwpn, parent) in &want_ports {
        if have_ports.get(wwpn) != Some(parent) {
            steps.push(npiv_write(format!("add {parent} {wwpn}")));
        }
    }
    // Targets and their attributes.
    for t in &desired.targets {
        let c = find_target(&current.targets, t.fabric, &t.wwpn);
        let dir = t.dir();
        if c.is_none() {
            steps.push(mkdir(dir.clone()));
        }
        if t.fabric == Fabric::Local {
            if let Some(i) = &t.initiator {
                let old = c.map(|c| c.initiator.clone().unwrap_or_default());
                if old.as_deref() != Some(i.as_str()) {
                    steps.push(write(format!("{dir}/initiator"), i.clone(), old));
                }
            }
        }
        let rel = t.rel_port.unwrap_or(defaults::REL_PORT).to_string();
        let old = c.map(|c| c.rel_port.unwrap_or(defaults::REL_PORT).to_string());
        let fresh = defaults::REL_PORT.to_string();
        if old.as_deref().unwrap_or(&fresh) != rel {
            steps.push(write(format!("{dir}/rel_port"), rel, old));
        }
    }
    // Groups.
    for t in &desired.targets {
        let c = find_target(&current.targets, t.fabric, &t.wwpn);
        for g in &t.groups {
            if g.name != DEFAULT_GROUP && find_group(c, &g.name).is_none() {
                steps.push(mkdir(format!("{}/groups/{}", t.dir(), g.name)));
            }
        }
    }
    // Members.
    for t in &desired.targets {
        let c = find_target(&current.targets, t.fabric, &t.wwpn);
        for g in &t.groups {
            let have: BTreeSet<String> = find_group(c, &g.name)
                .map(|cg| cg.initiators.iter().map(|m| member_key(m)).collect())
                .unwrap_or_default();
            for m in &g.initiators {
                if !have.contains(m) {
                    steps.push(mkdir(format!(
                        "{}/groups/{}/initiators/{m}",
                        t.dir(),
                        g.name
                    )));
                }
            }
        }
    }
    // LUNs.
    for t in &desired.targets {
        let c = find_target(&current.targets, t.fabric, &t.wwpn);
        for g in &t.groups {
            let cg = find_group(c, &g.name);
            for (n, l) in &g.luns {
                let ldir = format!("{}/groups/{}/luns/{n}", t.dir(), g.name);
                match cg
                    .and_then(|cg| cg.luns.get(n))
                    .filter(|cl| cl.device == l.device)
                {
                    Some(cl) => {
                        if cl.read_only != l.read_only {
                            steps.push(write(
                                format!("{ldir}/read_only"),
                                b(l.read_only),
                                Some(b(cl.read_only)),
                            ));
                        }
                    }
                    None => {
                        steps.push(mkdir(ldir.clone()));
                        steps.push(write(format!("{ldir}/device"), l.device.clone(), None));
                        if l.read_only {
                            steps.push(write(format!("{ldir}/read_only"), "1".into(), None));
                        }
                    }
                }
            }
        }
    }
    // Enable targets last, so initiators never see a half-built LUN map.
    for t in &desired.targets {
        if !t.enabled {
            continue;
        }
        let c = find_target(&current.targets, t.fabric, &t.wwpn);
        let restarted = restarted_targets.contains(&(t.fabric, t.wwpn.as_str()));
        match c {
            Some(c) if c.enabled && !restarted => {}
            Some(_) => steps.push(write(
                format!("{}/enable", t.dir()),
                "1".into(),
                Some("0".into()),
            )),
            None => steps.push(write(format!("{}/enable", t.dir()), "1".into(), None)),
        }
    }
    hoist_new_fc_ports(current, &mut steps);
    Plan { steps }
}

/// Whether a step makes a target directory under `targets/qla2x00t/`.
fn is_fc_target_mkdir(step: &Step) -> bool {
    step.op == Op::Mkdir
        && step
            .path
            .strip_prefix("targets/qla2x00t/")
            .is_some_and(|w| !w.is_empty() && !w.contains('/'))
}

/// Whether [`execute`] can take a step back when a later one is refused: a new FC target's
/// mkdir (rmdir) or a new NPIV port (`del`).
fn is_undoable(step: &Step) -> bool {
    is_fc_target_mkdir(step) || step.npiv_added().is_some()
}

/// Moves the new NPIV ports, then the mkdirs of new FC targets, to the front. Only the kernel
/// knows which HBA ports exist (an unknown parent is ENOENT at `add`, an unknown target WWPN
/// ENOENT at mkdir), so asking it first means a file naming a port that is not there fails
/// before anything else changed ([`execute`] undoes the ports and mkdirs of that run). A
/// WWPN that a current target (of another fabric) holds, or a port that must first be
/// deleted (new parent), stays in place: it becomes free only after that removal.
fn hoist_new_fc_ports(current: &Config, steps: &mut Vec<Step>) {
    let ports = current.npiv_ports();
    let taken = |s: &Step| match s.npiv_added() {
        Some(w) => ports.contains_key(w),
        None => {
            let w = s.path.trim_start_matches("targets/qla2x00t/");
            current.targets.iter().any(|t| t.wwpn == w)
        }
    };
    let (first, rest): (Vec<Step>, Vec<Step>) = std::mem::take(steps)
        .into_iter()
        .partition(|s| is_undoable(s) && !taken(s));
    steps.extend(first);
    steps.extend(rest);
}

/// A step the kernel refused; `done` steps before it were applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    /// Steps applied before the failure (and still in place).
    pub done: usize,
    /// New FC target directories and NPIV ports made before the failure and removed again
    /// (see [`execute`]).
    pub undone: usize,
    /// The refused step.
    pub step: Step,
    /// The kernel's answer.
    pub error: FsError,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step.path, self.error)?;
        match &self.step.op {
            Op::Mkdir => write!(f, " (mkdir)"),
            Op::Rmdir => write!(f, " (rmdir)"),
            Op::Write { value, .. } => write!(f, " (writing {value:?})"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// Runs the plan in order and stops at the first refused step. When every step done before
/// the refused one added an NPIV port or made a (still empty, disabled) FC target directory —
/// the plan puts those first — they are taken back in reverse order (rmdir, `del`), so a
/// refused FC port leaves the tree and the ports as they were.
pub fn execute(fs: &mut dyn ConfigFs, plan: &Plan) -> Result<usize, ApplyError> {
    for (done, step) in plan.steps.iter().enumerate() {
        let r = match &step.op {
            Op::Mkdir => fs.mkdir(&step.path),
            Op::Rmdir => fs.rmdir(&step.path),
            Op::Write { value, .. } => fs.write(&step.path, value),
        };
        if let Err(error) = r {
            let made = plan.steps.get(..done).unwrap_or_default();
            let mut kept = done;
            if made.iter().all(is_undoable) {
                for s in made.iter().rev() {
                    let undo = match s.npiv_added() {
                        Some(w) => fs.write(NPIV_PATH, &format!("del {w}")),
                        None => fs.rmdir(&s.path),
                    };
                    if undo.is_err() {
                        break;
                    }
                    kept -= 1;
                }
            }
            return Err(ApplyError {
                done: kept,
                undone: done - kept,
                step: step.clone(),
                error,
            });
        }
    }
    Ok(plan.steps.len())
}
