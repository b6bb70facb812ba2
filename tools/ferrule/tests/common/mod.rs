//! Helpers shared by the integration tests: run the CLI against a fake configfs.
#![allow(dead_code)]

use clap::Parser;
use ferrule::cli::{run, Cli, Io};
use ferrule::fake::FakeFs;
use std::path::PathBuf;

/// FC ports the fake HBA has (the example file's target is one of them).
pub const PORTS: [&str; 3] = [
    "21:00:00:24:ff:7e:10:01",
    "21:00:00:24:ff:7e:10:02",
    "21:00:00:24:ff:7e:10:03",
];

pub fn fake() -> FakeFs {
    FakeFs::with_hba_ports(&PORTS)
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `ferrule ARGS...` on `fs`.
pub fn ferrule(fs: &mut FakeFs, args: &[&str]) -> Out {
    let mut argv = vec!["ferrule", "--configfs-root", "/fake/ferrule"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("valid command line");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run(
        &cli,
        fs,
        &mut Io {
            out: &mut out,
            err: &mut err,
        },
    );
    Out {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

/// Writes `text` to a temporary file and returns its path (kept alive by the TempDir).
pub fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p: PathBuf = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

pub fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/ferrule.toml"
    ))
    .unwrap()
}
