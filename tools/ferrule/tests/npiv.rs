//! NPIV ports in the declarative config: the fake's `npiv` attribute (kernel text and errno),
//! exact plans for adding, moving and removing a port with its target, undo on a refusal,
//! save/apply round trips, clear, and `check` of `npiv_parent`.

mod common;
use common::*;
use ferrule::fake::FakeFs;
use ferrule::fs::errno::*;
use ferrule::fs::ConfigFs;
use ferrule::parse::parse_config;
use ferrule::read::read_config;

const NPIV: &str = "targets/qla2x00t/npiv";
const HBA: &str = "21:00:00:24:ff:7e:10:01";
const HBA2: &str = "21:00:00:24:ff:7e:10:02";
const VP: &str = "21:00:00:24:ff:7e:20:01";
const VP2: &str = "21:00:00:24:ff:7e:20:02";

/// A device, the HBA's target and a target on NPIV port VP made on `parent`.
fn two_ports(parent: &str) -> String {
    format!(
        "[[device]]\nname = \"d\"\nbackend = \"nullio\"\nsize = \"1M\"\n\n\
         [[target]]\nfabric = \"qla2x00t\"\nwwpn = \"{HBA}\"\n\n\
         [[target.group]]\nname = \"default\"\nluns = {{ 0 = \"d\" }}\n\n\
         [[target]]\nfabric = \"qla2x00t\"\nwwpn = \"{VP}\"\nnpiv_parent = \"{parent}\"\n\n\
         [[target.group]]\nname = \"vm\"\ninitiators = [\"21:00:00:24:ff:31:4c:5a\"]\nluns = {{ 3 = \"d\" }}\n"
    )
}

