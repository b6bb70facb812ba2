// SPDX-License-Identifier: GPL-2.0
//! A [`DataBuffer`] over a command's scatterlist: backends copy straight between their
//! storage and the initiator's pages (one copy, no bounce buffer).

use core::marker::PhantomData;
use kernel::bindings;
use scst_core::backend::DataBuffer;

/// The data buffer of one SCSI command, as the midlayer mapped it.
///
/// # Invariants
/// `sgl` heads a scatterlist of `nents` mapped entries holding at least `len` bytes, and
/// nothing else touches those pages while this value lives: it is built on the worker that
/// owns the command and dropped before the command is completed. (No lifetime parameter:
/// `Backend::Buf` is one fixed type, so the constructor's contract carries the bound.)
pub(crate) struct SgBuffer {
    sgl: *mut bindings::scatterlist,
    nents: u32,
    len: usize,
}

impl SgBuffer {
    /// Wraps a command's scatterlist.
    ///
    /// # Safety
    /// `sgl`/`nents` must describe a valid scatterlist covering `len` bytes that stays valid
    /// and unshared until the returned value is dropped (or `len` must be 0).
    pub(crate) unsafe fn new(sgl: *mut bindings::scatterlist, nents: u32, len: usize) -> Self {
        // INVARIANT: guaranteed by the caller.
        SgBuffer {
            sgl,
            nents,
            len: if sgl.is_null() || nents == 0 { 0 } else { len },
        }
    }

    /// `sg_copy_buffer` for `n` bytes at `off`, after clamping to the buffer's end.
    fn copy(&self, off: usize, buf: *mut u8, n: usize, to_buffer: bool) -> usize {
        let Some(room) = self.len.checked_sub(off) else {
            return 0;
        };
        let n = n.min(room);
        let Ok(skip) = bindings::off_t::try_from(off) else {
            return 0;
        };
        if n == 0 {
            return 0;
        }
        // SAFETY: by the type invariant the scatterlist is valid and covers `self.len` bytes,
        // of which `off..off + n` is in range; `buf` is valid for `n` bytes (the callers pass
        // a slice at least that long, mutable when the copy writes to it).
        unsafe { bindings::sg_copy_buffer(self.sgl, self.nents, buf.cast(), n, skip, to_buffer) }
    }

    /// Moves `len` bytes at `off` between the buffer's pages and `file` at byte `pos`
    /// (zero-copy: the file's pages are copied straight into/out of ours). Returns the bytes
    /// moved (short at end of file) or the errno.
    fn file_io(
        &self,
        file: *mut bindings::file,
        off: usize,
        len: usize,
        pos: u64,
        write: bool,
    ) -> Result<usize, kernel::error::Error> {
        let end = off.checked_add(len).ok_or(kernel::error::code::EINVAL)?;
        let pos = i64::try_from(pos).map_err(|_| kernel::error::code::EINVAL)?;
        if end > self.len {
            return Err(kernel::error::code::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        // SAFETY: by the type invariant the scatterlist covers `self.len` bytes, of which
        // `off..end` is in range; `file` is an open file (caller); the helper only touches
        // those pages and the file.
        let n = unsafe {
            crate::bindings::ferrule_h_sg_file_io(
                file.cast(),
                self.sgl.cast(),
                self.nents,
                off as _,
                len as _,
                pos,
                write,
            )
        };
        usize::try_from(n).map_err(|_| kernel::error::Error::from_errno(n as i32))
    }

    /// Reads `len` bytes of `file` at `pos` into the buffer at `off`. `file` is open.
    pub(crate) fn read_from_file(
        &mut self,
        file: *mut bindings::file,
        off: usize,
        len: usize,
        pos: u64,
    ) -> Result<usize, kernel::error::Error> {
        self.file_io(file, off, len, pos, false)
    }

    /// Zeroes `len` bytes at `off` in one pass over the scatterlist (`sg_zero_buffer`);
    /// returns the bytes zeroed (short at the buffer's end).
    pub(crate) fn zero(&mut self, off: usize, len: usize) -> usize {
        let Some(room) = self.len.checked_sub(off) else {
            return 0;
        };
        let n = len.min(room);
        let Ok(skip) = bindings::off_t::try_from(off) else {
            return 0;
        };
        if n == 0 {
            return 0;
        }
        // SAFETY: by the type invariant the scatterlist is valid, covers `self.len` bytes of
        // which `off..off + n` is in range, and is ours to write (`&mut self`).
        unsafe { bindings::sg_zero_buffer(self.sgl, self.nents, n, skip) }
    }

    /// Writes `len` bytes of the buffer at `off` to `file` at `pos`. `file` is open.
    pub(crate) fn write_to_file(
        &self,
        file: *mut bindings::file,
        off: usize,
        len: usize,
        pos: u64,
    ) -> Result<usize, kernel::error::Error> {
        self.file_io(file, off, len, pos, true)
    }
}

/// A piece of an [`SgBuffer`] inside one scatterlist entry, for building bios over the
/// command's own pages. Borrows the buffer, so the pages stay valid while it lives.
pub(crate) struct SgSegment<'a> {
    entry: *mut bindings::scatterlist,
    /// Byte offset of the piece from the start of the entry's data.
    skip: u32,
    len: u32,
    _buf: PhantomData<&'a SgBuffer>,
}

impl SgSegment<'_> {
    /// The entry's first page (the piece starts `offset()` bytes into it, possibly past the
    /// first page: an entry covers physically contiguous pages).
    pub(crate) fn page(&self) -> *mut bindings::page {
        // SAFETY: `entry` is a valid entry of the borrowed buffer's scatterlist (built only by
        // `SgBuffer::for_each_segment`, whose borrow `'a` keeps the list alive).
        unsafe { crate::bindings::ferrule_h_sg_page(self.entry.cast()).cast() }
    }

