//! apply / save / check against the fake configfs.

mod common;
use common::*;
use ferrule::fs::ConfigFs;
use ferrule::parse::parse_config;
use ferrule::read::read_config;

#[test]
fn example_applies_then_saves_and_reapplies_as_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "ferrule.toml", &example());
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("ferrule: apply: done, "),
        "{}",
        r.stdout
    );

    // The tree holds exactly what the file says.
    let t = "targets/qla2x00t/21:00:00:24:ff:7e:10:01";
    assert_eq!(fs.read(&format!("{t}/enable")).unwrap(), "1");
    assert_eq!(
        fs.read(&format!("{t}/groups/esx/luns/1/device")).unwrap(),
        "disk2"
    );
    assert_eq!(
        fs.read(&format!("{t}/groups/esx/luns/1/read_only"))
            .unwrap(),
        "1"
    );
    assert!(fs.exists(&format!("{t}/groups/backup/initiators/10:00:00:90:fa:*")));
    assert_eq!(
        fs.read("devices/disk1/size").unwrap(),
        (10u64 << 30).to_string()
    );
    assert_eq!(fs.read("devices/disk1/enable").unwrap(), "1");
    assert_eq!(fs.read("devices/disk2/block_size").unwrap(), "4096");
    assert_eq!(fs.read("devices/null0/product").unwrap(), "Scratch");
    assert_eq!(
        fs.read("targets/local/50:01:40:50:00:00:00:01/initiator")
            .unwrap(),
        "50:01:40:50:00:00:00:02"
    );

    // Applying again is a no-op: no writes at all.
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);
    assert_eq!(fs, before);

    // save → the same configuration (after normalisation), and applying the saved file to a
    // fresh module yields the same tree.
    let saved = ferrule(&mut fs, &["save"]);
    assert_eq!(saved.code, 0);
    let saved_cfg = parse_config(&saved.stdout).expect("saved file is valid");
    let mut want = parse_config(&example()).unwrap();
    // Attributes the file left to the kernel come back with the kernel's values.
    for d in &mut want.devices {
        let got = saved_cfg.device(&d.name).unwrap();
        d.serial = d.serial.clone().or(got.serial.clone());
        d.write_cache = d.write_cache.or(got.write_cache);
        if d.backend == ferrule::model::Backend::Blockio {
            d.size = None;
        }
    }
    assert_eq!(saved_cfg.normalised(), want.normalised());
    let saved_path = file(&dir, "saved.toml", &saved.stdout);
    let mut fresh = fake();
    assert_eq!(ferrule(&mut fresh, &["apply", &saved_path]).code, 0);
    assert_eq!(read_config(&fresh).unwrap(), read_config(&fs).unwrap());
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "f.toml", &example());
    let mut fs = fake();
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs, before);
    let lines: Vec<&str> = r.stdout.lines().collect();
    // The new FC target first: only the kernel knows whether its port exists.
    assert_eq!(lines[0], "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:10:01");
    assert_eq!(lines[1], "+ mkdir devices/disk1");
    assert_eq!(lines[2], "+ devices/disk1/backend = \"fileio\"");
    assert!(lines.contains(&"+ devices/disk1/size = \"10737418240\""));
    assert!(lines.contains(&"+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:10:01/groups/esx"));
    assert_eq!(
        lines[lines.len() - 2],
        "+ targets/local/50:01:40:50:00:00:00:01/enable = \"1\""
    );
    assert!(
        lines.last().unwrap().starts_with("dry run: "),
        "{}",
        r.stdout
    );

    // A change shows old and new values.
    ferrule(&mut fs, &["apply", &path]);
    let changed = example().replace("size = \"10G\"", "size = \"20G\"");
    let path2 = file(&dir, "g.toml", &changed);
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", "-n", &path2]);
    assert_eq!(fs, before);
    assert_eq!(
        r.stdout.lines().next().unwrap(),
        "~ devices/disk1/size = \"21474836480\" (was \"10737418240\")"
    );
}