/// `fs` equals `before` but for the count of operations (undo steps count too).
fn unchanged(fs: &FakeFs, before: &FakeFs) -> bool {
    let mut f = fs.clone();
    f.mutations = before.mutations;
    f == *before
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn fake_npiv_attribute_has_the_kernels_text_and_errno() {
    let mut fs = fake();
    assert_eq!(fs.read(NPIV).unwrap(), "");
    fs.write(NPIV, &format!("add {HBA} {VP}")).unwrap();
    // Any accepted WWPN spelling, an explicit WWNN.
    fs.write(
        NPIV,
        "add 21000024ff7e1001 0x21000024FF7E2002 20:00:00:24:ff:7e:20:02",
    )
    .unwrap();
    assert_eq!(
        fs.read(NPIV).unwrap(),
        format!("{HBA} {VP} vp1\n{HBA} {VP2} vp2")
    );
    let before = fs.clone();
    for (cmd, errno, why) in [
        (
            format!("add {HBA} {VP}"),
            EEXIST,
            "an FC port with this WWPN exists",
        ),
        (
            format!("add {HBA2} {HBA}"),
            EEXIST,
            "an FC port with this WWPN exists",
        ),
        (
            "add 21:00:00:24:ff:00:00:99 21:00:00:24:ff:7e:20:09".to_string(),
            ENOENT,
            "no physical FC port with the parent WWPN",
        ),
        (
            format!("add {VP} 21:00:00:24:ff:7e:20:09"),
            ENOENT,
            "no physical FC port with the parent WWPN",
        ),
        (
            "del 21:00:00:24:ff:7e:20:09".to_string(),
            ENOENT,
            "no NPIV port with this WWPN",
        ),
        (format!("del {HBA}"), ENOENT, "no NPIV port with this WWPN"),
        (
            format!("add {HBA}"),
            EINVAL,
            "expected 'add <parent wwpn> <wwpn> [<wwnn>]' or 'del <wwpn>'",
        ),
        (
            format!("add {HBA} {VP} {VP} {VP}"),
            EINVAL,
            "expected 'add <parent wwpn> <wwpn> [<wwnn>]' or 'del <wwpn>'",
        ),
        (
            format!("remove {VP}"),
            EINVAL,
            "expected 'add <parent wwpn> <wwpn> [<wwnn>]' or 'del <wwpn>'",
        ),
        ("del 21:00:00:24:ff:7e:20".to_string(), EINVAL, "not a WWPN"),
    ] {
        let e = fs.write(NPIV, &cmd).unwrap_err();
        assert_eq!((e.errno, e.why.as_deref()), (errno, Some(why)), "{cmd}");
        assert_eq!(fs, before, "{cmd}: a refused write changes nothing");
    }
    // The lowest free virtual port index is reused; the list keeps creation order.
    fs.write(NPIV, &format!("del {VP}")).unwrap();
    fs.write(NPIV, "add 21:00:00:24:ff:7e:10:01 21:00:00:24:ff:7e:20:03")
        .unwrap();
    assert_eq!(
        fs.read(NPIV).unwrap(),
        format!("{HBA} {VP2} vp2\n{HBA} 21:00:00:24:ff:7e:20:03 vp1")
    );
    // Fifteen virtual ports per HBA (vp1..vp15), then ENOSPC.
    let mut fs = fake();
    for i in 1..=15 {
        fs.write(NPIV, &format!("add {HBA2} 21:00:00:24:ff:7e:30:{i:02x}"))
            .unwrap();
    }
    let e = fs
        .write(NPIV, &format!("add {HBA2} 21:00:00:24:ff:7e:30:99"))
        .unwrap_err();
    assert_eq!(
        (e.errno, e.why.as_deref()),
        (ENOSPC, Some("no free virtual port on this HBA"))
    );
    // A target can be made on a virtual port only while it exists; deleting the port keeps
    // the target and ends its sessions.
    let mut fs = fake();
    let t = format!("targets/qla2x00t/{VP}");
    assert_eq!(fs.mkdir(&t).unwrap_err().errno, ENOENT);
    fs.write(NPIV, &format!("add {HBA} {VP}")).unwrap();
    fs.mkdir(&t).unwrap();
    fs.write(&format!("{t}/enable"), "1").unwrap();
    fs.log_in(&t, "21:00:00:24:ff:31:4c:5a", 0x0a0201, "1")
        .unwrap();
    fs.write(NPIV, &format!("del {VP}")).unwrap();
    assert!(fs.exists(&t));
    assert_eq!(
        fs.read(&format!("{t}/sessions")).unwrap(),
        "initiator port_id handle group luns commands"
    );
}

#[test]
fn apply_adds_the_port_before_its_target_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "f.toml", &two_ports(HBA));
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        lines(&r.stdout),
        vec![
            "+ targets/qla2x00t/npiv = \"add 21:00:00:24:ff:7e:10:01 21:00:00:24:ff:7e:20:01\"",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:10:01",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:20:01",
            "+ mkdir devices/d",
            "+ devices/d/backend = \"nullio\"",
            "+ devices/d/size = \"1048576\"",
            "+ devices/d/enable = \"1\"",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/initiators/21:00:00:24:ff:31:4c:5a",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:10:01/groups/default/luns/0",
            "+ targets/qla2x00t/21:00:00:24:ff:7e:10:01/groups/default/luns/0/device = \"d\"",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/luns/3",
            "+ targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/luns/3/device = \"d\"",
            "+ targets/qla2x00t/21:00:00:24:ff:7e:10:01/enable = \"1\"",
            "+ targets/qla2x00t/21:00:00:24:ff:7e:20:01/enable = \"1\"",
            "dry run: 8 to create, 7 to set, 0 to remove (nothing was changed)",
        ]
    );
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "ferrule: apply: done, 15 steps (8 to create, 7 to set, 0 to remove)\n"
    );
    assert_eq!(fs.read(NPIV).unwrap(), format!("{HBA} {VP} vp1"));
    assert_eq!(
        fs.read(&format!("targets/qla2x00t/{VP}/enable")).unwrap(),
        "1"
    );

    // Again: nothing to do, nothing written.
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);
    assert_eq!(fs, before);

    // save names the port through its target; the saved file is a no-op here and rebuilds
    // the same tree and ports on a fresh module.
    let saved = ferrule(&mut fs, &["save"]);
    assert_eq!((saved.code, saved.stderr.as_str()), (0, ""));
    assert!(
        saved.stdout.contains(&format!(
            "fabric = \"qla2x00t\"\nwwpn = \"{VP}\"\nnpiv_parent = \"{HBA}\"\n"
        )),
        "{}",
        saved.stdout
    );
    assert_eq!(saved.stdout.matches("npiv_parent").count(), 1);
    let saved_path = file(&dir, "saved.toml", &saved.stdout);
    let r = ferrule(&mut fs, &["apply", "--dry-run", &saved_path]);
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);
    assert_eq!(fs, before);
    let mut fresh = fake();
    assert_eq!(ferrule(&mut fresh, &["apply", &saved_path]).code, 0);
    assert_eq!(read_config(&fresh).unwrap(), read_config(&fs).unwrap());
    assert_eq!(fresh.read(NPIV).unwrap(), fs.read(NPIV).unwrap());
}

