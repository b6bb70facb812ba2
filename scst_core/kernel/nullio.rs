// SPDX-License-Identifier: GPL-2.0
//! nullio backend: reads return zeroes, writes are dropped (like SCST/LIO nullio). For the
//! command path without storage costs.

use crate::sg_buffer::SgBuffer;
use scst_core::backend::{Backend, Compare, DataBuffer, IoError};

/// Byte length of `blocks` blocks of `block_size`.
pub(crate) fn span(blocks: u64, block_size: usize) -> Result<usize, IoError> {
    usize::try_from(blocks)
        .ok()
        .and_then(|b| b.checked_mul(block_size))
        .ok_or(IoError::Failed)
}

/// Fills `len` bytes of `buf` at `off` with zeroes (one pass over the scatterlist).
pub(crate) fn zero_fill(buf: &mut SgBuffer, off: usize, len: usize) -> Result<(), IoError> {
    if buf.zero(off, len) == len {
        Ok(())
    } else {
        Err(IoError::Failed)
    }
}

/// Offset of the first nonzero byte among `len` bytes of `buf` at `off`.
fn first_nonzero(buf: &SgBuffer, off: usize, len: usize) -> Result<Option<u64>, IoError> {
    let mut chunk = [0u8; 256];
    let mut done = 0usize;
    while done < len {
        let n = (len - done).min(chunk.len());
        let at = off.checked_add(done).ok_or(IoError::Failed)?;
        let part = chunk.get_mut(..n).ok_or(IoError::Failed)?;
        if buf.read_at(at, part) != n {
            return Err(IoError::Failed);
        }
        if let Some(p) = part.iter().position(|&b| b != 0) {
            return Ok(Some((done + p) as u64));
        }
        done += n;
    }
    Ok(None)
}

/// The nullio backend of one LU.
pub(crate) struct NullIo {
    block_size: usize,
}

impl NullIo {
    /// A nullio backend with `block_size`-byte blocks.
    pub(crate) const fn new(block_size: usize) -> Self {
        NullIo { block_size }
    }
}

impl Backend for NullIo {
    type Buf = SgBuffer;
    fn read(&self, _: u64, blocks: u32, buf: &mut Self::Buf, off: usize) -> Result<(), IoError> {
        zero_fill(buf, off, span(blocks.into(), self.block_size)?)
    }
    fn write(&self, _: u64, _: u32, _: &Self::Buf, _: usize, _: bool) -> Result<(), IoError> {
        Ok(())
    }
    fn flush(&self) -> Result<(), IoError> {
        Ok(())
    }
    fn unmap(&self, _: u64, _: u64) -> Result<(), IoError> {
        Ok(())
    }
    fn write_same(&self, _: u64, _: u64, _: Option<&Self::Buf>, _: bool) -> Result<(), IoError> {
        Ok(())
    }
    fn compare(
        &self,
        _: u64,
        blocks: u32,
        buf: &Self::Buf,
        off: usize,
    ) -> Result<Compare, IoError> {
        // The medium reads as zeroes, so compare against that.
        let len = span(blocks.into(), self.block_size)?;
        Ok(match first_nonzero(buf, off, len)? {
            Some(offset) => Compare::Miscompare { offset },
            None => Compare::Match,
        })
    }
    fn compare_and_write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &Self::Buf,
    ) -> Result<Compare, IoError> {
        self.compare(lba, blocks, buf, 0)
    }
    fn lba_status(&self, _: u64) -> Result<(bool, u64), IoError> {
        Ok((true, u64::MAX))
    }
}
