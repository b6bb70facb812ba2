//! Every shipped example is valid; the local example (the admin guide's first target) applies
//! to a fresh module and re-applies as a no-op.

mod common;
use common::*;

#[test]
fn every_example_checks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let r = ferrule(&mut fake(), &["check", p.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}: {}", p.display(), r.stderr);
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn local_example_applies_and_reapplies_as_no_op() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/local.toml");
    let mut fs = fake();
    let r = ferrule(&mut fs, &["apply", path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "ferrule: apply: done, 29 steps (9 to create, 20 to set, 0 to remove)\n"
    );
    let before = fs.clone();
    let r = ferrule(&mut fs, &["apply", path]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("nothing to do"), "{}", r.stdout);
    assert_eq!(fs, before);
}