#[test]
fn removing_the_target_deletes_its_port_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = fake();
    let full = file(&dir, "f.toml", &two_ports(HBA));
    assert_eq!(ferrule(&mut fs, &["apply", &full]).code, 0);
    fs.log_in(
        &format!("targets/qla2x00t/{VP}"),
        "21:00:00:24:ff:31:4c:5a",
        0x0a0201,
        "1",
    )
    .unwrap();
    let only_hba = two_ports(HBA);
    let only_hba = &only_hba[..only_hba.rfind("[[target]]").unwrap()];
    let path = file(&dir, "g.toml", only_hba);
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(
        lines(&r.stdout),
        vec![
            "~ targets/qla2x00t/21:00:00:24:ff:7e:20:01/enable = \"0\" (was \"1\")",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/luns/3",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/initiators/21:00:00:24:ff:31:4c:5a",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01",
            "- targets/qla2x00t/npiv = \"del 21:00:00:24:ff:7e:20:01\"",
            "dry run: 0 to create, 1 to set, 5 to remove (nothing was changed)",
        ]
    );
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);
    assert_eq!(fs.read(NPIV).unwrap(), "");
    assert!(!fs.exists(&format!("targets/qla2x00t/{VP}")));
    assert!(ferrule(&mut fs, &["apply", &path])
        .stdout
        .contains("nothing to do"));
}

#[test]
fn a_new_parent_deletes_then_adds_the_port_and_keeps_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = fake();
    assert_eq!(
        ferrule(&mut fs, &["apply", &file(&dir, "a.toml", &two_ports(HBA))]).code,
        0
    );
    let path = file(&dir, "b.toml", &two_ports(HBA2));
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(
        lines(&r.stdout),
        vec![
            "- targets/qla2x00t/npiv = \"del 21:00:00:24:ff:7e:20:01\"",
            "+ targets/qla2x00t/npiv = \"add 21:00:00:24:ff:7e:10:02 21:00:00:24:ff:7e:20:01\"",
            "dry run: 1 to create, 0 to set, 1 to remove (nothing was changed)",
        ]
    );
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);
    assert_eq!(fs.read(NPIV).unwrap(), format!("{HBA2} {VP} vp1"));
    assert_eq!(
        fs.read(&format!("targets/qla2x00t/{VP}/enable")).unwrap(),
        "1"
    );

    // Without the key the target stays and the port goes: the file is the whole truth.
    let no_key = two_ports(HBA2).replace(&format!("npiv_parent = \"{HBA2}\"\n"), "");
    let r = ferrule(
        &mut fs,
        &["apply", "--dry-run", &file(&dir, "c.toml", &no_key)],
    );
    assert_eq!(
        lines(&r.stdout),
        vec![
            "- targets/qla2x00t/npiv = \"del 21:00:00:24:ff:7e:20:01\"",
            "dry run: 0 to create, 0 to set, 1 to remove (nothing was changed)",
        ]
    );
}

#[test]
fn a_refused_port_or_target_undoes_the_ports_and_targets_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // The parent HBA does not exist: refused at the first step.
    let mut fs = fake();
    let before = fs.clone();
    let bad_parent = two_ports("21:00:00:24:ff:00:00:99");
    let r = ferrule(&mut fs, &["apply", &file(&dir, "p.toml", &bad_parent)]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ferrule: apply: targets/qla2x00t/npiv: No such file or directory \
         (ENOENT: no physical FC port with the parent WWPN) \
         (writing \"add 21:00:00:24:ff:00:00:99 21:00:00:24:ff:7e:20:01\")\n\
         ferrule: apply: stopped at the first step; nothing was changed\n"
    );
    assert!(unchanged(&fs, &before));

    // The port and both targets are made, then a third target's port is unknown: the
    // targets are removed and the port deleted again.
    let extra = format!(
        "{}\n[[target]]\nfabric = \"qla2x00t\"\nwwpn = \"21:00:00:24:ff:00:00:99\"\n",
        two_ports(HBA)
    );
    let r = ferrule(&mut fs, &["apply", &file(&dir, "x.toml", &extra)]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ferrule: apply: targets/qla2x00t/21:00:00:24:ff:00:00:99: No such file or directory \
         (ENOENT: no FC port has this WWPN) (mkdir)\n\
         ferrule: apply: stopped; the 2 FC target(s) and 1 NPIV port(s) made before it were \
         removed again; nothing was changed\n"
    );
    assert!(unchanged(&fs, &before));

    // The vport WWPN is taken by another port (here: an HBA's): EEXIST, nothing changed.
    let clash = two_ports(HBA).replace(VP, "21:00:00:24:ff:7e:10:03");
    let r = ferrule(&mut fs, &["apply", &file(&dir, "c.toml", &clash)]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("(EEXIST: an FC port with this WWPN exists)"),
        "{}",
        r.stderr
    );
    assert!(unchanged(&fs, &before));
}

