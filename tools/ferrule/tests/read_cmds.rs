//! status / devices / sessions (tables and --json), completions and man page.

mod common;
use common::*;

fn loaded() -> ferrule::fake::FakeFs {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "f.toml", &example());
    let mut fs = fake();
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);
    fs.set_sessions(
        "targets/qla2x00t/21:00:00:24:ff:7e:10:01",
        "initiator port_id handle group luns commands\n\
         21:00:00:24:ff:31:4c:5a 010A00 1 esx 0,1 4711\n\
         21:00:00:24:ff:31:4c:5b 010B00 2 esx 0,1 0\n\
         21:00:00:24:ff:99:99:99 010C00 3 default - 0\n",
    );
    fs
}

#[test]
fn status_counts() {
    let mut fs = loaded();
    let r = ferrule(&mut fs, &["status"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "ferrule 0.1.0 loaded (/fake/ferrule)\n\
         devices:  3 (3 enabled)\n\
         targets:  2 (2 enabled)\n\
         groups:   4\n\
         LUNs:     4\n\
         sessions: 3 (3 FC, 0 local)\n"
    );
    let j: serde_json::Value =
        serde_json::from_str(&ferrule(&mut fs, &["status", "--json"]).stdout).unwrap();
    assert_eq!(j["loaded"], true);
    assert_eq!(j["version"], "0.1.0");
    assert_eq!(j["sessions"], 3);
    assert_eq!(j["sessions_fc"], 3);
    assert_eq!(j["sessions_local"], 0);
    assert_eq!(j["sessions_unparsed"], serde_json::json!([]));
    assert_eq!(j["luns"], 4);
}

#[test]
fn not_loaded_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ferrule");
    let cli = <ferrule::cli::Cli as clap::Parser>::try_parse_from([
        "ferrule",
        "--configfs-root",
        root.to_str().unwrap(),
        "--json",
        "status",
    ])
    .unwrap();
    let mut fs = ferrule::fs::RealFs::new(&root);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ferrule::cli::run(
        &cli,
        &mut fs,
        &mut ferrule::cli::Io {
            out: &mut out,
            err: &mut err,
        },
    );
    assert_eq!(code, 3);
    let j: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(j["loaded"], false);
    let cli = <ferrule::cli::Cli as clap::Parser>::try_parse_from([
        "ferrule",
        "--configfs-root",
        root.to_str().unwrap(),
        "devices",
    ])
    .unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ferrule::cli::run(
        &cli,
        &mut fs,
        &mut ferrule::cli::Io {
            out: &mut out,
            err: &mut err,
        },
    );
    assert_eq!(code, 3);
    assert!(String::from_utf8(err)
        .unwrap()
        .contains("is the module loaded"));
}

#[test]
fn devices_table_and_json() {
    let mut fs = loaded();
    let r = ferrule(&mut fs, &["devices"]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        vec![
            "NAME   BACKEND  SIZE   BS    STATE    FLAGS    PATH                                    LUNS  SERIAL",
            "disk1  fileio   10.0G  512   enabled  wb,thin  /var/lib/ferrule/disk1.img              1     FERRULE-DISK1",
            "disk2  blockio  1.0G   4096  enabled  -        /dev/disk/by-id/wwn-0x5000c500a1b2c3d4  2     FERCC85AC22",
            "null0  nullio   1.0T   512   enabled  wb       -                                       1     FERF47BF9FC",
        ]
    );
    let j: serde_json::Value =
        serde_json::from_str(&ferrule(&mut fs, &["--json", "devices"]).stdout).unwrap();
    assert_eq!(j[0]["name"], "disk1");
    assert_eq!(j[0]["size"], 10u64 << 30);
    assert_eq!(j[0]["backend"], "fileio");
    assert_eq!(
        j[1]["mapped_by"],
        serde_json::json!([
            "21:00:00:24:ff:7e:10:01/backup/0",
            "21:00:00:24:ff:7e:10:01/esx/1"
        ])
    );
}

#[test]
fn sessions_table_and_json() {
    let mut fs = loaded();
    let r = ferrule(&mut fs, &["sessions"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "TARGET                            INITIATOR                N_PORT_ID  HANDLE  GROUP    LUNS  COMMANDS\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  21:00:00:24:ff:31:4c:5a  010a00     1       esx      0,1   4711\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  21:00:00:24:ff:31:4c:5b  010b00     2       esx      0,1   0\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  21:00:00:24:ff:99:99:99  010c00     3       default  -     0\n"
    );
    let j: serde_json::Value =
        serde_json::from_str(&ferrule(&mut fs, &["sessions", "--json"]).stdout).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 3);
    assert_eq!(j[0]["port_id"], "010a00");
    assert_eq!(j[0]["luns"], serde_json::json!([0, 1]));
    assert_eq!(j[0]["commands"], 4711);
    // A line in an unknown format is reported, not silently dropped.
    fs.set_sessions(
        "targets/local/50:01:40:50:00:00:00:01",
        "initiator port_id handle group luns commands\nweird\n",
    );
    let r = ferrule(&mut fs, &["sessions"]);
    assert!(
        r.stderr.contains(
            "unparsed line in targets/local/50:01:40:50:00:00:00:01/sessions: line 2: \"weird\""
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn save_to_file_and_completions_and_manpage() {
    let mut fs = loaded();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("saved.toml");
    let r = ferrule(&mut fs, &["save", out.to_str().unwrap()]);
    assert_eq!(r.code, 0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# Ferrule configuration saved from /fake/ferrule"));
    assert!(
        text.contains("luns = { 0 = \"disk1\", 1 = { device = \"disk2\", read_only = true } }"),
        "{text}"
    );
    let r = ferrule(&mut fs, &["completions", "bash"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("_ferrule()") && r.stdout.contains("--dry-run"));
    let r = ferrule(&mut fs, &["manpage"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains(".TH ferrule") && r.stdout.contains("configfs\\-root"),
        "{}",
        &r.stdout[..200]
    );
}

#[test]
fn committed_man_page_and_completions_are_current() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut fs = fake();
    for (args, path) in [
        (vec!["manpage"], "Documentation/man/ferrule.8"),
        (
            vec!["completions", "bash"],
            "tools/ferrule/completions/ferrule.bash",
        ),
        (
            vec!["completions", "zsh"],
            "tools/ferrule/completions/ferrule.zsh",
        ),
        (
            vec!["completions", "fish"],
            "tools/ferrule/completions/ferrule.fish",
        ),
    ] {
        let generated = ferrule(&mut fs, &args).stdout;
        let committed = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        assert!(
            generated == committed,
            "{path} is stale: run `make cli-docs`"
        );
    }
}
