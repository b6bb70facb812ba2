// SPDX-License-Identifier: GPL-2.0
//! blockio backend: a block device driven with bios built straight over the command's pages
//! (no page cache, no copy). Each call submits its bios under one plug and sleeps until the
//! last one completes; commands run on a workqueue, so sleeping is allowed.
//!
//! Buffers whose pieces the device cannot DMA into directly (a piece not aligned to the
//! device's DMA alignment or not a multiple of its logical block size: never the case for
//! buffers the SCSI midlayer or an HBA builds) go through bounce pages instead, as do
//! COMPARE (VERIFY BYTCHK) and COMPARE AND WRITE's compare step.
//!
//! COMPARE AND WRITE is atomic only because the engine serialises it against every other
//! write to the LU (its per-LU lock); this backend does the compare and the write in turn.

use crate::nullio::span;
use crate::sg_buffer::SgBuffer;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::code;
use kernel::page::{Page, PAGE_SIZE};
use scst_core::backend::{Backend, Compare, DataBuffer, IoError};

type RawBatch = crate::bindings::ferrule_bio_batch;

const SECTOR_SHIFT: u32 = 9;
/// `BIO_MAX_VECS` (bio.h).
const BIO_MAX_VECS: usize = 256;
/// Bounce pages per round trip (64 KiB with 4 KiB pages).
const BOUNCE_PAGES: usize = 16;
/// WRITE SAME with a data block: bytes written per wait (16 full bios of one page each).
const SAME_BYTES_PER_WAIT: usize = 16 * BIO_MAX_VECS * PAGE_SIZE;
/// Compare step: bytes of the command buffer read per comparison.
const COMPARE_CHUNK: usize = 256;

/// An [`IoError`] that can also come from the scatterlist walk (`From<Error>` for `?`).
struct Fail(IoError);

impl From<kernel::error::Error> for Fail {
    fn from(_: kernel::error::Error) -> Self {
        Fail(IoError::Failed)
    }
}

/// Maps a failed bio's errno: medium errors for what the device reports as I/O or medium
/// failures (also what a vanished device returns), DATA PROTECT for a full thin pool,
/// HARDWARE ERROR for the rest (no memory, unsupported, transport, ...).
fn io_error(errno: i32, write: bool) -> IoError {
    let is = |e: kernel::error::Error| e.to_errno() == errno;
    if is(code::ENOSPC) {
        IoError::NoSpace
    } else if is(code::EIO) || is(code::ENODATA) || is(code::EILSEQ) {
        if write {
            IoError::Write(None)
        } else {
            IoError::Read(None)
        }
    } else {
        IoError::Failed
    }
}

/// The blockio backend of one LU: holds its own reference on the block device file, so the
/// device stays open (and its memory valid) while a host still uses the LU after configfs
/// disabled it, and a device that goes away only makes I/O fail.
///
/// # Invariants
/// `file` is an open block device file on which this value owns one reference; `bdev` is
/// its block device. `block_size` is a power-of-two multiple of the device's logical block
/// size (`len_mask + 1`), at most `PAGE_SIZE`.
pub(crate) struct BlockIo {
    file: NonNull<bindings::file>,
    bdev: NonNull<bindings::block_device>,
    block_size: usize,
    /// Sectors per block.
    sectors_per_block: u64,
    /// Every bio piece's length must be a multiple of the device's logical block size.
    len_mask: u32,
    /// Piece start alignment the device needs for DMA.
    dma_mask: u32,
}

// SAFETY: bios may be submitted from any thread; the file reference is ours.
unsafe impl Send for BlockIo {}
// SAFETY: as above; `&BlockIo` only submits bios, which the block layer serialises.
unsafe impl Sync for BlockIo {}

