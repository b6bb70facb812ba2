//! `ferrule import targetcli saveconfig.json`: LIO's saved configuration to Ferrule TOML.
//!
//! Carried over: fileio / block / ramdisk-nullio storage objects, qla2xxx and loopback
//! targets (first TPG), TPG LUNs through node ACLs (ACLs with the same LUN map share a group)
//! or, in demo mode, through the default group.

use super::Imported;
use crate::model::{Backend, Device, Fabric, Group, Lun, Target, DEFAULT_GROUP};
use crate::wwpn::{parse_initiator, parse_wwpn, valid_name};
use serde_json::Value;
use std::collections::BTreeMap;

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        Value::String(s) => Some(s == "1" || s == "true"),
        _ => None,
    }
}

/// Converts saveconfig.json text.
pub fn import(text: &str) -> Result<Imported, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut out = Imported::default();
    // "/backstores/<plugin>/<name>" → device name.
    let mut objects: BTreeMap<String, String> = BTreeMap::new();
    for so in root
        .get("storage_objects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(so, "name").unwrap_or("");
        let plugin = s(so, "plugin").unwrap_or("");
        let backend = match plugin {
            "fileio" => Backend::Fileio,
            "block" => Backend::Blockio,
            "ramdisk" if truthy(so.get("nullio")) == Some(true) => Backend::Nullio,
            _ => {
                out.notes.push(format!(
                    "storage object {plugin}/{name}: Ferrule has nullio, fileio and blockio only"
                ));
                continue;
            }
        };
        if let Err(e) = valid_name(name) {
            out.notes.push(format!(
                "storage object {plugin}/{name}: device {e}; rename it"
            ));
        }
        let mut d = Device::new(name, backend);
        if backend != Backend::Nullio {
            d.path = s(so, "dev").map(str::to_string);
        }
        if backend != Backend::Blockio {
            d.size = so.get("size").and_then(Value::as_u64);
        }
        let attrs = so.get("attributes").cloned().unwrap_or(Value::Null);
        match attrs.get("block_size").and_then(Value::as_u64) {
            None => {}
            Some(512) => d.block_size = Some(512),
            Some(4096) => d.block_size = Some(4096),
            Some(other) => out.notes.push(format!(
                "storage object {name}: block_size {other} (Ferrule supports 512 and 4096)"
            )),
        }
        d.write_cache = truthy(so.get("write_back")).or(truthy(attrs.get("emulate_write_cache")));
        if truthy(attrs.get("emulate_tpu")) == Some(true)
            || truthy(attrs.get("emulate_tpws")) == Some(true)
        {
            d.thin = Some(true);
        }
        if truthy(so.get("readonly")) == Some(true) {
            d.read_only = Some(true);
        }
        // LIO reports the storage object's wwn as the VPD unit serial.
        d.serial = s(so, "wwn").map(str::to_string);
        if let (Some(bs), Some(size)) = (d.block_size, d.size) {
            if size % u64::from(bs) != 0 {
                let rounded = size - size % u64::from(bs);
                out.notes.push(format!(
                    "storage object {name}: size {size} rounded down to {rounded} (multiple of block_size)"
                ));
                d.size = Some(rounded);
            }
        }
        objects.insert(format!("/backstores/{plugin}/{name}"), name.to_string());
        out.config.devices.push(d);
    }
    for t in root
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let fabric_name = s(t, "fabric").unwrap_or("");
        let wwn = s(t, "wwn").unwrap_or("");
        let fabric = match fabric_name {
            "qla2xxx" => Fabric::Qla2x00t,
            "loopback" => Fabric::Local,
            _ => {
                out.notes.push(format!(
                    "target {fabric_name}/{wwn}: Ferrule serves FC (qla2xxx) and local (loopback) targets only"
                ));
                continue;
            }
        };
        let wwpn = match parse_wwpn(wwn) {
            Ok(w) => w,
            Err(e) => {
                out.notes.push(format!("target {fabric_name}/{wwn}: {e}"));
                continue;
            }
        };
        let tpgs: Vec<&Value> = t
            .get("tpgs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        if tpgs.len() > 1 {
            out.notes.push(format!(
                "target {wwpn}: {} TPGs; Ferrule has one port per target, only the first was imported",
                tpgs.len()
            ));
        }
        let Some(tpg) = tpgs.first() else { continue };
        let mut target = Target {
            fabric,
            wwpn: wwpn.clone(),
            initiator: None,
            rel_port: None,
            npiv_parent: None,
            enabled: truthy(tpg.get("enable")).unwrap_or(false),
            groups: Vec::new(),
        };
        if let Some(tag) = tpg.get("tag").and_then(Value::as_u64) {
            if tag > 1 && tag <= 65535 {
                target.rel_port = Some(tag as u16);
            }
        }
        if fabric == Fabric::Local {
            match s(tpg, "nexus").map(parse_wwpn) {
                Some(Ok(i)) => target.initiator = Some(i),
                _ => out.notes.push(format!(
                    "target {wwpn}: loopback nexus is not a WWPN; set `initiator`"
                )),
            }
        }
        let mut tpg_luns: BTreeMap<u64, String> = BTreeMap::new();
        for l in tpg
            .get("luns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let idx = l.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
            let so = s(l, "storage_object").unwrap_or("");
            match objects.get(so) {
                Some(dev) => {
                    tpg_luns.insert(idx, dev.clone());
                }
                None => out
                    .notes
                    .push(format!("target {wwpn}: LUN {idx} maps {so}, not imported")),
            }
        }
        let attrs = tpg.get("attributes").cloned().unwrap_or(Value::Null);
        if truthy(attrs.get("generate_node_acls")) == Some(true) {
            let ro = truthy(attrs.get("demo_mode_write_protect")).unwrap_or(true);
            let luns: BTreeMap<u8, Lun> = tpg_luns
                .iter()
                .filter_map(|(i, d)| {
                    Some((
                        u8::try_from(*i).ok()?,
                        Lun {
                            device: d.clone(),
                            read_only: ro,
                        },
                    ))
                })
                .collect();
            target.groups.push(Group {
                name: DEFAULT_GROUP.into(),
                initiators: Vec::new(),
                luns,
            });
        }
        // ACLs with identical LUN maps become one group.
        let mut groups: Vec<Group> = Vec::new();
        for acl in tpg
            .get("node_acls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let node = s(acl, "node_wwn").unwrap_or("");
            let ini = match parse_initiator(node) {
                Ok(i) => i,
                Err(e) => {
                    out.notes.push(format!("target {wwpn}: ACL {node}: {e}"));
                    continue;
                }
            };
            let mut luns = BTreeMap::new();
            for m in acl
                .get("mapped_luns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let idx = m.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
                let tl = m.get("tpg_lun").and_then(Value::as_u64).unwrap_or(u64::MAX);
                match (u8::try_from(idx).ok(), tpg_luns.get(&tl)) {
                    (Some(i), Some(dev)) => {
                        luns.insert(
                            i,
                            Lun {
                                device: dev.clone(),
                                read_only: truthy(m.get("write_protect")).unwrap_or(false),
                            },
                        );
                    }
                    _ => out.notes.push(format!(
                        "target {wwpn}: ACL {ini}: mapped LUN {idx} (TPG LUN {tl}) not imported"
                    )),
                }
            }
            match groups.iter_mut().find(|g| g.luns == luns) {
                Some(g) => g.initiators.push(ini),
                None => groups.push(Group {
                    name: format!("acl{}", groups.len() + 1),
                    initiators: vec![ini],
                    luns,
                }),
            }
        }
        target.groups.extend(groups);
        out.config.targets.push(target);
    }
    Ok(out)
}