    /// Byte offset of the piece from the start of `page()`.
    pub(crate) fn offset(&self) -> u32 {
        // SAFETY: as in `page`.
        let base = unsafe { (*self.entry).offset };
        base.saturating_add(self.skip)
    }

    /// Length in bytes (never 0).
    pub(crate) fn len(&self) -> u32 {
        self.len
    }
}

impl SgBuffer {
    /// Calls `f` for each piece of `[off, off + len)`, one per scatterlist entry it touches,
    /// in order. Stops at the first error. `Err(EINVAL)` when the range is outside the buffer.
    /// (A read into the pieces needs the `&mut SgBuffer` the backend gets for it.)
    pub(crate) fn for_each_segment<'a, E: From<kernel::error::Error>>(
        &'a self,
        off: usize,
        len: usize,
        mut f: impl FnMut(SgSegment<'a>) -> Result<(), E>,
    ) -> Result<(), E> {
        let end = off.checked_add(len).ok_or(kernel::error::code::EINVAL)?;
        if end > self.len {
            return Err(kernel::error::code::EINVAL.into());
        }
        let mut skip = off;
        let mut left = len;
        let mut sg = self.sgl;
        let mut i = 0u32;
        while left > 0 && i < self.nents && !sg.is_null() {
            // SAFETY: by the type invariant `sgl` heads `nents` valid entries and `sg` is
            // entry `i < nents`, reached with `sg_next`.
            let entry_len = unsafe { (*sg).length } as usize;
            if skip >= entry_len {
                skip -= entry_len;
            } else {
                let n = (entry_len - skip).min(left);
                f(SgSegment {
                    entry: sg,
                    // Both fit: `skip < n + skip <= entry_len`, a u32.
                    skip: skip as u32,
                    len: n as u32,
                    _buf: PhantomData,
                })?;
                left -= n;
                skip = 0;
            }
            i = i.wrapping_add(1);
            if i < self.nents {
                // SAFETY: `sg` is a valid entry that is not the last of the list.
                sg = unsafe { bindings::sg_next(sg) };
            }
        }
        if left > 0 {
            // The invariant says the list covers `self.len`; do not trust it blindly.
            return Err(kernel::error::code::EINVAL.into());
        }
        Ok(())
    }
}

impl DataBuffer for SgBuffer {
    fn len(&self) -> usize {
        self.len
    }

    fn read_at(&self, off: usize, dst: &mut [u8]) -> usize {
        self.copy(off, dst.as_mut_ptr(), dst.len(), true)
    }

