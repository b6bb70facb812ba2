//! An enabled local target refuses LUN additions (EBUSY, as the kernel does): apply stops it
//! just before its first change and starts it again last; an unrelated change leaves it up.

mod common;
use common::*;
use ferrule::fs::ConfigFs;

const LOCAL: &str = "targets/local/50:01:40:50:00:00:00:01";

#[test]
fn adding_a_lun_to_a_live_local_target_restarts_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "a.toml", &example());
    let mut fs = fake();
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);

    // The kernel rule, as the fake models it.
    let e = fs
        .mkdir(&format!("{LOCAL}/groups/default/luns/5"))
        .and_then(|_| fs.write(&format!("{LOCAL}/groups/default/luns/5/device"), "disk1"));
    assert_eq!(e.unwrap_err().errno, ferrule::fs::errno::EBUSY);
    fs.rmdir(&format!("{LOCAL}/groups/default/luns/5")).unwrap();

    let grown = example().replace(
        "luns = { 0 = \"null0\" }",
        "luns = { 0 = \"null0\", 1 = \"disk1\" }",
    );
    let path = file(&dir, "b.toml", &grown);
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(
        r.stdout,
        format!(
            "~ {LOCAL}/enable = \"0\" (was \"1\")\n\
             + mkdir {LOCAL}/groups/default/luns/1\n\
             + {LOCAL}/groups/default/luns/1/device = \"disk1\"\n\
             ~ {LOCAL}/enable = \"1\" (was \"0\")\n\
             dry run: 1 to create, 3 to set, 0 to remove (nothing was changed)\n"
        )
    );
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs.read(&format!("{LOCAL}/enable")).unwrap(), "1");
    assert_eq!(
        fs.read(&format!("{LOCAL}/groups/default/luns/1/device"))
            .unwrap(),
        "disk1"
    );

    // A change elsewhere (the FC target's group) does not touch the local target.
    let other = grown.replace("\"10:00:00:90:fa:*\"", "\"10:00:00:90:fb:*\"");
    let path = file(&dir, "c.toml", &other);
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert!(!r.stdout.contains(LOCAL), "{}", r.stdout);
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);
}
