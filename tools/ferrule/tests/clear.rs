//! `ferrule clear`: the service's stop — every target disabled before anything is removed,
//! then the whole tree back to a freshly loaded module.

mod common;
use common::*;
use ferrule::fs::ConfigFs;

const QLA: &str = "targets/qla2x00t/21:00:00:24:ff:7e:10:01";
const LOCAL: &str = "targets/local/50:01:40:50:00:00:00:01";

fn applied() -> ferrule::fake::FakeFs {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "ferrule.toml", &example());
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    fs
}

#[test]
fn dry_run_disables_every_target_first_and_changes_nothing() {
    let mut fs = applied();
    let before = fs.clone();
    let r = ferrule(&mut fs, &["clear", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs, before);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], format!("~ {LOCAL}/enable = \"0\" (was \"1\")"));
    assert_eq!(lines[1], format!("~ {QLA}/enable = \"0\" (was \"1\")"));
    // Nothing is removed before both targets are down; devices go last.
    let first_rmdir = lines.iter().position(|l| l.starts_with("- rmdir")).unwrap();
    assert_eq!(first_rmdir, 2);
    let last_target_rmdir = lines
        .iter()
        .rposition(|l| l.starts_with("- rmdir targets/"))
        .unwrap();
    let first_device = lines.iter().position(|l| l.contains(" devices/")).unwrap();
    assert!(last_target_rmdir < first_device, "{}", r.stdout);
    assert_eq!(
        *lines.last().unwrap(),
        "dry run: 0 to create, 5 to set, 14 to remove (nothing was changed)"
    );
}

#[test]
fn clear_returns_to_a_freshly_loaded_module_and_is_idempotent() {
    let mut fs = applied();
    let r = ferrule(&mut fs, &["clear"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "ferrule: clear: done, 19 steps (0 to create, 5 to set, 14 to remove)\n"
    );
    let mut fresh = fake();
    fresh.mutations = fs.mutations;
    assert_eq!(fs.paths(), fresh.paths());

    let before = fs.clone();
    let r = ferrule(&mut fs, &["clear"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout,
        "ferrule: clear: nothing to do; no configuration\n"
    );
    assert_eq!(fs, before);
}

#[test]
fn refused_step_reports_what_was_done() {
    let mut fs = applied();
    fs.fail_on = Some((format!("{QLA}/enable"), ferrule::fs::errno::EBUSY));
    let r = ferrule(&mut fs, &["clear"]);
    assert_eq!(r.code, 1);
    let err: Vec<&str> = r.stderr.lines().collect();
    assert!(
        err[0].starts_with(&format!("ferrule: clear: {QLA}/enable: ")),
        "{}",
        r.stderr
    );
    assert_eq!(
        err[1],
        "ferrule: clear: stopped; 1 of 19 steps were already applied:"
    );
    assert_eq!(err[2], format!("  ~ {LOCAL}/enable = \"0\" (was \"1\")"));
    assert_eq!(fs.read(&format!("{LOCAL}/enable")).unwrap(), "0");
    assert_eq!(fs.read(&format!("{QLA}/enable")).unwrap(), "1");
}

#[test]
fn module_not_loaded_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let cli = <ferrule::cli::Cli as clap::Parser>::try_parse_from([
        "ferrule",
        "--configfs-root",
        missing.to_str().unwrap(),
        "clear",
    ])
    .unwrap();
    let mut real = ferrule::fs::RealFs::new(&missing);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ferrule::cli::run(
        &cli,
        &mut real,
        &mut ferrule::cli::Io {
            out: &mut out,
            err: &mut err,
        },
    );
    assert_eq!(code, ferrule::cli::EXIT_NOT_LOADED);
    assert!(String::from_utf8(err)
        .unwrap()
        .contains("is the module loaded"));
}