#[test]
fn a_port_that_went_away_is_added_again_and_orphans_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "f.toml", &two_ports(HBA));
    let mut fs = fake();
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);
    // The port goes (by hand, or with its HBA): the target stays; apply adds the port only.
    fs.write(NPIV, &format!("del {VP}")).unwrap();
    let saved = ferrule(&mut fs, &["save"]).stdout;
    assert!(!saved.contains("npiv_parent"), "{saved}");
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(
        lines(&r.stdout),
        vec![
            "+ targets/qla2x00t/npiv = \"add 21:00:00:24:ff:7e:10:01 21:00:00:24:ff:7e:20:01\"",
            "dry run: 1 to create, 0 to set, 0 to remove (nothing was changed)",
        ]
    );
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);

    // A port made by hand with no target: save says so, and its file deletes it.
    fs.write(NPIV, &format!("add {HBA2} {VP2}")).unwrap();
    let saved = ferrule(&mut fs, &["save"]);
    assert_eq!(saved.code, 0);
    assert_eq!(
        saved.stderr,
        "ferrule: save: NPIV port 21:00:00:24:ff:7e:20:02 (on 21:00:00:24:ff:7e:10:02) has no \
         target, so the file cannot name it; applying the file deletes it\n"
    );
    assert!(saved.stdout.contains(
        "# Not saved: NPIV port 21:00:00:24:ff:7e:20:02 on 21:00:00:24:ff:7e:10:02 has no \
         target (applying this file deletes it).\n"
    ));
    let r = ferrule(
        &mut fs,
        &["apply", "--dry-run", &file(&dir, "s.toml", &saved.stdout)],
    );
    assert_eq!(
        lines(&r.stdout),
        vec![
            "- targets/qla2x00t/npiv = \"del 21:00:00:24:ff:7e:20:02\"",
            "dry run: 0 to create, 0 to set, 1 to remove (nothing was changed)",
        ]
    );
}

#[test]
fn clear_removes_the_ports_after_their_targets() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = fake();
    assert_eq!(
        ferrule(&mut fs, &["apply", &file(&dir, "f.toml", &two_ports(HBA))]).code,
        0
    );
    fs.write(NPIV, &format!("add {HBA2} {VP2}")).unwrap();
    let r = ferrule(&mut fs, &["clear", "--dry-run"]);
    assert_eq!(
        lines(&r.stdout),
        vec![
            "~ targets/qla2x00t/21:00:00:24:ff:7e:10:01/enable = \"0\" (was \"1\")",
            "~ targets/qla2x00t/21:00:00:24:ff:7e:20:01/enable = \"0\" (was \"1\")",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:10:01/groups/default/luns/0",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/luns/3",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm/initiators/21:00:00:24:ff:31:4c:5a",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:10:01",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01/groups/vm",
            "- rmdir targets/qla2x00t/21:00:00:24:ff:7e:20:01",
            "- targets/qla2x00t/npiv = \"del 21:00:00:24:ff:7e:20:01\"",
            "- targets/qla2x00t/npiv = \"del 21:00:00:24:ff:7e:20:02\"",
            "~ devices/d/enable = \"0\" (was \"1\")",
            "- rmdir devices/d",
            "dry run: 0 to create, 3 to set, 9 to remove (nothing was changed)",
        ]
    );
    assert_eq!(ferrule(&mut fs, &["clear"]).code, 0);
    assert_eq!(fs.paths(), fake().paths());
    assert_eq!(fs.read(NPIV).unwrap(), "");
    assert!(ferrule(&mut fs, &["clear"])
        .stdout
        .contains("nothing to do"));
}

