// SPDX-License-Identifier: GPL-2.0
//! A [`DataBuffer`] over a command's scatterlist: backends copy straight between their
//! storage and the initiator's pages (one copy, no bounce buffer).

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
