//! FC sessions in `ferrule sessions` / `status`, on the fake configfs with logins rendered in
//! the kernel's exact `sessions` format; FC-specific apply refusals (unknown port: ENOENT at
//! mkdir, port gone: ENODEV at enable) leave the tree as it was.

mod common;
use common::*;
use ferrule::fake::FakeFs;
use ferrule::fs::ConfigFs;
use ferrule::model::Fabric;
use ferrule::read::{parse_sessions, SESSIONS_HEADER};
use proptest::prelude::*;
use serde_json::json;

const FC: &str = "targets/qla2x00t/21:00:00:24:ff:7e:10:01";
const LOCAL: &str = "targets/local/50:01:40:50:00:00:00:01";
const ESX_A: &str = "21:00:00:24:ff:31:4c:5a";
const ESX_B: &str = "21:00:00:24:ff:31:4c:5b";
const BACKUP: &str = "10:00:00:90:fa:00:00:07"; // matches the pattern 10:00:00:90:fa:*
const STRANGER: &str = "21:00:00:24:ff:99:99:99";

/// The example applied (FC target on the fake HBA + a local target, both enabled).
fn applied() -> FakeFs {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "f.toml", &example());
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    fs
}

/// Four FC logins (exact members, a pattern member, an unknown WWPN) and one local one.
fn with_logins() -> FakeFs {
    let mut fs = applied();
    fs.log_in(FC, ESX_A, 0x0a0201, "1").unwrap();
    fs.log_in(FC, ESX_B, 0x0a0202, "2").unwrap();
    fs.log_in(FC, BACKUP, 0x0a0300, "129").unwrap();
    fs.log_in(FC, STRANGER, 0x0b0001, "2047").unwrap();
    fs.add_commands(FC, 0x0a0201, 4711);
    fs.add_commands(FC, 0x0a0300, 12);
    fs.log_in(LOCAL, "50:01:40:50:00:00:00:02", 0x010001, "host3")
        .unwrap();
    fs.add_commands(LOCAL, 0x010001, 96);
    fs
}

#[test]
fn fake_renders_the_kernel_format() {
    let fs = with_logins();
    // What `cat .../sessions` shows (RealFs strips the last newline, so does the fake).
    assert_eq!(
        fs.read(&format!("{FC}/sessions")).unwrap(),
        "initiator port_id handle group luns commands\n\
         21:00:00:24:ff:31:4c:5a 0a0201 1 esx 0,1 4711\n\
         21:00:00:24:ff:31:4c:5b 0a0202 2 esx 0,1 0\n\
         10:00:00:90:fa:00:00:07 0a0300 129 backup 0 12\n\
         21:00:00:24:ff:99:99:99 0b0001 2047 default - 0"
    );
    assert_eq!(
        fs.read(&format!("{LOCAL}/sessions")).unwrap(),
        "initiator port_id handle group luns commands\n\
         50:01:40:50:00:00:00:02 010001 host3 default 0 96"
    );
}