impl BlockIo {
    /// Takes a new reference on `file`. `None` when `block_size` does not suit the device
    /// (not a power-of-two multiple of its logical block size, or above `PAGE_SIZE`).
    ///
    /// # Safety
    /// `file` is an open block device file (the caller holds a reference for the call).
    pub(crate) unsafe fn new(file: *mut bindings::file, block_size: usize) -> Option<Self> {
        let file = NonNull::new(file)?;
        // SAFETY: `file` is an open block device file (caller).
        let (bdev, lbs, dma) = unsafe {
            (
                bindings::file_bdev(file.as_ptr()),
                crate::bindings::ferrule_h_bdev_logical_block_size(file.as_ptr().cast()),
                crate::bindings::ferrule_h_bdev_dma_alignment(file.as_ptr().cast()),
            )
        };
        let bdev = NonNull::new(bdev)?;
        let lbs_usize = usize::try_from(lbs).ok()?;
        if !block_size.is_power_of_two()
            || block_size > PAGE_SIZE
            || !lbs.is_power_of_two()
            || block_size < lbs_usize
            || block_size < 512
        {
            return None;
        }
        // SAFETY: the caller holds a reference, so taking another is allowed.
        unsafe { bindings::get_file(file.as_ptr()) };
        // INVARIANT: the reference taken above; sizes checked above.
        Some(BlockIo {
            file,
            bdev,
            block_size,
            sectors_per_block: (block_size >> SECTOR_SHIFT) as u64,
            len_mask: lbs.wrapping_sub(1),
            dma_mask: dma,
        })
    }

    /// First sector of `lba`.
    fn sector(&self, lba: u64) -> Result<u64, IoError> {
        lba.checked_mul(self.sectors_per_block)
            .ok_or(IoError::Failed)
    }

    /// Sectors of `blocks` blocks.
    fn sectors(&self, blocks: u64) -> Result<u64, IoError> {
        blocks
            .checked_mul(self.sectors_per_block)
            .ok_or(IoError::Failed)
    }

