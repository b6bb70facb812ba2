//! The storage side of emulation: an abstract command data buffer (so the kernel can hand a
//! scatterlist through without copying) and the block backend interface.

use core::cell::RefCell;

/// A command's data buffer. Its length is the transfer length the fabric announced (FCP_DL).
pub trait DataBuffer {
    /// Length in bytes.
    fn len(&self) -> usize;
    /// True when the buffer holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies data-out bytes (from the initiator) starting at `off` into `dst`; returns how
    /// many were copied (fewer at the end of the buffer).
    fn read_at(&self, off: usize, dst: &mut [u8]) -> usize;
    /// Copies data-in bytes (to the initiator) from `src` to offset `off`; returns how many
    /// were copied (fewer at the end of the buffer).
    fn write_at(&mut self, off: usize, src: &[u8]) -> usize;
}

impl DataBuffer for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn read_at(&self, off: usize, dst: &mut [u8]) -> usize {
        let Some(src) = self.get(off..) else { return 0 };
        let n = src.len().min(dst.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        n
    }
    fn write_at(&mut self, off: usize, src: &[u8]) -> usize {
        let Some(dst) = self.get_mut(off..) else {
            return 0;
        };
        let n = src.len().min(dst.len());
        if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        n
    }
}

/// Why a backend operation failed; exec maps each to sense data.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IoError {
    /// Unrecovered read error (MEDIUM ERROR), optionally at a known LBA.
    Read(Option<u64>),
    /// Write error (MEDIUM ERROR), optionally at a known LBA.
    Write(Option<u64>),
    /// Thin provisioning pool exhausted (DATA PROTECT, SPACE ALLOCATION FAILED).
    NoSpace,
    /// Anything else (HARDWARE ERROR, INTERNAL TARGET FAILURE).
    Failed,
}

/// Result of a compare against the medium.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Compare {
    /// All bytes matched.
    Match,
    /// First differing byte, as an offset from the start of the compared data.
    Miscompare {
        /// Byte offset of the first mismatch.
        offset: u64,
    },
}

/// A block backend. All calls are synchronous and may block. LBAs and lengths are already
/// range-checked against the device capacity; `buf_off + blocks * block_size` fits in `buf`.
pub trait Backend {
    /// The command buffer type the backend reads into and writes from.
    type Buf: DataBuffer + ?Sized;
    /// Reads `blocks` blocks at `lba` into `buf` at byte offset `buf_off`.
    fn read(
        &self,
        lba: u64,
        blocks: u32,
        buf: &mut Self::Buf,
        buf_off: usize,
    ) -> Result<(), IoError>;
    /// Writes `blocks` blocks at `lba` from `buf` at `buf_off`; `fua` forces them to stable
    /// storage before returning.
    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &Self::Buf,
        buf_off: usize,
        fua: bool,
    ) -> Result<(), IoError>;
    /// Makes all completed writes durable.
    fn flush(&self) -> Result<(), IoError>;
    /// Deallocates `blocks` blocks at `lba` (thin provisioning).
    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError>;
    /// Writes the first block of `block` (or zeros when `None`, WRITE SAME NDOB) to every
    /// block of the range; with `unmap` the backend may deallocate instead.
    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&Self::Buf>,
        unmap: bool,
    ) -> Result<(), IoError>;
    /// Compares `blocks` blocks at `lba` against `buf` from `buf_off` (VERIFY BYTCHK=1).
    fn compare(
        &self,
        lba: u64,
        blocks: u32,
        buf: &Self::Buf,
        buf_off: usize,
    ) -> Result<Compare, IoError>;
    /// Atomically (against other writes) compares the first half of `buf` with the medium
    /// and, when equal, writes the second half.
    fn compare_and_write(&self, lba: u64, blocks: u32, buf: &Self::Buf)
        -> Result<Compare, IoError>;
    /// Provisioning status at `lba`: (mapped, number of blocks from `lba` with that status).
    fn lba_status(&self, lba: u64) -> Result<(bool, u64), IoError>;
}

/// A backend that stores nothing and reads nothing (like SCST/LIO nullio): for benchmarks
/// and fuzzing the command path without storage costs.
#[derive(Default, Debug)]
pub struct NullBackend;

