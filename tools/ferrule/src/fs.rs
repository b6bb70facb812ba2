//! The configfs operations the CLI needs, behind a trait so tests can run on an in-memory fake.
//!
//! Paths are relative to the Ferrule root (`devices/disk1/size`), '/'-separated.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// errno values the kernel side returns (Linux numbering).
pub mod errno {
    /// No such file or directory / unknown reference.
    pub const ENOENT: i32 = 2;
    /// Operation not permitted (rmdir of a default group).
    pub const EPERM: i32 = 1;
    /// Permission denied (write to a read-only attribute).
    pub const EACCES: i32 = 13;
    /// Busy: not allowed in the current state.
    pub const EBUSY: i32 = 16;
    /// Already exists.
    pub const EEXIST: i32 = 17;
    /// Not a directory.
    pub const ENOTDIR: i32 = 20;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// No space: a fixed-size table is full.
    pub const ENOSPC: i32 = 28;
    /// Directory not empty.
    pub const ENOTEMPTY: i32 = 39;
    /// No such device: the FC port of an FC target is gone (`enable 1`).
    pub const ENODEV: i32 = 19;
    /// Out of memory.
    pub const ENOMEM: i32 = 12;
    /// Is a directory.
    pub const EISDIR: i32 = 21;
    /// Operation not supported (FC target `enable 1` without the FC engine).
    pub const EOPNOTSUPP: i32 = 95;

    /// The symbolic name of an errno the kernel side returns (`ENOENT`), if it is one of these.
    pub fn name(errno: i32) -> Option<&'static str> {
        Some(match errno {
            EPERM => "EPERM",
            ENOENT => "ENOENT",
            ENOMEM => "ENOMEM",
            EACCES => "EACCES",
            EBUSY => "EBUSY",
            EEXIST => "EEXIST",
            ENODEV => "ENODEV",
            ENOTDIR => "ENOTDIR",
            EISDIR => "EISDIR",
            EINVAL => "EINVAL",
            ENOSPC => "ENOSPC",
            ENOTEMPTY => "ENOTEMPTY",
            EOPNOTSUPP => "EOPNOTSUPP",
            _ => return None,
        })
    }
}

/// A failed configfs operation: the errno and, when the kernel logged one, its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsError {
    /// Linux errno (0 if the error had none).
    pub errno: i32,
    /// The kernel's one-line explanation (`ferrule: <path>: <why>`), if it could be read.
    pub why: Option<String>,
}

impl FsError {
    /// An error with just an errno.
    pub fn new(errno: i32) -> Self {
        FsError { errno, why: None }
    }
    /// An error with the kernel's explanation.
    pub fn because(errno: i32, why: impl Into<String>) -> Self {
        FsError {
            errno,
            why: Some(why.into()),
        }
    }
    fn from_io(e: &io::Error) -> Self {
        FsError::new(e.raw_os_error().unwrap_or(0))
    }
}

/// The C library's message for an errno, without Rust's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // "No such file or directory (ENOENT: no FC port has this WWPN)": the C library's
        // text, the errno's name (what Documentation/configfs.md's table lists) and the why.
        f.write_str(&strerror(self.errno))?;
        let name = errno::name(self.errno);
        match (name, &self.why) {
            (Some(n), Some(why)) => write!(f, " ({n}: {why})"),
            (Some(n), None) => write!(f, " ({n})"),
            (None, Some(why)) => write!(f, " ({why})"),
            (None, None) => Ok(()),
        }
    }
}

/// What the CLI does to configfs.
pub trait ConfigFs {
    /// Whether the Ferrule root exists (module loaded, configfs mounted).
    fn root_exists(&self) -> bool;
    /// Reads an attribute, without its trailing newline.
    fn read(&self, path: &str) -> Result<String, FsError>;
    /// Writes an attribute (a trailing newline is added, as `echo` would).
    fn write(&mut self, path: &str, value: &str) -> Result<(), FsError>;
    /// Creates a directory (a configfs item or group).
    fn mkdir(&mut self, path: &str) -> Result<(), FsError>;
    /// Removes a directory.
    fn rmdir(&mut self, path: &str) -> Result<(), FsError>;
    /// Names of the subdirectories of `path`, sorted.
    fn list_dirs(&self, path: &str) -> Result<Vec<String>, FsError>;
    /// Whether `path` exists.
    fn exists(&self, path: &str) -> bool;
}