    /// Submits the bios `fill` adds (`len` bytes from `sector` in all, as a hint for bio
    /// sizes), then waits for all of them, also when `fill` failed half way.
    fn run(
        &self,
        sector: u64,
        len: usize,
        write: bool,
        fua: bool,
        fill: impl FnOnce(&mut Bios<'_>) -> Result<(), IoError>,
    ) -> Result<(), IoError> {
        let mut raw = MaybeUninit::<RawBatch>::uninit();
        let batch = raw.as_mut_ptr();
        // SAFETY: initialises the batch in place; it stays in this frame, unmoved, until the
        // wait below has returned.
        unsafe { crate::bindings::ferrule_h_bio_batch_start(batch) };
        let mut bios = Bios {
            io: self,
            batch,
            bio: core::ptr::null_mut(),
            sector,
            left: len,
            write,
            fua,
        };
        let filled = fill(&mut bios);
        bios.submit();
        // SAFETY: the batch was started above; this waits for every bio submitted with it,
        // so neither the batch nor the pages the bios point at are used after it returns.
        let rc = unsafe { crate::bindings::ferrule_h_bio_batch_wait(batch) };
        filled?;
        if rc != 0 {
            return Err(io_error(rc, write));
        }
        Ok(())
    }

    /// Whether every piece of `[off, off + len)` can be a bio vector as it is.
    fn direct_ok(&self, buf: &SgBuffer, off: usize, len: usize) -> bool {
        buf.for_each_segment(off, len, |s| {
            if s.offset() & self.dma_mask != 0 || s.len() & self.len_mask != 0 {
                return Err(Fail(IoError::Failed));
            }
            Ok(())
        })
        .is_ok()
    }

    /// Reads or writes `len` bytes at `lba` straight from/to the buffer's pages.
    fn direct(
        &self,
        lba: u64,
        len: usize,
        buf: &SgBuffer,
        off: usize,
        write: bool,
        fua: bool,
    ) -> Result<(), IoError> {
        self.run(self.sector(lba)?, len, write, fua, |bios| {
            buf.for_each_segment(off, len, |s| {
                bios.add(s.page(), s.len(), s.offset()).map_err(Fail)
            })
            .map_err(|Fail(e)| e)
        })
    }

    /// Moves `len` bytes at `lba` through bounce pages, 64 KiB per round trip. Writes call
    /// `each(at, page_bytes)` to fill each page (`at`: offset in the range) before the
    /// round trip; reads call it after. `each` returns false to stop early.
    fn bounced(
        &self,
        lba: u64,
        len: usize,
        write: bool,
        fua: bool,
        mut each: impl FnMut(usize, &mut [u8]) -> Result<bool, IoError>,
    ) -> Result<(), IoError> {
        let pages = Bounce::new(len)?;
        let chunk = pages.count.checked_mul(PAGE_SIZE).ok_or(IoError::Failed)?;
        let first = self.sector(lba)?;
        let mut done = 0usize;
        while done < len {
            let n = (len - done).min(chunk);
            let sector = first
                .checked_add((done >> SECTOR_SHIFT) as u64)
                .ok_or(IoError::Failed)?;
            if write && !pages.visit(done, n, &mut each)? {
                return Ok(());
            }
            self.run(sector, n, write, fua, |bios| {
                let mut at = 0usize;
                for page in pages.pages.iter().flatten() {
                    if at >= n {
                        break;
                    }
                    let piece = (n - at).min(PAGE_SIZE);
                    bios.add(page.as_ptr(), piece as u32, 0)?;
                    at += piece;
                }
                Ok(())
            })?;
            if !write && !pages.visit(done, n, &mut each)? {
                return Ok(());
            }
            done += n;
        }
        Ok(())
    }

    fn sg_io(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
        write: bool,
        fua: bool,
    ) -> Result<(), IoError> {
        let len = span(blocks.into(), self.block_size)?;
        if len == 0 {
            return Ok(());
        }
        if self.direct_ok(buf, off, len) {
            return self.direct(lba, len, buf, off, write, fua);
        }
        if off.checked_add(len).is_none_or(|end| end > buf.len()) {
            return Err(IoError::Failed);
        }
        // Rare: a buffer the device cannot DMA into as it is.
        self.bounced(lba, len, write, fua, |at, page| {
            let at = off.checked_add(at).ok_or(IoError::Failed)?;
            if buf.read_at(at, page) != page.len() {
                return Err(IoError::Failed);
            }
            Ok(true)
        })
    }

    /// WRITE SAME of a nonzero block: one page filled with copies of it, written over the
    /// range in bios of whole pages, `SAME_BYTES_PER_WAIT` at a time.
    fn write_pattern(&self, lba: u64, blocks: u64, block: &SgBuffer) -> Result<(), IoError> {
        let page = Page::alloc_page(GFP_KERNEL).map_err(|_| IoError::Failed)?;
        let bs = self.block_size;
        with_mapped(&page, |bytes| {
            let first = bytes.get_mut(..bs).ok_or(IoError::Failed)?;
            if block.read_at(0, first) != bs {
                return Err(IoError::Failed);
            }
            let mut at = bs;
            while at < PAGE_SIZE {
                bytes.copy_within(0..bs, at);
                at += bs;
            }
            Ok(())
        })?;
        let total = blocks.checked_mul(bs as u64).ok_or(IoError::Failed)?;
        let mut sector = self.sector(lba)?;
        let mut done = 0u64;
        while done < total {
            let n = usize::try_from(total - done)
                .unwrap_or(usize::MAX)
                .min(SAME_BYTES_PER_WAIT);
            self.run(sector, n, true, false, |bios| {
                let mut at = 0usize;
                while at < n {
                    let piece = (n - at).min(PAGE_SIZE);
                    bios.add(page.as_ptr(), piece as u32, 0)?;
                    at += piece;
                }
                Ok(())
            })?;
            done = done.saturating_add(n as u64);
            sector = sector
                .checked_add((n >> SECTOR_SHIFT) as u64)
                .ok_or(IoError::Failed)?;
        }
        Ok(())
    }

    /// Whether the first block of `block` is all zeroes.
    fn is_zero_block(&self, block: &SgBuffer) -> Result<bool, IoError> {
        let mut chunk = [0u8; COMPARE_CHUNK];
        let mut at = 0usize;
        while at < self.block_size {
            let n = (self.block_size - at).min(chunk.len());
            let part = chunk.get_mut(..n).ok_or(IoError::Failed)?;
            if block.read_at(at, part) != n {
                return Err(IoError::Failed);
            }
            if part.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            at += n;
        }
        Ok(true)
    }
}

impl Drop for BlockIo {
    fn drop(&mut self) {
        // SAFETY: drops the reference taken in `new` (invariant); not used again.
        unsafe { bindings::fput(self.file.as_ptr()) };
    }
}

/// The bios of one [`BlockIo::run`] being built: pieces are appended at `sector` onwards; a
/// full bio is submitted and a new one started.
struct Bios<'a> {
    io: &'a BlockIo,
    batch: *mut RawBatch,
    /// The bio being filled, or null.
    bio: *mut bindings::bio,
    /// Where the next piece goes.
    sector: u64,
    /// Bytes still expected (sizes the next bio).
    left: usize,
    write: bool,
    fua: bool,
}