#[test]
fn invalid_file_is_rejected_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = example().replace("luns = { 0 = \"null0\" }", "luns = { 0 = \"null1\" }");
    let path = file(&dir, "bad.toml", &bad);
    let mut fs = fake();
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 1);
    assert_eq!(fs, before);
    assert!(
        r.stderr.contains(
            "bad.toml:62:14: error: LUN 0 maps unknown device \"null1\"; did you mean \"null0\"?"
        ),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("is invalid; nothing was changed"));
}

#[test]
fn kernel_error_names_the_attribute_and_what_was_applied() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = r#"
[[device]]
name = "a"
backend = "nullio"
size = "1M"

[[device]]
name = "disk1"
backend = "fileio"
path = "/missing/disk1.img"
"#;
    let path = file(&dir, "f.toml", cfg);
    let mut fs = fake();
    fs.missing_paths.insert("/missing/disk1.img".into());
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 1);
    let err: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        err[0],
        "ferrule: apply: devices/disk1/enable: No such file or directory (ENOENT: cannot open /missing/disk1.img) (writing \"1\")"
    );
    assert_eq!(
        err[1],
        "ferrule: apply: stopped; 7 of 8 steps were already applied:"
    );
    assert_eq!(err[2], "  + mkdir devices/a");
    assert_eq!(err.len(), 9);
    // What was applied is really there; the failed enable is not.
    assert_eq!(fs.read("devices/a/enable").unwrap(), "1");
    assert_eq!(fs.read("devices/disk1/enable").unwrap(), "0");

    // An invalid value: the attribute and the value written are named.
    let mut fs = fake();
    fs.fail_on = Some(("devices/a/size".into(), ferrule::fs::errno::EINVAL));
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 1);
    assert!(r
        .stderr
        .starts_with("ferrule: apply: devices/a/size: Invalid argument (EINVAL: injected failure) (writing \"1048576\")\n"));
}

#[test]
fn check_reports_all_errors_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"[[device]]
name = "disk1"
backend = "fileio"
path = "/x.img"
size = "1000"
sise = 3

[[device]]
name = "disk1"
backend = "nullio"
size = "1G"

[[target]]
fabric = "qla2x00t"
wwpn = "21:00:00:24:fg:31:4c:5a"

[[target]]
fabric = "qla2x00t"
wwpn = "21:00:00:24:ff:31:4c:5a"
[[target.group]]
name = "a"
initiators = ["21:00:00:24:ff:31:4c:5b"]
luns = { 0 = "disk1", 256 = "disk1" }
[[target.group]]
name = "b"
initiators = ["21:00:00:24:FF:31:4C:5B"]
"#;
    let path = file(&dir, "c.toml", text);
    let mut fs = fake();
    let r = ferrule(&mut fs, &["check", &path]);
    assert_eq!(r.code, 1);
    let got: Vec<String> = r
        .stderr
        .lines()
        .map(|l| l.replacen(&path, "F", 1))
        .collect();
    assert_eq!(
        got,
        vec![
            "F:5:8: error: size 1000 is not a multiple of block_size 512 (488 bytes too many)",
            "F:6:1: error: unknown key `sise` in [[device]]; did you mean `size`?",
            "F:9:8: error: duplicate device name \"disk1\" (first defined on line 2)",
            "F:15:8: error: target bad WWPN \"21:00:00:24:fg:31:4c:5a\": 'g' at position 14 is not a hex digit",
            "F:23:23: error: LUN 256 is out of range (0..255)",
            "F:26:15: error: initiator 21:00:00:24:ff:31:4c:5b is in two groups of target 21:00:00:24:ff:31:4c:5a: \"a\" (line 22) and \"b\"",
            "F: 6 error(s)",
        ]
    );
    let j = ferrule(&mut fs, &["--json", "check", &path]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][1]["line"], 6);
    assert_eq!(v["errors"][1]["column"], 1);

    let ok = file(&dir, "ok.toml", &example());
    let r = ferrule(&mut fs, &["check", &ok]);
    assert_eq!(
        (r.code, r.stdout),
        (0, format!("{ok}: ok (3 devices, 2 targets)\n"))
    );
}