#[test]
fn sessions_table_shows_fc_and_local() {
    let mut fs = with_logins();
    let r = ferrule(&mut fs, &["sessions"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        "TARGET                            INITIATOR                N_PORT_ID  HANDLE  GROUP    LUNS  COMMANDS\n\
         local/50:01:40:50:00:00:00:01     50:01:40:50:00:00:00:02  010001     host3   default  0     96\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  21:00:00:24:ff:31:4c:5a  0a0201     1       esx      0,1   4711\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  21:00:00:24:ff:31:4c:5b  0a0202     2       esx      0,1   0\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  10:00:00:90:fa:00:00:07  0a0300     129     backup   0     12\n\
         qla2x00t/21:00:00:24:ff:7e:10:01  21:00:00:24:ff:99:99:99  0b0001     2047    default  -     0\n"
    );
}

#[test]
fn sessions_json_has_typed_handles() {
    let mut fs = with_logins();
    let r = ferrule(&mut fs, &["--json", "sessions"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        j[0],
        json!({
            "fabric": "local", "target": "50:01:40:50:00:00:00:01",
            "initiator": "50:01:40:50:00:00:00:02", "port_id": "010001",
            "handle": "host3", "n_port_handle": null, "scsi_host": 3,
            "group": "default", "luns": [0], "commands": 96
        })
    );
    assert_eq!(
        j[3],
        json!({
            "fabric": "qla2x00t", "target": "21:00:00:24:ff:7e:10:01",
            "initiator": BACKUP, "port_id": "0a0300",
            "handle": "129", "n_port_handle": 129, "scsi_host": null,
            "group": "backup", "luns": [0], "commands": 12
        })
    );
    let fc: Vec<(String, u64)> = j
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["fabric"] == "qla2x00t")
        .map(|s| {
            (
                s["port_id"].as_str().unwrap().to_string(),
                s["n_port_handle"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fc,
        [
            ("0a0201", 1),
            ("0a0202", 2),
            ("0a0300", 129),
            ("0b0001", 2047)
        ]
        .map(|(p, h)| (p.to_string(), h))
    );
}

#[test]
fn status_counts_fc_and_local_sessions() {
    let mut fs = with_logins();
    let r = ferrule(&mut fs, &["status"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.lines().last().unwrap(),
        "sessions: 5 (4 FC, 1 local)"
    );
    let j: serde_json::Value =
        serde_json::from_str(&ferrule(&mut fs, &["--json", "status"]).stdout).unwrap();
    assert_eq!(
        (&j["sessions"], &j["sessions_fc"], &j["sessions_local"]),
        (&json!(5), &json!(4), &json!(1))
    );
}

#[test]
fn targets_without_sessions() {
    let mut fs = applied();
    // A second FC target, never enabled: header only.
    fs.mkdir("targets/qla2x00t/21:00:00:24:ff:7e:10:02")
        .unwrap();
    assert_eq!(
        fs.read("targets/qla2x00t/21:00:00:24:ff:7e:10:02/sessions")
            .unwrap(),
        SESSIONS_HEADER
    );
    let r = ferrule(&mut fs, &["sessions"]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        r.stdout,
        "TARGET  INITIATOR  N_PORT_ID  HANDLE  GROUP  LUNS  COMMANDS\n"
    );
    let r = ferrule(&mut fs, &["--json", "sessions"]);
    assert_eq!(r.stdout.trim(), "[]");
    let r = ferrule(&mut fs, &["status"]);
    assert_eq!(
        r.stdout.lines().last().unwrap(),
        "sessions: 0 (0 FC, 0 local)"
    );
    // A disabled target rejects logins, and disabling ends the sessions it had.
    assert!(fs
        .log_in(
            "targets/qla2x00t/21:00:00:24:ff:7e:10:02",
            ESX_A,
            0x0a0201,
            "1"
        )
        .is_err());
    fs.log_in(FC, ESX_A, 0x0a0201, "1").unwrap();
    fs.write(&format!("{FC}/enable"), "0").unwrap();
    assert_eq!(fs.read(&format!("{FC}/sessions")).unwrap(), SESSIONS_HEADER);
}

#[test]
fn identity_changes_show_in_the_table() {
    let mut fs = applied();
    fs.log_in(FC, ESX_A, 0x0a0201, "1").unwrap();
    // Another WWPN on A's N_Port ID (and so the same firmware handle) replaces A's session.
    fs.log_in(FC, STRANGER, 0x0a0201, "1").unwrap();
    let rows = |fs: &mut FakeFs| {
        let j: serde_json::Value =
            serde_json::from_str(&ferrule(fs, &["--json", "sessions"]).stdout).unwrap();
        j.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                format!(
                    "{} {} {} {}",
                    s["initiator"].as_str().unwrap(),
                    s["port_id"].as_str().unwrap(),
                    s["n_port_handle"],
                    s["group"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&mut fs), ["21:00:00:24:ff:99:99:99 0a0201 1 default"]);
    // A at a new N_Port ID and handle: a second session, in A's group.
    fs.log_in(FC, ESX_A, 0x0a0202, "2").unwrap();
    assert_eq!(
        rows(&mut fs),
        [
            "21:00:00:24:ff:99:99:99 0a0201 1 default",
            "21:00:00:24:ff:31:4c:5a 0a0202 2 esx"
        ]
    );
    // Live ACL change: A leaves esx and re-resolves to default (no LUNs).
    fs.rmdir(&format!("{FC}/groups/esx/initiators/{ESX_A}"))
        .unwrap();
    assert_eq!(rows(&mut fs)[1], "21:00:00:24:ff:31:4c:5a 0a0202 2 default");
    // LOGO of the stranger.
    assert!(fs.log_out(FC, 0x0a0201));
    assert_eq!(rows(&mut fs).len(), 1);
}

#[test]
fn garbage_lines_are_reported_not_fatal() {
    let mut fs = applied();
    fs.set_sessions(
        FC,
        "initiator port_id handle group luns commands\n\
         21:00:00:24:ff:31:4c:5a 0a0201 1 esx 0,1 4711\n\
         garbage\n\
         21:00:00:24:ff:31:4c:5b 0a0202 host3 esx 0,1 0\n\
         21:00:00:24:ff:31:4c:5b 0a02 2 esx 0,1 0\n\
         21:00:00:24:ff:31:4c:5b 0a0202 0x81 esx 0,1 0\n\
         21:00:00:24:ff:31:4c:5b 0a0202 2 esx 256 0\n\
         21:00:00:24:ff:31:4c:5b 0a0202 2 esx 0 -1\n\
         21:00:00:24:ff:31:4c:5b 0a0202 2 esx 0 1 extra\n\
         \n\
         10:00:00:90:fa:00:00:07 0A0300 65535 backup 0 7\n",
    );
    fs.set_sessions(
        LOCAL,
        "initiator port_id handle group luns commands\n\
         50:01:40:50:00:00:00:02 010001 7 default 0 96\n\
         50:01:40:50:00:00:00:02 010001 host3 default 0 96\n",
    );
    let r = ferrule(&mut fs, &["sessions"]);
    assert_eq!(r.code, 0);
    let err: Vec<&str> = r.stderr.lines().collect();
    let p =
        |path: &str, l: &str| format!("ferrule: sessions: unparsed line in {path}/sessions: {l}");
    assert_eq!(
        err,
        [
            p(
                LOCAL,
                "line 2: \"50:01:40:50:00:00:00:02 010001 7 default 0 96\""
            ),
            p(FC, "line 3: \"garbage\""),
            p(
                FC,
                "line 4: \"21:00:00:24:ff:31:4c:5b 0a0202 host3 esx 0,1 0\""
            ),
            p(FC, "line 5: \"21:00:00:24:ff:31:4c:5b 0a02 2 esx 0,1 0\""),
            p(
                FC,
                "line 6: \"21:00:00:24:ff:31:4c:5b 0a0202 0x81 esx 0,1 0\""
            ),
            p(FC, "line 7: \"21:00:00:24:ff:31:4c:5b 0a0202 2 esx 256 0\""),
            p(FC, "line 8: \"21:00:00:24:ff:31:4c:5b 0a0202 2 esx 0 -1\""),
            p(
                FC,
                "line 9: \"21:00:00:24:ff:31:4c:5b 0a0202 2 esx 0 1 extra\""
            ),
        ]
    );
    // The good lines still show.
    let rows: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{}", r.stdout);
    assert!(rows[0].starts_with(
        "local/50:01:40:50:00:00:00:01     50:01:40:50:00:00:00:02  010001     host3"
    ));
    assert!(
        rows[2].contains("  0a0300     65535   backup"),
        "{}",
        rows[2]
    );
    // status counts the good ones and warns about the rest.
    let r = ferrule(&mut fs, &["status"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout.lines().last().unwrap(),
        "sessions: 3 (2 FC, 1 local)"
    );
    assert_eq!(r.stderr.lines().count(), 8, "{}", r.stderr);
    // A header the CLI does not know (a kernel with another column) is reported too.
    fs.set_sessions(
        FC,
        "initiator port_id handle group luns commands state\n\
         21:00:00:24:ff:31:4c:5a 0a0201 1 esx 0,1 4711 active\n",
    );
    let r = ferrule(&mut fs, &["--json", "sessions"]);
    assert_eq!(r.code, 0);
    assert!(r
        .stderr
        .contains("line 1: \"initiator port_id handle group luns commands state\""));
    assert!(r.stderr.contains("line 2: "));
}

/// apply on a host whose HBA does not have the file's FC port: refused at the first step
/// with the kernel's errno and reason, the tree exactly as before.
#[test]
fn unknown_fc_port_is_rejected_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "f.toml", &example());
    let mut fs = FakeFs::with_hba_ports(&["21:00:00:24:ff:7e:10:02"]);
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ferrule: apply: targets/qla2x00t/21:00:00:24:ff:7e:10:01: No such file or directory \
         (ENOENT: no FC port has this WWPN) (mkdir)\n\
         ferrule: apply: stopped at the first step; nothing was changed\n"
    );
    assert_eq!(fs, before);

    // Two new FC targets, the second unknown: the first is made, then removed again.
    let two = format!(
        "{}\n[[target]]\nfabric = \"qla2x00t\"\nwwpn = \"21:00:00:24:ff:7e:10:09\"\n",
        example().replace("21:00:00:24:ff:7e:10:01", "21:00:00:24:ff:7e:10:02")
    );
    let path = file(&dir, "two.toml", &two);
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "ferrule: apply: targets/qla2x00t/21:00:00:24:ff:7e:10:09: No such file or directory \
         (ENOENT: no FC port has this WWPN) (mkdir)\n\
         ferrule: apply: stopped; the 1 FC target(s) made before it were removed again; nothing was changed\n"
    );
    fs.mutations = before.mutations; // a mkdir and its rmdir
    assert_eq!(fs, before);
    // The dry run lists the FC target first and changes nothing.
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stdout.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:10:02",
            "+ mkdir targets/qla2x00t/21:00:00:24:ff:7e:10:09",
            "+ mkdir devices/disk1"
        ]
    );
    assert_eq!(fs, before);
}

/// The HBA went away after its target was made: enabling it is ENODEV; what came before the
/// enable is applied (and listed), the target stays disabled.
#[test]
fn enable_without_the_hba_is_enodev() {
    let dir = tempfile::tempdir().unwrap();
    let mut fs = applied();
    fs.write(&format!("{FC}/enable"), "0").unwrap();
    fs.hba_ports.retain(|p| p != "21:00:00:24:ff:7e:10:01");
    let path = file(&dir, "f.toml", &example());
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 1);
    let err: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        err[0],
        "ferrule: apply: targets/qla2x00t/21:00:00:24:ff:7e:10:01/enable: No such device \
         (ENODEV: no FC port with this WWPN) (writing \"1\")"
    );
    assert_eq!(
        err[1],
        "ferrule: apply: stopped at the first step; nothing was changed"
    );
    assert_eq!(fs.read(&format!("{FC}/enable")).unwrap(), "0");
}

