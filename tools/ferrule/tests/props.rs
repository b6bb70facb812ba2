//! Property: for random valid configurations A and B, applying A to a fresh module and then B
//! succeeds on the strict fake (every step allowed in the state it runs in), the tree then
//! reads back as B, and applying B again plans nothing. `save` → `check` → equal. Targets may
//! sit on NPIV ports (made on, moved between and removed from the fake's HBA ports).

mod common;
use common::*;
use ferrule::model::{Backend, Config, Device, Fabric, Group, Lun, Target};
use ferrule::parse::parse_config;
use ferrule::plan::{execute, plan};
use ferrule::read::read_config;
use proptest::prelude::*;
use std::collections::BTreeMap;

const INITIATORS: [&str; 5] = [
    "21:00:00:24:ff:31:4c:5a",
    "21:00:00:24:ff:31:4c:5b",
    "10:00:00:90:fa:*",
    "*",
    "21:00:00:24:ff:31:4c:5c",
];

fn device() -> impl Strategy<Value = Device> {
    (
        0usize..5,
        0u8..3,
        prop::bool::ANY,
        1u64..64,
        prop::bool::ANY,
        prop::bool::ANY,
        prop::bool::ANY,
        prop::option::of("[A-Z]{1,8}"),
        prop::option::of("[A-Za-z ]{1,16}"),
        prop::bool::ANY,
    )
        .prop_map(
            |(n, be, big, blocks, ro, wc, thin, vendor, product, enabled)| {
                let name = format!("d{n}");
                let backend = [Backend::Nullio, Backend::Fileio, Backend::Blockio][be as usize];
                let bs = if big { 4096 } else { 512 };
                let mut d = Device::new(&name, backend);
                d.path = (backend != Backend::Nullio).then(|| format!("/dev/store/{name}"));
                d.size = (backend != Backend::Blockio).then_some(blocks * u64::from(bs));
                d.block_size = Some(bs);
                d.read_only = Some(ro);
                d.write_cache = Some(wc);
                d.thin = Some(thin);
                d.serial = Some(format!("SER-{name}-{blocks}"));
                d.vendor = vendor;
                d.product = product;
                d.enabled = enabled;
                d
            },
        )
}

fn group(name: &'static str) -> impl Strategy<Value = Group> {
    (
        prop::collection::btree_map(0u8..8, (0usize..5, prop::bool::ANY), 0..4),
        prop::collection::vec(0usize..5, 0..3),
    )
        .prop_map(move |(luns, inis)| Group {
            name: name.into(),
            initiators: inis
                .into_iter()
                .map(|i| INITIATORS[i].to_string())
                .collect(),
            luns: luns
                .into_iter()
                .map(|(n, (d, ro))| {
                    (
                        n,
                        Lun {
                            device: format!("d{d}"),
                            read_only: ro,
                        },
                    )
                })
                .collect(),
        })
}

/// WWPNs of NPIV ports a qla2x00t target may be on (made on one of the fake's PORTS).
const VPORTS: [&str; 2] = ["21:00:00:24:ff:7e:20:01", "21:00:00:24:ff:7e:20:02"];

fn target() -> impl Strategy<Value = Target> {
    (
        prop::bool::ANY,
        (0usize..5, 0usize..3),
        1u16..4,
        prop::bool::ANY,
        prop::collection::vec(group("default"), 0..2),
        prop::collection::vec(group("g1"), 0..2),
        prop::collection::vec(group("g2"), 0..2),
        0usize..2,
    )
        .prop_map(
            |(local, (port, parent), rel, enabled, dg, g1, g2, ini)| Target {
                fabric: if local {
                    Fabric::Local
                } else {
                    Fabric::Qla2x00t
                },
                wwpn: PORTS.iter().chain(&VPORTS).nth(port).unwrap().to_string(),
                initiator: local
                    .then(|| ["50:01:40:50:00:00:00:02", "50:01:40:50:00:00:00:03"][ini].into()),
                rel_port: Some(rel),
                // A qla2x00t target on a virtual port names the HBA port it is made on.
                npiv_parent: (!local && port >= PORTS.len()).then(|| PORTS[parent].to_string()),
                enabled,
                groups: dg.into_iter().chain(g1).chain(g2).collect(),
            },
        )
}