/// The real configfs tree under a root directory.
pub struct RealFs {
    root: PathBuf,
}

impl RealFs {
    /// The tree at `root` (normally `/sys/kernel/config/ferrule`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RealFs { root: root.into() }
    }

    fn full(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }

    fn explain(&self, path: &str, e: &io::Error) -> FsError {
        let mut err = FsError::from_io(e);
        err.why = kmsg_reason(path);
        err
    }
}

impl ConfigFs for RealFs {
    fn root_exists(&self) -> bool {
        self.root.is_dir()
    }
    fn read(&self, path: &str) -> Result<String, FsError> {
        let s = std::fs::read_to_string(self.full(path)).map_err(|e| FsError::from_io(&e))?;
        Ok(s.strip_suffix('\n').unwrap_or(&s).to_string())
    }
    fn write(&mut self, path: &str, value: &str) -> Result<(), FsError> {
        // One write(2) call: configfs hands each write to the store method separately.
        std::fs::write(self.full(path), format!("{value}\n")).map_err(|e| self.explain(path, &e))
    }
    fn mkdir(&mut self, path: &str) -> Result<(), FsError> {
        std::fs::create_dir(self.full(path)).map_err(|e| self.explain(path, &e))
    }
    fn rmdir(&mut self, path: &str) -> Result<(), FsError> {
        std::fs::remove_dir(self.full(path)).map_err(|e| self.explain(path, &e))
    }
    fn list_dirs(&self, path: &str) -> Result<Vec<String>, FsError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.full(path)).map_err(|e| FsError::from_io(&e))? {
            let entry = entry.map_err(|e| FsError::from_io(&e))?;
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }
    fn exists(&self, path: &str) -> bool {
        self.full(path).exists()
    }
}

/// The newest kernel log line `ferrule: <...path>: <why>` about `path`, if /dev/kmsg is
/// readable (root). The kernel logs exactly one such line per refused operation.
fn kmsg_reason(path: &str) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open("/dev/kmsg")
        .ok()?;
    let mut found = None;
    let mut buf = vec![0u8; 8192];
    // Each read returns one record; the loop ends at EAGAIN (no more records).
    for _ in 0..100_000 {
        let n = match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let rec = String::from_utf8_lossy(&buf[..n]);
        let msg = rec.split_once(';').map(|(_, m)| m).unwrap_or(&rec);
        let msg = msg.lines().next().unwrap_or("");
        if let Some(rest) = msg.strip_prefix("ferrule: ") {
            if let Some((p, why)) = rest.split_once(": ") {
                if p.trim_end_matches('/')
                    .ends_with(path.trim_end_matches('/'))
                {
                    found = Some(why.to_string());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_has_no_suffix() {
        assert_eq!(strerror(errno::EINVAL), "Invalid argument");
        assert_eq!(strerror(errno::EBUSY), "Device or resource busy");
        let e = FsError::because(errno::ENOENT, "no device \"disk9\"");
        assert_eq!(
            e.to_string(),
            "No such file or directory (ENOENT: no device \"disk9\")"
        );
        assert_eq!(
            FsError::new(errno::ENODEV).to_string(),
            "No such device (ENODEV)"
        );
        assert_eq!(FsError::new(126).to_string(), "Required key not available");
    }

    #[test]
    fn real_fs_on_a_plain_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut fs = RealFs::new(dir.path());
        assert!(fs.root_exists());
        fs.mkdir("devices").unwrap();
        fs.mkdir("devices/b").unwrap();
        fs.mkdir("devices/a").unwrap();
        fs.write("devices/a/size", "4096").unwrap();
        assert_eq!(fs.read("devices/a/size").unwrap(), "4096");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("devices/a/size")).unwrap(),
            "4096\n"
        );
        assert_eq!(fs.list_dirs("devices").unwrap(), vec!["a", "b"]);
        assert_eq!(fs.mkdir("devices/a").unwrap_err().errno, errno::EEXIST);
        fs.rmdir("devices/b").unwrap();
        assert!(!fs.exists("devices/b"));
        assert_eq!(fs.read("nope").unwrap_err().errno, errno::ENOENT);
    }
}
