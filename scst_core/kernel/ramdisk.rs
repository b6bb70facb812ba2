// SPDX-License-Identifier: GPL-2.0
//! RAM backend: the LU's blocks in vmalloc memory, so data written can be read back and
//! verified end to end.
//!
//! One mutex per LU serialises I/O. Commands run on workqueue threads (may sleep), the copy
//! goes straight between the vmalloc area and the command's pages, and COMPARE AND WRITE
//! gets its atomicity against other writes for free. Striped locks can come later if the
//! RAM LU is ever used for throughput.

use crate::nullio::span;
use crate::sg_buffer::SgBuffer;
use core::ops::Range;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;
use scst_core::backend::{Backend, Compare, DataBuffer, IoError};

/// The RAM backend of one LU.
#[pin_data]
pub(crate) struct RamDisk {
    block_size: usize,
    #[pin]
    data: Mutex<VVec<u8>>,
}

impl RamDisk {
    /// A zeroed disk of `bytes` bytes (a whole number of `block_size` blocks).
    pub(crate) fn new(bytes: usize, block_size: usize) -> Result<impl PinInit<Self, Error>> {
        let data = VVec::from_elem(0u8, bytes, GFP_KERNEL)?;
        Ok(try_pin_init!(RamDisk {
            block_size,
            data <- new_mutex!(data),
        }? Error))
    }

    fn range(&self, lba: u64, blocks: u64) -> Result<Range<usize>, IoError> {
        let start = span(lba, self.block_size)?;
        let len = span(blocks, self.block_size)?;
        Ok(start..start.checked_add(len).ok_or(IoError::Failed)?)
    }

    /// Compares `medium` with `buf` from `off` (caller holds the lock).
    fn compare_locked(medium: &[u8], buf: &SgBuffer, off: usize) -> Result<Compare, IoError> {
        let mut chunk = [0u8; 256];
        let mut done = 0usize;
        for m in medium.chunks(chunk.len()) {
            let part = chunk.get_mut(..m.len()).ok_or(IoError::Failed)?;
            let at = off.checked_add(done).ok_or(IoError::Failed)?;
            if buf.read_at(at, part) != m.len() {
                return Err(IoError::Failed);
            }
            if let Some(p) = m.iter().zip(part.iter()).position(|(a, b)| a != b) {
                return Ok(Compare::Miscompare {
                    offset: done.saturating_add(p) as u64,
                });
            }
            done = done.saturating_add(m.len());
        }
        Ok(Compare::Match)
    }
}

impl Backend for RamDisk {
    type Buf = SgBuffer;

    fn read(&self, lba: u64, blocks: u32, buf: &mut SgBuffer, off: usize) -> Result<(), IoError> {
        let r = self.range(lba, blocks.into())?;
        let data = self.data.lock();
        let src = data.get(r).ok_or(IoError::Read(Some(lba)))?;
        if buf.write_at(off, src) != src.len() {
            return Err(IoError::Failed);
        }
        Ok(())
    }

    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
        _: bool,
    ) -> Result<(), IoError> {
        let r = self.range(lba, blocks.into())?;
        let mut data = self.data.lock();
        let dst = data.get_mut(r).ok_or(IoError::Write(Some(lba)))?;
        if buf.read_at(off, dst) != dst.len() {
            return Err(IoError::Failed);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), IoError> {
        Ok(())
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        let r = self.range(lba, blocks)?;
        self.data.lock().get_mut(r).ok_or(IoError::Failed)?.fill(0);
        Ok(())
    }

    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&SgBuffer>,
        _: bool,
    ) -> Result<(), IoError> {
        let r = self.range(lba, blocks)?;
        let mut data = self.data.lock();
        let dst = data.get_mut(r).ok_or(IoError::Write(Some(lba)))?;
        for chunk in dst.chunks_mut(self.block_size) {
            match block {
                Some(b) if b.read_at(0, chunk) != chunk.len() => return Err(IoError::Failed),
                Some(_) => {}
                None => chunk.fill(0),
            }
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
        let r = self.range(lba, blocks.into())?;
        let data = self.data.lock();
        let medium = data.get(r).ok_or(IoError::Read(Some(lba)))?;
        Self::compare_locked(medium, buf, off)
    }

    fn compare_and_write(&self, lba: u64, blocks: u32, buf: &SgBuffer) -> Result<Compare, IoError> {
        let r = self.range(lba, blocks.into())?;
        let half = r.len();
        // One lock hold for both halves: no other write can land between compare and write.
        let mut data = self.data.lock();
        let medium = data.get_mut(r).ok_or(IoError::Read(Some(lba)))?;
        match Self::compare_locked(medium, buf, 0)? {
            Compare::Match => {
                if buf.read_at(half, medium) != medium.len() {
                    return Err(IoError::Failed);
                }
                Ok(Compare::Match)
            }
            m => Ok(m),
        }
    }

    fn lba_status(&self, lba: u64) -> Result<(bool, u64), IoError> {
        let bytes = self.data.lock().len();
        let blocks = bytes.checked_div(self.block_size).unwrap_or(0) as u64;
        Ok((true, blocks.saturating_sub(lba)))
    }
}