    fn write_at(&mut self, off: usize, src: &[u8]) -> usize {
        // `sg_copy_buffer` only reads `buf` when copying into the scatterlist.
        self.copy(off, src.as_ptr().cast_mut(), src.len(), false)
    }
}

#[kernel::prelude::kunit_tests(ferrule_local_sg)]
mod tests {
    use super::SgBuffer;
    use crate::nullio::NullIo;
    use crate::ramdisk::RamDisk;
    use kernel::bindings;
    use kernel::prelude::*;
    use scst_core::backend::{Backend, Compare, DataBuffer};

    /// Entry lengths: a short head, a page, an odd tail (4233 bytes in all).
    const LENS: [usize; 3] = [100, 4096, 37];
    const TOTAL: usize = 4233;

    /// A three-entry scatterlist over kmalloc'd buffers (linear map, as sg needs).
    struct Sg {
        table: KBox<[bindings::scatterlist; 3]>,
        bufs: KVec<KVec<u8>>,
    }

    impl Sg {
        fn new(fill: u8) -> Result<Self> {
            let mut bufs = KVec::new();
            for len in LENS {
                bufs.push(KVec::from_elem(fill, len, GFP_KERNEL)?, GFP_KERNEL)?;
            }
            // SAFETY: all-zero is a valid (empty) scatterlist entry; sg_init_table resets it.
            let zeroed: [bindings::scatterlist; 3] = unsafe { core::mem::zeroed() };
            let mut table = KBox::new(zeroed, GFP_KERNEL)?;
            let sgl: *mut bindings::scatterlist = table.as_mut_ptr();
            // SAFETY: `table` holds 3 entries; every buffer is kmalloc memory of its length
            // that outlives the table (both owned by `Sg`, the KVec data never moves).
            unsafe {
                bindings::sg_init_table(sgl, 3);
                for (i, b) in bufs.iter().enumerate() {
                    crate::bindings::ferrule_h_sg_set_buf(
                        sgl.add(i),
                        b.as_ptr().cast(),
                        b.len() as u32,
                    );
                }
            }
            Ok(Sg { table, bufs })
        }

        fn buffer(&mut self) -> SgBuffer {
            // SAFETY: the table and buffers live in `self`, which the test keeps alive and
            // does not touch while the returned buffer is in use.
            unsafe { SgBuffer::new(self.table.as_mut_ptr(), 3, TOTAL) }
        }

        /// Byte at a global offset, read from the backing buffers directly.
        fn byte(&self, mut off: usize) -> u8 {
            for b in self.bufs.iter() {
                if off < b.len() {
                    return b[off];
                }
                off -= b.len();
            }
            0xee
        }
    }

    fn pattern(i: usize) -> u8 {
        (i as u8).wrapping_mul(7).wrapping_add(1)
    }

    #[test]
    fn write_and_read_cross_entries() -> Result {
        let mut sg = Sg::new(0)?;
        let mut pat = [0u8; 300];
        for (i, p) in pat.iter_mut().enumerate() {
            *p = pattern(i);
        }
        let mut buf = sg.buffer();
        assert_eq!(buf.len(), TOTAL);
        assert_eq!(buf.write_at(50, &pat), 300);
        let mut back = [0u8; 300];
        assert_eq!(buf.read_at(50, &mut back), 300);
        assert!(back == pat);
        drop(buf);
        assert_eq!(sg.byte(49), 0);
        assert_eq!(sg.byte(50), pattern(0));
        assert_eq!(sg.byte(99), pattern(49));
        assert_eq!(sg.byte(100), pattern(50));
        assert_eq!(sg.byte(349), pattern(299));
        assert_eq!(sg.byte(350), 0);
        Ok(())
    }

    /// (length, offset into the first page) of each piece of `[off, off + len)`.
    fn pieces(buf: &SgBuffer, off: usize, len: usize) -> Result<KVec<(u32, u32)>> {
        let mut v = KVec::new();
        buf.for_each_segment(off, len, |s| -> Result {
            v.push((s.len(), s.offset()), GFP_KERNEL)?;
            Ok(())
        })?;
        Ok(v)
    }

