// SPDX-License-Identifier: GPL-2.0
//! Persistent reservations that survive power loss (PERSISTENT RESERVE OUT with APTPL=1):
//! the LU's reservation image (`scst_core::pr`, versioned and checksummed) is written to
//! `/var/lib/ferrule/pr/<device serial>` after every change made with APTPL set, emptied when
//! a change clears APTPL, and read back when an LU for that device is created (target enable,
//! module load + configuration). A torn or foreign file fails the image check on import and
//! is ignored with one log line: the LU then starts without reservations, as after power-on
//! without APTPL.

use crate::config::Bytes;
use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::str::CString;
use scst_core::lu::LuLocked;
use scst_core::pr::PrTable;

/// Where the images live (like SCST's /var/lib/scst/pr). Created by the packaging; without
/// it APTPL state is kept in memory only (logged when APTPL is first used on a target).
const DIR: &str = "/var/lib/ferrule/pr";
/// Largest image an LU produces.
pub(crate) const IMAGE_MAX: usize = PrTable::IMAGE_MAX_LEN;

/// The image file name of the device with unit serial `serial`. The serial is printable
/// ASCII without spaces; anything but `[A-Za-z0-9_-]` becomes `_`, so a serial cannot name a
/// path outside the directory (`/`, `..`).
fn file_name(serial: &[u8]) -> Result<CString> {
    let mut name = [0u8; 64];
    let n = serial.len().min(name.len());
    for (d, s) in name.iter_mut().zip(serial.iter()).take(n) {
        *d = if s.is_ascii_alphanumeric() || matches!(s, b'-' | b'_') {
            *s
        } else {
            b'_'
        };
    }
    let name = core::str::from_utf8(name.get(..n).unwrap_or(&[])).map_err(|_| EINVAL)?;
    if name.is_empty() {
        return Err(EINVAL);
    }
    CString::try_from_fmt(fmt!("{}", name))
}

/// An open file, closed on drop.
struct File(*mut bindings::file);

impl Drop for File {
    fn drop(&mut self) {
        // SAFETY: we own the reference taken when the file was opened.
        unsafe { bindings::filp_close(self.0, core::ptr::null_mut()) };
    }
}

/// The image directory, opened in the configuring process's context (commands complete on
/// worker threads, whose root need not be the administrator's).
pub(crate) struct Dir(File);

// SAFETY: an open file reference may be used and dropped from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only opens files relative to it, which the VFS serialises.
unsafe impl Sync for Dir {}

impl Dir {
    /// Opens the image directory; `None` when it does not exist: APTPL state is then kept in
    /// memory only (the engine logs that when APTPL is first used).
    pub(crate) fn open() -> Option<Self> {
        let path = CString::try_from_fmt(fmt!("{}", DIR)).ok()?;
        let flags = bindings::O_RDONLY | bindings::O_DIRECTORY;
        // SAFETY: `path` is NUL-terminated and outlives the call; `filp_open` returns an
        // owned reference or an ERR_PTR.
        let f = unsafe { bindings::filp_open(path.as_char_ptr(), flags as i32, 0) };
        from_err_ptr(f).ok().map(|f| Dir(File(f)))
    }

    fn open_file(&self, serial: &[u8], flags: u32) -> Result<File> {
        let name = file_name(serial)?;
        // SAFETY: the directory is open (we hold it); `name` is NUL-terminated and outlives
        // the call; the helper returns an owned reference or an ERR_PTR.
        let f = unsafe {
            crate::bindings::ferrule_h_open_in_dir(
                self.0 .0.cast(),
                name.as_char_ptr(),
                flags as i32,
                0o600,
            )
        };
        Ok(File(from_err_ptr(f.cast::<bindings::file>())?))
    }

    /// Restores the stored image of `serial` into a new LU's `locked` state, if there is one.
    /// Process context.
    pub(crate) fn load(&self, serial: &[u8], locked: &mut LuLocked) {
        let Ok(f) = self.open_file(serial, bindings::O_RDONLY | bindings::O_LARGEFILE) else {
            return; // no stored state
        };
        let name = Bytes(serial);
        let mut buf = KVec::<u8>::new();
        if buf
            .resize(IMAGE_MAX.saturating_add(1), 0, GFP_KERNEL)
            .is_err()
        {
            return;
        }
        let mut pos = 0i64;
        // SAFETY: the file is open; `buf` is valid for its length.
        let n = unsafe { bindings::kernel_read(f.0, buf.as_mut_ptr().cast(), buf.len(), &mut pos) };
        let Ok(n) = usize::try_from(n) else {
            pr_warn!("aptpl: {}: read failed ({})\n", name, n);
            return;
        };
        if n == 0 {
            return; // APTPL was cleared
        }
        match buf.get(..n).map(|img| locked.import_pr(img)) {
            Some(Ok(())) => pr_info!("aptpl: {}: reservations restored\n", name),
            _ => pr_warn!("aptpl: {}: not a valid reservation image, ignored\n", name),
        }
    }

    /// Stores `image` for `serial` (empty: APTPL cleared) and syncs it.
    pub(crate) fn store(&self, serial: &[u8], image: &[u8]) -> Result {
        let flags =
            bindings::O_WRONLY | bindings::O_CREAT | bindings::O_TRUNC | bindings::O_LARGEFILE;
        let f = self.open_file(serial, flags)?;
        let mut pos = 0i64;
        if !image.is_empty() {
            // SAFETY: the file is open for writing; `image` is valid for its length.
            let n = unsafe {
                bindings::kernel_write(f.0, image.as_ptr().cast(), image.len(), &mut pos)
            };
            if usize::try_from(n).ok() != Some(image.len()) {
                return Err(EIO);
            }
        }
        // SAFETY: the file is open.
        let rc = unsafe { bindings::vfs_fsync(f.0, 0) };
        if rc < 0 {
            return Err(Error::from_errno(rc));
        }
        Ok(())
    }
}
