//! LUN and membership changes on an enabled local target apply live (the kernel re-resolves
//! the sessions and raises REPORTED LUNS DATA HAS CHANGED): apply neither stops nor restarts
//! the target for them.

mod common;
use common::*;
use ferrule::fs::ConfigFs;

const LOCAL: &str = "targets/local/50:01:40:50:00:00:00:01";

#[test]
fn adding_a_lun_to_a_live_local_target_keeps_it_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "a.toml", &example());
    let mut fs = fake();
    assert_eq!(ferrule(&mut fs, &["apply", &path]).code, 0);
    assert_eq!(fs.read(&format!("{LOCAL}/enable")).unwrap(), "1");

    let grown = example().replace(
        "luns = { 0 = \"null0\" }",
        "luns = { 0 = \"null0\", 1 = \"disk1\" }",
    );
    let path = file(&dir, "b.toml", &grown);
    let r = ferrule(&mut fs, &["apply", "--dry-run", &path]);
    assert_eq!(
        r.stdout,
        format!(
            "+ mkdir {LOCAL}/groups/default/luns/1\n\
             + {LOCAL}/groups/default/luns/1/device = \"disk1\"\n\
             dry run: 1 to create, 1 to set, 0 to remove (nothing was changed)\n"
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

    // Re-pointing a live LUN at another device is refused by the kernel (EBUSY); the plan
    // removes and recreates the LUN instead, still without stopping the target.
    let moved = grown.replace("1 = \"disk1\"", "1 = \"null0\"");
    let path = file(&dir, "c.toml", &moved);
    let r = ferrule(&mut fs, &["apply", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("enable"), "{}", r.stdout);
    assert_eq!(
        fs.read(&format!("{LOCAL}/groups/default/luns/1/device"))
            .unwrap(),
        "null0"
    );
}
