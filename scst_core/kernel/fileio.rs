// SPDX-License-Identifier: GPL-2.0
//! fileio backend: LBAs are byte offsets of an open file (a regular file or a block device
//! file), read and written through the page cache straight from/to the command's pages.

use crate::nullio::span;
use crate::sg_buffer::SgBuffer;
use core::ptr::NonNull;
use kernel::bindings;
use scst_core::backend::{Backend, Compare, DataBuffer, IoError};

/// `FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE` (uapi falloc.h; not in the bindings).
const PUNCH_HOLE: i32 = 0x01 | 0x02;

/// Zero source for WRITE SAME without a data block (block sizes are at most 4096).
static ZEROES: [u8; 4096] = [0; 4096];

/// The fileio backend of one LU: holds its own reference on the file, so the LU stays
/// valid if configfs disables the device while a host still uses it.
///
/// # Invariants
/// `file` is an open file on which this value owns one reference.
pub(crate) struct FileIo {
    file: NonNull<bindings::file>,
    block_size: usize,
}

// SAFETY: file operations may be called from any thread; the reference is ours.
unsafe impl Send for FileIo {}
// SAFETY: as above; `&FileIo` only does file I/O, which the VFS serialises as needed.
unsafe impl Sync for FileIo {}

impl FileIo {
    /// Takes a new reference on `file`.
    ///
    /// # Safety
    /// `file` is an open file (the caller holds a reference for the duration of the call).
    pub(crate) unsafe fn new(file: *mut bindings::file, block_size: usize) -> Option<Self> {
        let file = NonNull::new(file)?;
        // SAFETY: the caller holds a reference, so taking another is allowed.
        unsafe { bindings::get_file(file.as_ptr()) };
        // INVARIANT: the reference taken above.
        Some(FileIo { file, block_size })
    }

    fn raw(&self) -> *mut bindings::file {
        self.file.as_ptr()
    }

    /// Byte position of `lba`.
    fn pos(&self, lba: u64) -> Result<u64, IoError> {
        lba.checked_mul(self.block_size as u64)
            .ok_or(IoError::Failed)
    }

    /// `kernel_read` of `dst.len()` bytes at `pos`; all or an error.
    fn read_exact(&self, dst: &mut [u8], pos: u64, lba: u64) -> Result<(), IoError> {
        let mut p = i64::try_from(pos).map_err(|_| IoError::Failed)?;
        // SAFETY: the file is open (invariant); `dst` is valid for its length.
        let n = unsafe {
            bindings::kernel_read(self.raw(), dst.as_mut_ptr().cast(), dst.len(), &mut p)
        };
        if usize::try_from(n).ok() != Some(dst.len()) {
            return Err(IoError::Read(Some(lba)));
        }
        Ok(())
    }

    /// `fsync` of `len` bytes at `pos` (data only) for FUA writes.
    fn sync_range(&self, pos: u64, len: usize) -> Result<(), IoError> {
        let start = i64::try_from(pos).map_err(|_| IoError::Failed)?;
        let end = start
            .checked_add(i64::try_from(len).map_err(|_| IoError::Failed)?)
            .and_then(|e| e.checked_sub(1))
            .ok_or(IoError::Failed)?;
        // SAFETY: the file is open (invariant).
        let rc = unsafe { bindings::vfs_fsync_range(self.raw(), start, end, 1) };
        if rc < 0 {
            return Err(IoError::Write(None));
        }
        Ok(())
    }
}

impl Drop for FileIo {
    fn drop(&mut self) {
        // SAFETY: drops the reference taken in `new` (invariant); not used again.
        unsafe { bindings::fput(self.raw()) };
    }
}

impl Backend for FileIo {
    type Buf = SgBuffer;