impl Bios<'_> {
    /// Appends `len` bytes of the pages at `page` from byte `offset`. The pages must stay
    /// valid until the batch's wait (the caller borrows them across `BlockIo::run`).
    fn add(&mut self, page: *mut bindings::page, len: u32, offset: u32) -> Result<(), IoError> {
        if len == 0 || len & self.io.len_mask != 0 || len & ((1 << SECTOR_SHIFT) - 1) != 0 {
            return Err(IoError::Failed);
        }
        // A full bio is submitted and the piece retried once on a fresh one.
        for _ in 0..2 {
            if self.bio.is_null() {
                let vecs = (self.left / PAGE_SIZE).saturating_add(1).min(BIO_MAX_VECS);
                // SAFETY: `bdev` is open (`BlockIo` invariant); the batch was started by
                // `run`, which waits for the bio before the batch goes away.
                self.bio = unsafe {
                    crate::bindings::ferrule_h_bio_alloc(
                        self.io.bdev.as_ptr().cast(),
                        vecs as u16,
                        self.write,
                        self.fua,
                        self.sector,
                        self.batch,
                    )
                }
                .cast();
                if self.bio.is_null() {
                    return Err(IoError::Failed);
                }
            }
            // SAFETY: `bio` is ours and not yet submitted; the pages outlive it (caller).
            let added = unsafe { bindings::bio_add_page(self.bio, page, len, offset) };
            if u32::try_from(added).ok() == Some(len) {
                self.sector = self
                    .sector
                    .checked_add(u64::from(len >> SECTOR_SHIFT))
                    .ok_or(IoError::Failed)?;
                self.left = self.left.saturating_sub(len as usize);
                return Ok(());
            }
            self.submit();
        }
        Err(IoError::Failed)
    }

    /// Submits the bio being filled (an empty one is freed).
    fn submit(&mut self) {
        if !self.bio.is_null() {
            // SAFETY: `bio` was allocated by `add` for this batch and is not yet submitted;
            // it is forgotten here.
            unsafe { crate::bindings::ferrule_h_bio_submit(self.bio.cast()) };
            self.bio = core::ptr::null_mut();
        }
    }
}

/// Runs `f` over the bytes of `page`, mapped.
fn with_mapped<T>(page: &Page, f: impl FnOnce(&mut [u8]) -> T) -> T {
    // SAFETY: `page` is a page we own; kmap_local_page maps it for this thread until the
    // unmap below, and nothing else references its bytes meanwhile (no bio in flight: the
    // callers only map between round trips).
    unsafe {
        let addr = bindings::kmap_local_page(page.as_ptr());
        let bytes = core::slice::from_raw_parts_mut(addr.cast::<u8>(), PAGE_SIZE);
        let r = f(bytes);
        bindings::kunmap_local(addr);
        r
    }
}

/// Up to `BOUNCE_PAGES` pages for one round trip.
struct Bounce {
    pages: [Option<Page>; BOUNCE_PAGES],
    count: usize,
}

impl Bounce {
    /// Enough pages for `len` bytes, at most `BOUNCE_PAGES`.
    fn new(len: usize) -> Result<Self, IoError> {
        let want = len.div_ceil(PAGE_SIZE).clamp(1, BOUNCE_PAGES);
        let mut b = Bounce {
            pages: [const { None }; BOUNCE_PAGES],
            count: 0,
        };
        for slot in b.pages.iter_mut().take(want) {
            *slot = Some(Page::alloc_page(GFP_KERNEL).map_err(|_| IoError::Failed)?);
            b.count += 1;
        }
        Ok(b)
    }

    /// Calls `each(base + page offset, bytes)` for the pages holding the first `n` bytes;
    /// false when `each` asked to stop.
    fn visit(
        &self,
        base: usize,
        n: usize,
        each: &mut impl FnMut(usize, &mut [u8]) -> Result<bool, IoError>,
    ) -> Result<bool, IoError> {
        let mut at = 0usize;
        for page in self.pages.iter().flatten() {
            if at >= n {
                break;
            }
            let piece = (n - at).min(PAGE_SIZE);
            let pos = base.checked_add(at).ok_or(IoError::Failed)?;
            let go = with_mapped(page, |bytes| match bytes.get_mut(..piece) {
                Some(b) => each(pos, b),
                None => Err(IoError::Failed),
            })?;
            if !go {
                return Ok(false);
            }
            at += piece;
        }
        Ok(true)
    }
}

impl Backend for BlockIo {
    type Buf = SgBuffer;