impl Backend for NullBackend {
    type Buf = [u8];
    fn read(&self, _: u64, _: u32, _: &mut [u8], _: usize) -> Result<(), IoError> {
        Ok(())
    }
    fn write(&self, _: u64, _: u32, _: &[u8], _: usize, _: bool) -> Result<(), IoError> {
        Ok(())
    }
    fn flush(&self) -> Result<(), IoError> {
        Ok(())
    }
    fn unmap(&self, _: u64, _: u64) -> Result<(), IoError> {
        Ok(())
    }
    fn write_same(&self, _: u64, _: u64, _: Option<&[u8]>, _: bool) -> Result<(), IoError> {
        Ok(())
    }
    fn compare(&self, _: u64, _: u32, _: &[u8], _: usize) -> Result<Compare, IoError> {
        Ok(Compare::Match)
    }
    fn compare_and_write(&self, _: u64, _: u32, _: &[u8]) -> Result<Compare, IoError> {
        Ok(Compare::Match)
    }
    fn lba_status(&self, _: u64) -> Result<(bool, u64), IoError> {
        Ok((true, u64::MAX))
    }
}

/// Mutable part of [`RamDisk`].
struct RamInner<'a> {
    data: &'a mut [u8],
    /// One byte per block: nonzero = mapped.
    mapped: &'a mut [u8],
    fail_next: Option<IoError>,
}

/// An in-memory block device over caller-provided storage (no allocation), with a
/// per-block provisioning map and error injection. Test utility; not for concurrent use.
pub struct RamDisk<'a> {
    block_size: usize,
    inner: RefCell<RamInner<'a>>,
}

impl<'a> RamDisk<'a> {
    /// A disk of `mapped.len()` blocks of `block_size` bytes; `data` must hold them all
    /// (extra bytes are ignored, missing ones make I/O past them fail).
    pub fn new(block_size: usize, data: &'a mut [u8], mapped: &'a mut [u8]) -> Self {
        RamDisk {
            block_size,
            inner: RefCell::new(RamInner {
                data,
                mapped,
                fail_next: None,
            }),
        }
    }

    /// Makes the next backend call fail with `e`.
    pub fn fail_next(&self, e: IoError) {
        if let Ok(mut i) = self.inner.try_borrow_mut() {
            i.fail_next = Some(e);
        }
    }

    /// Copies block `lba` out (test inspection); false when out of range.
    pub fn peek(&self, lba: u64, dst: &mut [u8]) -> bool {
        let Ok(i) = self.inner.try_borrow() else {
            return false;
        };
        match self.byte_range(lba, 1).and_then(|r| i.data.get(r)) {
            Some(src) => {
                let n = src.len().min(dst.len());
                dst[..n].copy_from_slice(&src[..n]);
                true
            }
            None => false,
        }
    }

    /// Whether block `lba` is mapped.
    pub fn is_mapped(&self, lba: u64) -> bool {
        let Ok(i) = self.inner.try_borrow() else {
            return false;
        };
        usize::try_from(lba)
            .ok()
            .and_then(|l| i.mapped.get(l))
            .is_some_and(|m| *m != 0)
    }

    fn byte_range(&self, lba: u64, blocks: u64) -> Option<core::ops::Range<usize>> {
        let start = usize::try_from(lba).ok()?.checked_mul(self.block_size)?;
        let len = usize::try_from(blocks).ok()?.checked_mul(self.block_size)?;
        Some(start..start.checked_add(len)?)
    }

    fn take_failure(&self) -> Result<(), IoError> {
        let mut i = self.inner.try_borrow_mut().map_err(|_| IoError::Failed)?;
        match i.fail_next.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn set_mapped(i: &mut RamInner<'_>, lba: u64, blocks: u64, v: u8) -> Result<(), IoError> {
        let s = usize::try_from(lba).map_err(|_| IoError::Failed)?;
        let n = usize::try_from(blocks).map_err(|_| IoError::Failed)?;
        let e = s.checked_add(n).ok_or(IoError::Failed)?;
        i.mapped.get_mut(s..e).ok_or(IoError::Failed)?.fill(v);
        Ok(())
    }
}

impl Backend for RamDisk<'_> {
    type Buf = [u8];