/// A `sessions` line as the kernel writes it (target_engine.rs `sessions`).
fn kernel_line(
    wwpn: u64,
    port_id: u32,
    handle: &str,
    group: &str,
    luns: &[u8],
    commands: u64,
) -> String {
    let w: Vec<String> = wwpn
        .to_be_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let l: Vec<String> = luns.iter().map(u8::to_string).collect();
    format!(
        "{} {:06x} {handle} {group} {}{} {commands}",
        w.join(":"),
        port_id,
        l.join(","),
        if l.is_empty() { "-" } else { "" }
    )
}

proptest! {
    /// Whatever the kernel prints parses back to the same fields, on both fabrics.
    #[test]
    fn kernel_lines_round_trip(
        rows in proptest::collection::vec((
            1u64..,
            0u32..0x0100_0000,
            any::<u16>(),
            any::<u32>(),
            "[A-Za-z0-9_.:-]{1,32}",
            proptest::collection::btree_set(any::<u8>(), 0..8),
            any::<u64>(),
        ), 0..6),
        fc in any::<bool>(),
    ) {
        let fabric = if fc { Fabric::Qla2x00t } else { Fabric::Local };
        let mut text = format!("{SESSIONS_HEADER}\n");
        for (w, p, h, host, g, luns, c) in &rows {
            let handle = if fc { h.to_string() } else { format!("host{host}") };
            let luns: Vec<u8> = luns.iter().copied().collect();
            text.push_str(&kernel_line(*w, *p, &handle, g, &luns, *c));
            text.push('\n');
        }
        let (got, bad) = parse_sessions(fabric, "t", text.trim_end_matches('\n'));
        prop_assert!(bad.is_empty(), "{:?}", bad);
        prop_assert_eq!(got.len(), rows.len());
        for (s, (w, p, h, host, g, luns, c)) in got.iter().zip(&rows) {
            prop_assert_eq!(&s.port_id, &format!("{p:06x}"));
            prop_assert_eq!(
                u64::from_str_radix(&s.initiator.replace(':', ""), 16).unwrap(),
                *w
            );
            if fc {
                prop_assert_eq!(s.n_port_handle, Some(*h));
                prop_assert_eq!(s.scsi_host, None);
            } else {
                prop_assert_eq!(s.scsi_host, Some(*host));
                prop_assert_eq!(s.n_port_handle, None);
            }
            prop_assert_eq!(&s.group, g);
            prop_assert_eq!(&s.luns, &luns.iter().copied().collect::<Vec<u8>>());
            prop_assert_eq!(s.commands, *c);
        }
    }
}