#[test]
fn syntax_errors_have_positions() {
    let e = parse_config("[[device]]\nname = \"a\nbackend = 1\n").unwrap_err();
    assert_eq!(e.len(), 1, "syntax errors only: {e:?}");
    assert_eq!((e[0].line, e[0].column), (2, 10), "{e:?}");
    assert!(e[0].message.contains("basic string"), "{e:?}");
    let e = parse_config("[device]\nname = \"a\"\n").unwrap_err();
    assert!(
        e[0].message.contains("write [[device]], not [device]"),
        "{e:?}"
    );
}

#[test]
fn semantic_checks() {
    let cases: &[(&str, &str)] = &[
        (
            "[[device]]\nname=\"a\"\nbackend=\"blockio\"\npath=\"/dev/sdb\"\nsize=\"1G\"\n",
            "blockio takes its size from the block device",
        ),
        ("[[device]]\nname=\"a\"\nbackend=\"fileio\"\n", "fileio needs `path`"),
        (
            "[[device]]\nname=\"a/b\"\nbackend=\"nullio\"\nsize=\"1G\"\n",
            "'/' at position 2 is not allowed",
        ),
        (
            "[[device]]\nname=\"a\"\nbackend=\"nullio\"\nsize=\"1G\"\nblock_size=1024\n",
            "block_size 1024 is not 512 or 4096",
        ),
        (
            "[[device]]\nname=\"a\"\nbackend=\"nullio\"\nsize=\"1G\"\nvendor=\"ABCDEFGHI\"\n",
            "`vendor` is 9 characters, at most 8",
        ),
        (
            "[[target]]\nfabric=\"local\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n",
            "a local target needs `initiator`",
        ),
        (
            "[[target]]\nfabric=\"fcoe\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n",
            "unknown fabric \"fcoe\"",
        ),
        (
            "[[target]]\nfabric=\"qla2x00t\"\nwwpn=\"50:01:40:50:00:00:00:01\"\nrel_port=0\n",
            "rel_port 0 is not in 1..65535",
        ),
        (
            "[[target]]\nfabric=\"qla2x00t\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n[[target.group]]\nname=\"default\"\ninitiators=[\"*\"]\n",
            "cannot list initiators",
        ),
        (
            "[[target]]\nfabric=\"qla2x00t\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n[[target.group]]\nname=\"g\"\ninitiators=[\"21:00:0*\"]\n",
            "use whole byte groups then '*'",
        ),
        (
            "[[target]]\nfabric=\"qla2x00t\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n[[target.group]]\nname=\"g\"\n[[target.group]]\nname=\"g\"\n",
            "duplicate group \"g\"",
        ),
        (
            "[[device]]\nname=\"a\"\nbackend=\"nullio\"\nsize=\"1G\"\nenabled=false\n[[target]]\nfabric=\"qla2x00t\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n[[target.group]]\nname=\"default\"\nluns={0=\"a\"}\n",
            "which has enabled = false, into an enabled target",
        ),
        (
            "[[target]]\nfabric=\"qla2x00t\"\nwwpn=\"50:01:40:50:00:00:00:01\"\n[[target.group]]\nname=\"g\"\nluns={x=\"a\"}\n",
            "LUN key \"x\" must be a number 0..255",
        ),
    ];
    for (text, want) in cases {
        let e = parse_config(text).unwrap_err();
        assert!(
            e.iter().any(|d| d.message.contains(want)),
            "{text}\nwant {want:?}\ngot {e:?}"
        );
    }
}