    fn read(&self, lba: u64, blocks: u32, buf: &mut [u8], buf_off: usize) -> Result<(), IoError> {
        self.take_failure()?;
        let r = self
            .byte_range(lba, blocks.into())
            .ok_or(IoError::Read(Some(lba)))?;
        let i = self.inner.try_borrow().map_err(|_| IoError::Failed)?;
        let src = i.data.get(r).ok_or(IoError::Read(Some(lba)))?;
        if buf.write_at(buf_off, src) != src.len() {
            return Err(IoError::Failed);
        }
        Ok(())
    }

    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &[u8],
        buf_off: usize,
        _fua: bool,
    ) -> Result<(), IoError> {
        self.take_failure()?;
        let r = self
            .byte_range(lba, blocks.into())
            .ok_or(IoError::Write(Some(lba)))?;
        let mut i = self.inner.try_borrow_mut().map_err(|_| IoError::Failed)?;
        let dst = i.data.get_mut(r).ok_or(IoError::Write(Some(lba)))?;
        if buf.read_at(buf_off, dst) != dst.len() {
            return Err(IoError::Failed);
        }
        Self::set_mapped(&mut i, lba, blocks.into(), 1)
    }

    fn flush(&self) -> Result<(), IoError> {
        self.take_failure()
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        self.take_failure()?;
        let r = self.byte_range(lba, blocks).ok_or(IoError::Failed)?;
        let mut i = self.inner.try_borrow_mut().map_err(|_| IoError::Failed)?;
        i.data.get_mut(r).ok_or(IoError::Failed)?.fill(0); // LBPRZ: unmapped reads as zeros
        Self::set_mapped(&mut i, lba, blocks, 0)
    }

    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&[u8]>,
        unmap: bool,
    ) -> Result<(), IoError> {
        self.take_failure()?;
        let bs = self.block_size;
        let zero = match block {
            None => true,
            Some(b) => {
                let mut chunk = [0u8; 64];
                let mut off = 0;
                let mut all_zero = true;
                while off < bs {
                    let n = b.read_at(off, &mut chunk).min(bs - off);
                    if n == 0 {
                        return Err(IoError::Failed);
                    }
                    all_zero &= chunk.get(..n).is_some_and(|c| c.iter().all(|&x| x == 0));
                    off += n;
                }
                all_zero
            }
        };
        if unmap && zero {
            return self.unmap(lba, blocks);
        }
        let r = self
            .byte_range(lba, blocks)
            .ok_or(IoError::Write(Some(lba)))?;
        let mut i = self.inner.try_borrow_mut().map_err(|_| IoError::Failed)?;
        let dst = i.data.get_mut(r).ok_or(IoError::Write(Some(lba)))?;
        for chunk in dst.chunks_mut(bs) {
            match block {
                Some(b) if b.read_at(0, chunk) != chunk.len() => return Err(IoError::Failed),
                Some(_) => {}
                None => chunk.fill(0),
            }
        }
        Self::set_mapped(&mut i, lba, blocks, 1)
    }

    fn compare(
        &self,
        lba: u64,
        blocks: u32,
        buf: &[u8],
        buf_off: usize,
    ) -> Result<Compare, IoError> {
        self.take_failure()?;
        let r = self
            .byte_range(lba, blocks.into())
            .ok_or(IoError::Read(Some(lba)))?;
        let i = self.inner.try_borrow().map_err(|_| IoError::Failed)?;
        let medium = i.data.get(r).ok_or(IoError::Read(Some(lba)))?;
        let data = buf
            .get(buf_off..)
            .and_then(|b| b.get(..medium.len()))
            .ok_or(IoError::Failed)?;
        Ok(match medium.iter().zip(data).position(|(a, b)| a != b) {
            Some(p) => Compare::Miscompare { offset: p as u64 },
            None => Compare::Match,
        })
    }

    fn compare_and_write(&self, lba: u64, blocks: u32, buf: &[u8]) -> Result<Compare, IoError> {
        let half = usize::try_from(blocks)
            .ok()
            .and_then(|b| b.checked_mul(self.block_size))
            .ok_or(IoError::Failed)?;
        match self.compare(lba, blocks, buf, 0)? {
            Compare::Match => self
                .write(lba, blocks, buf, half, true)
                .map(|()| Compare::Match),
            m => Ok(m),
        }
    }

    fn lba_status(&self, lba: u64) -> Result<(bool, u64), IoError> {
        self.take_failure()?;
        let i = self.inner.try_borrow().map_err(|_| IoError::Failed)?;
        let s = usize::try_from(lba).map_err(|_| IoError::Failed)?;
        let rest = i.mapped.get(s..).ok_or(IoError::Failed)?;
        let first = *rest.first().ok_or(IoError::Failed)? != 0;
        let run = rest.iter().take_while(|&&m| (m != 0) == first).count();
        Ok((first, run as u64))
    }
}