    #[test]
    fn segments_follow_the_entries() -> Result {
        let mut sg = Sg::new(0)?;
        let base: [u32; 3] = [0, 1, 2].map(|i| (sg.bufs[i].as_ptr() as usize & 4095) as u32);
        let buf = sg.buffer();
        let all = pieces(&buf, 50, TOTAL - 50)?;
        assert_eq!(
            &all[..],
            &[(50, base[0] + 50), (4096, base[1]), (37, base[2])]
        );
        let inner = pieces(&buf, 200, 1000)?;
        assert_eq!(&inner[..], &[(1000, base[1] + 100)]);
        let edge = pieces(&buf, 99, 2)?;
        assert_eq!(&edge[..], &[(1, base[0] + 99), (1, base[1])]);
        assert_eq!(pieces(&buf, 300, 0)?.len(), 0);
        assert!(pieces(&buf, 1, TOTAL).is_err());
        assert!(pieces(&buf, usize::MAX, 2).is_err());
        // The walk stops at the first error the callback returns.
        let mut calls = 0;
        let r = buf.for_each_segment(0, TOTAL, |_| -> Result {
            calls += 1;
            Err(EIO)
        });
        assert_eq!((r, calls), (Err(EIO), 1));
        Ok(())
    }

    #[test]
    fn clamps_at_the_end() -> Result {
        let mut sg = Sg::new(0)?;
        let mut buf = sg.buffer();
        assert_eq!(buf.write_at(TOTAL - 10, &[0xaa; 20]), 10);
        let mut d = [0u8; 8];
        assert_eq!(buf.read_at(TOTAL, &mut d), 0);
        assert_eq!(buf.read_at(TOTAL + 5000, &mut d), 0);
        assert_eq!(buf.read_at(TOTAL - 3, &mut d), 3);
        assert_eq!(d, [0xaa, 0xaa, 0xaa, 0, 0, 0, 0, 0]);
        drop(buf);
        assert_eq!(sg.byte(TOTAL - 11), 0);
        assert_eq!(sg.byte(TOTAL - 10), 0xaa);
        // SAFETY: a null list is allowed and means "no data".
        let empty = unsafe { SgBuffer::new(core::ptr::null_mut(), 0, 4096) };
        assert_eq!(empty.len(), 0);
        Ok(())
    }

    #[test]
    fn nullio_reads_zeroes_and_compares_with_zero() -> Result {
        let mut sg = Sg::new(0xff)?;
        let null = NullIo::new(512);
        let mut buf = sg.buffer();
        assert!(null.read(7, 8, &mut buf, 100).is_ok());
        drop(buf);
        assert_eq!(sg.byte(99), 0xff);
        assert_eq!(sg.byte(100), 0);
        assert_eq!(sg.byte(4195), 0);
        assert_eq!(sg.byte(4196), 0xff);
        sg.bufs[1][600] = 1;
        let buf = sg.buffer();
        assert_eq!(
            null.compare(0, 8, &buf, 100),
            Ok(Compare::Miscompare { offset: 600 })
        );
        assert_eq!(
            null.compare(0, 1, &buf, 0),
            Ok(Compare::Miscompare { offset: 0 })
        );
        Ok(())
    }

    #[test]
    fn ramdisk_round_trip_and_compare() -> Result {
        let ram = KBox::pin_init(RamDisk::new(64 * 512, 512)?, GFP_KERNEL)?;
        let mut sg = Sg::new(0)?;
        for (i, b) in sg.bufs[1].iter_mut().enumerate() {
            *b = pattern(i);
        }
        let buf = sg.buffer();
        assert!(ram.write(3, 8, &buf, 100, false).is_ok());
        assert_eq!(ram.compare(3, 8, &buf, 100), Ok(Compare::Match));
        drop(buf);
        for b in sg.bufs.iter_mut() {
            b.fill(0);
        }
        let mut buf = sg.buffer();
        assert!(ram.read(3, 8, &mut buf, 100).is_ok());
        drop(buf);
        for i in 0..4096 {
            assert_eq!(sg.byte(100 + i), pattern(i));
        }
        sg.bufs[1][1000] ^= 0x55;
        let buf = sg.buffer();
        assert_eq!(
            ram.compare(3, 8, &buf, 100),
            Ok(Compare::Miscompare { offset: 1000 })
        );
        // Out of range is an error, not a panic.
        assert!(ram.compare(60, 8, &buf, 100).is_err());
        Ok(())
    }
}