    fn read(&self, lba: u64, blocks: u32, buf: &mut SgBuffer, off: usize) -> Result<(), IoError> {
        let len = span(blocks.into(), self.block_size)?;
        match buf.read_from_file(self.raw(), off, len, self.pos(lba)?) {
            Ok(n) if n == len => Ok(()),
            _ => Err(IoError::Read(Some(lba))),
        }
    }

    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
        fua: bool,
    ) -> Result<(), IoError> {
        let len = span(blocks.into(), self.block_size)?;
        let pos = self.pos(lba)?;
        match buf.write_to_file(self.raw(), off, len, pos) {
            Ok(n) if n == len => {}
            Err(e) if e == kernel::error::code::ENOSPC => return Err(IoError::NoSpace),
            _ => return Err(IoError::Write(Some(lba))),
        }
        if fua {
            self.sync_range(pos, len)?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), IoError> {
        // SAFETY: the file is open (invariant).
        if unsafe { bindings::vfs_fsync(self.raw(), 0) } < 0 {
            return Err(IoError::Write(None));
        }
        Ok(())
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        let len = span(blocks, self.block_size)?;
        let off = i64::try_from(self.pos(lba)?).map_err(|_| IoError::Failed)?;
        let len = i64::try_from(len).map_err(|_| IoError::Failed)?;
        // SAFETY: the file is open (invariant).
        if unsafe { bindings::vfs_fallocate(self.raw(), PUNCH_HOLE, off, len) } < 0 {
            return Err(IoError::Failed);
        }
        Ok(())
    }

    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&SgBuffer>,
        _unmap: bool,
    ) -> Result<(), IoError> {
        let bs = self.block_size;
        let zero = ZEROES.get(..bs).ok_or(IoError::Failed)?;
        let mut i = 0u64;
        while i < blocks {
            let at = lba.checked_add(i).ok_or(IoError::Failed)?;
            let pos = self.pos(at)?;
            let n = match block {
                Some(b) => b
                    .write_to_file(self.raw(), 0, bs, pos)
                    .map_err(|_| IoError::Write(Some(at)))?,
                None => {
                    let mut p = i64::try_from(pos).map_err(|_| IoError::Failed)?;
                    // SAFETY: the file is open (invariant); `zero` is valid for `bs` bytes.
                    let n = unsafe {
                        bindings::kernel_write(self.raw(), zero.as_ptr().cast(), bs, &mut p)
                    };
                    usize::try_from(n).map_err(|_| IoError::Write(Some(at)))?
                }
            };
            if n != bs {
                return Err(IoError::Write(Some(at)));
            }
            i = i.wrapping_add(1);
        }
        Ok(())
    }

    fn compare(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
    ) -> Result<Compare, IoError> {
        let len = span(blocks.into(), self.block_size)?;
        let base = self.pos(lba)?;
        let mut medium = [0u8; 128];
        let mut theirs = [0u8; 128];
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(medium.len());
            let m = medium.get_mut(..n).ok_or(IoError::Failed)?;
            let t = theirs.get_mut(..n).ok_or(IoError::Failed)?;
            self.read_exact(
                m,
                base.checked_add(done as u64).ok_or(IoError::Failed)?,
                lba,
            )?;
            let at = off.checked_add(done).ok_or(IoError::Failed)?;
            if buf.read_at(at, t) != n {
                return Err(IoError::Failed);
            }
            if let Some(p) = m.iter().zip(t.iter()).position(|(a, b)| a != b) {
                return Ok(Compare::Miscompare {
                    offset: (done + p) as u64,
                });
            }
            done += n;
        }
        Ok(Compare::Match)
    }

    // TODO: atomic only against other COMPARE AND WRITEs of nobody: a per-LU lock shared
    // with `write` is needed for the SBC guarantee.
    fn compare_and_write(&self, lba: u64, blocks: u32, buf: &SgBuffer) -> Result<Compare, IoError> {
        let c = self.compare(lba, blocks, buf, 0)?;
        if c != Compare::Match {
            return Ok(c);
        }
        let half = span(blocks.into(), self.block_size)?;
        self.write(lba, blocks, buf, half, false)?;
        Ok(Compare::Match)
    }

    fn lba_status(&self, _: u64) -> Result<(bool, u64), IoError> {
        Ok((true, u64::MAX))
    }
}