/// Makes a random config valid: unique names, existing devices, disjoint groups.
fn fix(mut c: Config) -> Config {
    let mut seen = std::collections::BTreeSet::new();
    c.devices.retain(|d| seen.insert(d.name.clone()));
    let mut seen_t = std::collections::BTreeSet::new();
    c.targets
        .retain(|t| seen_t.insert((t.fabric, t.wwpn.clone())));
    for t in &mut c.targets {
        let mut taken = std::collections::BTreeSet::new();
        for g in &mut t.groups {
            if g.name == "default" {
                g.initiators.clear();
            }
            g.initiators.retain(|i| taken.insert(i.clone()));
            g.luns.retain(|_, l| seen.contains(&l.device));
        }
    }
    // A device mapped by an enabled target must be enabled.
    let mapped: std::collections::BTreeSet<String> = c
        .targets
        .iter()
        .filter(|t| t.enabled)
        .flat_map(|t| {
            t.groups
                .iter()
                .flat_map(|g| g.luns.values().map(|l| l.device.clone()))
        })
        .collect();
    for d in &mut c.devices {
        if mapped.contains(&d.name) {
            d.enabled = true;
        }
    }
    c
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop::collection::vec(device(), 0..5),
        prop::collection::vec(target(), 0..3),
    )
        .prop_map(|(devices, targets)| {
            fix(Config {
                devices,
                targets,
                ..Config::default()
            })
        })
}

fn apply(fs: &mut ferrule::fake::FakeFs, c: &Config) {
    let current = read_config(fs).unwrap();
    let p = plan(&current, c);
    if let Err(e) = execute(fs, &p) {
        panic!("{e}\nplan:\n{p}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_transition_applies_and_converges(a in config(), b in config(), same_maps in prop::bool::ANY) {
        // Half the time B keeps A's targets, so devices change under live LUN maps.
        let b = if same_maps { fix(Config { devices: b.devices, targets: a.targets.clone(), ..Config::default() }) } else { b };
        // The generated configs pass the validator (the generator is not lying to us).
        prop_assert_eq!(parse_config(&a.to_toml()).map(|c| c.normalised()), Ok(a.normalised()));
        let mut fs = fake();
        apply(&mut fs, &a);
        prop_assert_eq!(read_config(&fs).unwrap().normalised(), a.normalised());
        apply(&mut fs, &b);
        let got = read_config(&fs).unwrap();
        prop_assert_eq!(got.normalised(), b.normalised());
        prop_assert!(plan(&got, &b).is_empty(), "second apply not empty:\n{}", plan(&got, &b));
        // save → parse gives the same configuration.
        let saved = got.normalised().to_toml();
        prop_assert_eq!(parse_config(&saved).map(|c| c.normalised()), Ok(b.normalised()));
    }
}

#[test]
fn empty_groups_and_default_luns_round_trip() {
    let text = "[[device]]\nname = \"d\"\nbackend = \"nullio\"\nsize = \"1M\"\nserial = \"S\"\nwrite_cache = false\n\n\
                [[target]]\nfabric = \"qla2x00t\"\nwwpn = \"21:00:00:24:ff:7e:10:02\"\n\n\
                [[target.group]]\nname = \"default\"\nluns = { 7 = { device = \"d\", read_only = true } }\n\n\
                [[target.group]]\nname = \"empty\"\n";
    let c = parse_config(text).unwrap();
    let mut fs = fake();
    apply(&mut fs, &c);
    let saved = read_config(&fs).unwrap().normalised();
    assert_eq!(saved, c.normalised());
    assert_eq!(
        parse_config(&saved.to_toml()).unwrap().normalised(),
        c.normalised()
    );
    let _ = BTreeMap::<u8, Lun>::new();
}