#[test]
fn check_validates_npiv_parent() {
    let base = two_ports(HBA);
    let vp_line = format!("npiv_parent = \"{HBA}\"");
    let line = base.lines().position(|l| l == vp_line).unwrap() + 1;
    for (text, col, msg) in [
        (
            base.replace(&vp_line, &format!("npiv_parent = \"{VP}\"")),
            15,
            format!("npiv_parent {VP} is the target's own WWPN: name the HBA port the NPIV port is made on"),
        ),
        (
            base.replace(&vp_line, "npiv_parent = \"21:00:00:24:ff:7e:10\""),
            15,
            "npiv_parent: bad WWPN \"21:00:00:24:ff:7e:10\": 14 hex digits, a WWPN has 16"
                .to_string(),
        ),
        (
            base.replace(&vp_line, "npiv_parent = 5"),
            15,
            "`npiv_parent` must be a string, found integer".to_string(),
        ),
        (
            base.replace(&vp_line, "npiv_parnet = \"x\""),
            1,
            "unknown key `npiv_parnet` in [[target]]; did you mean `npiv_parent`?".to_string(),
        ),
    ] {
        let d = parse_config(&text).unwrap_err();
        assert_eq!(
            d.iter()
                .map(|d| (d.line, d.column, d.message.clone()))
                .collect::<Vec<_>>(),
            vec![(line, col, msg)],
            "{text}"
        );
    }
    // Only FC targets are on NPIV ports.
    let local = format!(
        "[[target]]\nfabric = \"local\"\nwwpn = \"{VP}\"\ninitiator = \"50:01:40:50:00:00:00:02\"\nnpiv_parent = \"{HBA}\"\n"
    );
    let d = parse_config(&local).unwrap_err();
    assert_eq!(
        (d.len(), d[0].line, d[0].column, d[0].message.as_str()),
        (
            1,
            5,
            15,
            "`npiv_parent` is for qla2x00t targets only (an NPIV port is a virtual FC port); a local target has none"
        )
    );
    // The parent must be a physical port, not another NPIV port of the file.
    let chained = format!(
        "{base}\n[[target]]\nfabric = \"qla2x00t\"\nwwpn = \"{VP2}\"\nnpiv_parent = \"{VP}\"\n"
    );
    let d = parse_config(&chained).unwrap_err();
    let vp_at = base
        .lines()
        .position(|l| l == format!("wwpn = \"{VP}\""))
        .unwrap()
        + 1;
    assert_eq!(
        (d.len(), d[0].line, d[0].message.clone()),
        (
            1,
            base.lines().count() + 5,
            format!("npiv_parent {VP} is itself an NPIV port (target on line {vp_at}): name the HBA's physical port")
        )
    );
    // The same NPIV port twice is a duplicate target.
    let twice = format!(
        "{base}\n[[target]]\nfabric = \"qla2x00t\"\nwwpn = \"{VP}\"\nnpiv_parent = \"{HBA2}\"\n"
    );
    let d = parse_config(&twice).unwrap_err();
    assert_eq!(
        d[0].message,
        format!("duplicate target qla2x00t {VP} (first defined on line {vp_at})")
    );
    // `ferrule check` prints them with file:line:col.
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "c.toml", &chained);
    let r = ferrule(&mut FakeFs::new(), &["check", &path]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains(&format!(
        ":{}:15: error: npiv_parent ",
        base.lines().count() + 5
    )));
}

#[test]
fn the_examples_commented_npiv_target_applies() {
    let ex = example();
    let start = ex.find("# [[target]]\n# fabric = \"qla2x00t\"").unwrap();
    let end = start + ex[start..].find("\n\n").unwrap_or(ex.len() - start);
    let block: String = ex[start..end]
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!(
        "{ex}\n[[device]]\nname = \"vm7-boot\"\nbackend = \"nullio\"\nsize = \"1G\"\n\n{block}\n"
    );
    let c = parse_config(&text).unwrap();
    assert_eq!(
        c.npiv_ports().into_iter().collect::<Vec<_>>(),
        vec![(VP.to_string(), HBA.to_string())]
    );
    let dir = tempfile::tempdir().unwrap();
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", &file(&dir, "e.toml", &text)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs.read(NPIV).unwrap(), format!("{HBA} {VP} vp1"));
    assert_eq!(
        fs.read(&format!("targets/qla2x00t/{VP}/groups/vm7/luns/0/device"))
            .unwrap(),
        "vm7-boot"
    );
}