    fn read(&self, lba: u64, blocks: u32, buf: &mut SgBuffer, off: usize) -> Result<(), IoError> {
        let len = span(blocks.into(), self.block_size)?;
        if len == 0 {
            return Ok(());
        }
        // The bios write into the pages `buf` (borrowed mutably here) owns.
        if self.direct_ok(buf, off, len) {
            return self.direct(lba, len, buf, off, false, false);
        }
        self.bounced(lba, len, false, false, |at, page| {
            let at = off.checked_add(at).ok_or(IoError::Failed)?;
            if buf.write_at(at, page) != page.len() {
                return Err(IoError::Failed);
            }
            Ok(true)
        })
    }

    fn write(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
        fua: bool,
    ) -> Result<(), IoError> {
        self.sg_io(lba, blocks, buf, off, true, fua)
    }

    fn flush(&self) -> Result<(), IoError> {
        // SAFETY: `bdev` is open (invariant).
        let rc = unsafe { bindings::blkdev_issue_flush(self.bdev.as_ptr()) };
        if rc < 0 {
            return Err(io_error(rc, true));
        }
        Ok(())
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), IoError> {
        let (sector, n) = (self.sector(lba)?, self.sectors(blocks)?);
        // SAFETY: `bdev` is open (invariant).
        let rc = unsafe {
            bindings::blkdev_issue_discard(self.bdev.as_ptr(), sector, n, bindings::GFP_KERNEL)
        };
        if rc < 0 {
            return Err(IoError::Failed);
        }
        Ok(())
    }

    fn write_same(
        &self,
        lba: u64,
        blocks: u64,
        block: Option<&SgBuffer>,
        unmap: bool,
    ) -> Result<(), IoError> {
        if blocks == 0 {
            return Ok(());
        }
        match block {
            Some(b) if !self.is_zero_block(b)? => self.write_pattern(lba, blocks, b),
            _ => {
                let (sector, n) = (self.sector(lba)?, self.sectors(blocks)?);
                // SAFETY: `bdev` is open (invariant).
                let rc = unsafe {
                    crate::bindings::ferrule_h_bdev_zeroout(
                        self.bdev.as_ptr().cast(),
                        sector,
                        n,
                        unmap,
                    )
                };
                if rc < 0 {
                    return Err(io_error(rc, true));
                }
                Ok(())
            }
        }
    }

    fn compare(
        &self,
        lba: u64,
        blocks: u32,
        buf: &SgBuffer,
        off: usize,
    ) -> Result<Compare, IoError> {
        let len = span(blocks.into(), self.block_size)?;
        let mut result = Compare::Match;
        let mut theirs = [0u8; COMPARE_CHUNK];
        self.bounced(lba, len, false, false, |at, medium| {
            let mut i = 0usize;
            while i < medium.len() {
                let n = (medium.len() - i).min(theirs.len());
                let pos = off
                    .checked_add(at)
                    .and_then(|p| p.checked_add(i))
                    .ok_or(IoError::Failed)?;
                let (Some(t), Some(m)) = (theirs.get_mut(..n), medium.get(i..i + n)) else {
                    return Err(IoError::Failed);
                };
                if buf.read_at(pos, t) != n {
                    return Err(IoError::Failed);
                }
                if let Some(p) = m.iter().zip(t.iter()).position(|(a, b)| a != b) {
                    let offset = at.saturating_add(i).saturating_add(p) as u64;
                    result = Compare::Miscompare { offset };
                    return Ok(false);
                }
                i += n;
            }
            Ok(true)
        })?;
        Ok(result)
    }

    // Atomic against other writes only through the engine's per-LU serialisation.
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

#[kernel::prelude::kunit_tests(ferrule_blockio)]
mod tests {
    use super::io_error;
    use kernel::error::code::*;
    use scst_core::backend::IoError;

    #[test]
    fn bio_errors_map_to_sense_classes() {
        let table = [
            (EIO, false, IoError::Read(None)),
            (EIO, true, IoError::Write(None)),
            (ENODATA, false, IoError::Read(None)),
            (EILSEQ, true, IoError::Write(None)),
            (ENOSPC, true, IoError::NoSpace),
            (ENOSPC, false, IoError::NoSpace),
            (ENOMEM, false, IoError::Failed),
            (EOPNOTSUPP, true, IoError::Failed),
            (ENODEV, false, IoError::Failed),
            (ETIMEDOUT, true, IoError::Failed),
        ];
        for (e, write, want) in table {
            assert_eq!(io_error(e.to_errno(), write), want);
        }
        // Not an errno at all (a positive value) is not a medium error either.
        assert_eq!(io_error(5, false), IoError::Failed);
    }
}