#[test]
fn changes_are_ordered_so_the_strict_fake_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = fake();
    let p1 = file(&dir, "1.toml", &example());
    assert_eq!(ferrule(&mut fs, &["apply", &p1]).code, 0);
    // Reopen a mapped device (block_size only changes while disabled, and the target maps
    // it), move an initiator between groups, swap a LUN's device, drop a group and a device.
    let v2 = example()
        .replace("block_size = 4096\n", "block_size = 512\n")
        .replace(
            "initiators = [\"21:00:00:24:ff:31:4c:5a\", \"21:00:00:24:ff:31:4c:5b\"]",
            "initiators = [\"21:00:00:24:ff:31:4c:5a\"]",
        )
        .replace(
            "initiators = [\"10:00:00:90:fa:*\"]",
            "initiators = [\"10:00:00:90:fa:*\", \"21:00:00:24:ff:31:4c:5b\"]",
        )
        .replace("luns = { 0 = \"disk1\", 1 = { device = \"disk2\", read_only = true } }", "luns = { 0 = \"null0\" }")
        .replace(
            "[[target]]\nfabric = \"local\"\nwwpn = \"50:01:40:50:00:00:00:01\"\ninitiator = \"50:01:40:50:00:00:00:02\"\n\n[[target.group]]\nname = \"default\"\nluns = { 0 = \"null0\" }\n",
            "",
        );
    let v2 = v2.replace(
        "[[device]]\nname = \"disk1\"\nbackend = \"fileio\"\npath = \"/var/lib/ferrule/disk1.img\"\nsize = \"10G\"                 # bytes, or K/M/G/T/P (powers of 1024); multiple of block_size\nwrite_cache = true           # write-back: SYNCHRONIZE CACHE flushes\nthin = true                  # UNMAP punches holes in the file\nserial = \"FERRULE-DISK1\"     # VPD unit serial; the NAA identifier is derived from it\n",
        "",
    );
    assert!(
        !v2.contains("disk1.img") && !v2.contains("fabric = \"local\""),
        "edits applied"
    );
    let p2 = file(&dir, "2.toml", &v2);
    let r = ferrule(&mut fs, &["apply", "-n", &p2]);
    let t = "targets/qla2x00t/21:00:00:24:ff:7e:10:01";
    let order: Vec<&str> = r.stdout.lines().collect();
    let pos = |s: &str| {
        order
            .iter()
            .position(|l| *l == s)
            .unwrap_or_else(|| panic!("{s} not in plan:\n{}", r.stdout))
    };
    assert!(
        pos(&format!(
            "- rmdir {t}/groups/esx/initiators/21:00:00:24:ff:31:4c:5b"
        )) < pos(&format!(
            "+ mkdir {t}/groups/backup/initiators/21:00:00:24:ff:31:4c:5b"
        ))
    );
    assert!(
        pos(&format!("~ {t}/enable = \"0\" (was \"1\")"))
            < pos("~ devices/disk2/enable = \"0\" (was \"1\")")
    );
    assert!(
        pos("~ devices/disk2/block_size = \"512\" (was \"4096\")")
            < pos(&format!("~ {t}/enable = \"1\" (was \"0\")"))
    );
    assert!(pos("- rmdir devices/disk1") > pos(&format!("- rmdir {t}/groups/esx/luns/0")));
    let r = ferrule(&mut fs, &["apply", &p2]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let want = parse_config(&v2).unwrap();
    let got = read_config(&fs).unwrap();
    assert_eq!(got.targets.len(), 1);
    assert!(got.device("disk1").is_none());
    assert_eq!(got.device("disk2").unwrap().block_size, Some(512));
    assert_eq!(
        got.targets[0]
            .groups
            .iter()
            .find(|g| g.name == "esx")
            .unwrap()
            .luns,
        want.targets[0].groups[1].luns
    );
    assert!(ferrule(&mut fs, &["apply", "-n", &p2])
        .stdout
        .contains("nothing to do"));

    // Removing everything leaves only the default groups.
    let empty = file(&dir, "empty.toml", "");
    assert_eq!(ferrule(&mut fs, &["apply", &empty]).code, 0);
    assert_eq!(fs, {
        let mut f = fake();
        f.mutations = fs.mutations;
        f
    });
}
