//! Importers on realistic sample files: what is carried over, what is reported, and that the
//! result passes `check` and applies.

mod common;
use common::*;
use ferrule::import::{scst, targetcli};
use ferrule::model::{Backend, Fabric, Lun};
use ferrule::parse::parse_config;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn lun(device: &str, read_only: bool) -> Lun {
    Lun {
        device: device.into(),
        read_only,
    }
}

#[test]
fn scst_conf() {
    let imp = scst::import(&data("scst.conf")).unwrap();
    let c = &imp.config;
    let names: Vec<&str> = c.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["vm_store1", "iso_lib", "sdb_disk", "null1"]);
    let vm = c.device("vm_store1").unwrap();
    assert_eq!(vm.backend, Backend::Fileio);
    assert_eq!(vm.path.as_deref(), Some("/srv/scst/vm_store1.img"));
    assert_eq!(vm.size, Some(100 << 30));
    assert_eq!(vm.block_size, Some(4096));
    assert_eq!(vm.write_cache, Some(false), "write_through 1");
    assert_eq!(vm.thin, Some(true));
    assert_eq!(vm.serial.as_deref(), Some("8a1b2c3d"));
    assert_eq!(vm.product.as_deref(), Some("Store One"));
    assert_eq!(c.device("iso_lib").unwrap().read_only, Some(true));
    assert_eq!(c.device("sdb_disk").unwrap().size, None);
    assert_eq!(c.device("null1").unwrap().size, Some(1 << 30));

    assert_eq!(c.targets.len(), 2);
    let t = &c.targets[0];
    assert_eq!(
        (t.fabric, t.wwpn.as_str(), t.enabled, t.rel_port),
        (Fabric::Qla2x00t, "21:00:00:24:ff:7e:10:01", true, Some(1))
    );
    let groups: Vec<&str> = t.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["default", "esx_hosts", "backup"]);
    assert_eq!(t.groups[0].luns.get(&0), Some(&lun("null1", false)));
    assert_eq!(
        t.groups[1].initiators,
        ["21:00:00:24:ff:31:4c:5a", "21:00:00:24:ff:31:4c:5b"]
    );
    assert_eq!(t.groups[1].luns.get(&1), Some(&lun("iso_lib", true)));
    assert_eq!(t.groups[2].initiators, ["10:00:00:90:fa:*"]);
    assert!(!c.targets[1].enabled);
    assert_eq!(c.targets[1].rel_port, Some(2));

    let notes = imp.notes.join("\n");
    for want in [
        "line 2: global setting `setup_id 0x2a`",
        "line 20: device iso_lib: t10_dev_id",
        "line 21: device iso_lib: `o_direct 1`",
        "line 39: HANDLER dev_disk (devices 2:0:0:0)",
        "line 66: group backup: INITIATOR 10:00:00:90:f?:12:34:56",
        "line 77: TARGET_DRIVER iscsi",
    ] {
        assert!(notes.contains(want), "missing {want:?} in\n{notes}");
    }
    assert!(!notes.contains("nv_cache 0"), "defaults are not noise");
    assert_eq!(imp.notes.len(), 8, "{notes}");

    // The rendered file passes check, carries the notes, and applies.
    let text = imp.render("scst.conf");
    assert!(text.contains("#   - line 77: TARGET_DRIVER iscsi"));
    assert_eq!(parse_config(&text).unwrap().normalised(), c.normalised());
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "imported.toml", &text);
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn scst_syntax_errors() {
    assert_eq!(
        scst::import("HANDLER x {\n DEVICE a {\n").unwrap_err(),
        "missing '}' at end of file"
    );
    assert_eq!(scst::import("}\n").unwrap_err(), "line 1: unexpected '}'");
    assert!(scst::import("A \"b\n")
        .unwrap_err()
        .contains("unterminated quote"));
}

#[test]
fn targetcli_saveconfig() {
    let imp = targetcli::import(&data("saveconfig.json")).unwrap();
    let c = &imp.config;
    let names: Vec<&str> = c.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["disk1", "db", "scratch"]);
    let d1 = c.device("disk1").unwrap();
    assert_eq!(
        (d1.backend, d1.size, d1.write_cache, d1.thin),
        (Backend::Fileio, Some(10 << 30), Some(true), Some(true))
    );
    assert_eq!(
        d1.serial.as_deref(),
        Some("0f3b8c6e-4bb2-4c7a-9d43-6c1a2b3c4d5e")
    );
    let db = c.device("db").unwrap();
    assert_eq!(
        (db.backend, db.block_size, db.read_only, db.size),
        (Backend::Blockio, Some(4096), Some(true), None)
    );
    assert_eq!(c.device("scratch").unwrap().backend, Backend::Nullio);

    let fc = &c.targets[0];
    assert_eq!(
        (fc.fabric, fc.wwpn.as_str(), fc.enabled),
        (Fabric::Qla2x00t, "21:00:00:24:ff:7e:10:01", true)
    );
    // The two ACLs with the same LUN map share a group.
    assert_eq!(
        fc.groups[0].initiators,
        ["21:00:00:24:ff:31:4c:5a", "21:00:00:24:ff:31:4c:5b"]
    );
    assert_eq!(fc.groups[0].luns.get(&1), Some(&lun("db", true)));
    assert_eq!(fc.groups[1].initiators, ["10:00:00:10:9b:5a:6a:7b"]);
    assert_eq!(fc.groups[1].luns.get(&5), Some(&lun("db", false)));
    let lo = &c.targets[1];
    assert_eq!(
        (lo.fabric, lo.initiator.as_deref()),
        (Fabric::Local, Some("50:01:40:5a:1b:2c:3d:4e"))
    );
    assert_eq!(lo.groups[0].name, "default");
    assert_eq!(
        lo.groups[0].luns.get(&0),
        Some(&lun("scratch", false)),
        "demo mode, write-protect off"
    );

    let notes = imp.notes.join("\n");
    for want in [
        "ramdisk/rd",
        "user/ceph1",
        "LUN 2 maps /backstores/user/ceph1",
        "iscsi/iqn.2003-01",
    ] {
        assert!(notes.contains(want), "missing {want:?} in\n{notes}");
    }
    assert_eq!(imp.notes.len(), 4);
    let text = imp.render("saveconfig.json");
    assert_eq!(parse_config(&text).unwrap().normalised(), c.normalised());
    assert!(targetcli::import("{")
        .unwrap_err()
        .starts_with("not valid JSON"));
}

#[test]
fn import_command_reports_what_was_dropped() {
    let mut fs = fake();
    let path = format!("{}/tests/data/scst.conf", env!("CARGO_MANIFEST_DIR"));
    let r = ferrule(&mut fs, &["import", "scst", &path]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("name = \"esx_hosts\""));
    assert_eq!(r.stderr.lines().count(), 8);
    assert!(r
        .stderr
        .lines()
        .all(|l| l.starts_with("ferrule: import: not carried over: ")));
}
