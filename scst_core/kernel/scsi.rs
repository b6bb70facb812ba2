// SPDX-License-Identifier: GPL-2.0
//! Small safe wrappers over the SCSI midlayer's `struct scsi_cmnd` for the fabric side.

use crate::bindings;
use crate::sg_buffer::SgBuffer;
use core::ptr::NonNull;

/// Size of the midlayer's sense buffer (`SCSI_SENSE_BUFFERSIZE`).
pub(crate) const SENSE_LEN: usize = bindings::SCSI_SENSE_BUFFERSIZE as usize;

/// How a command ends.
pub(crate) struct Completion<'a> {
    /// SAM status byte.
    pub(crate) status: u8,
    /// Sense data (CHECK CONDITION); cut to [`SENSE_LEN`].
    pub(crate) sense: &'a [u8],
    /// Bytes of the data buffer not transferred.
    pub(crate) resid: u32,
}

/// A command owned by the fabric: from `queuecommand` accepting it until [`Self::complete`]
/// hands it back with `scsi_done`.
///
/// # Invariants
/// `self.0` is a live `scsi_cmnd` (with a live `device`) that the midlayer passed to
/// `queuecommand` and that has not been completed yet; only one `ScsiCmd` exists for it.
pub(crate) struct ScsiCmd(NonNull<bindings::scsi_cmnd>);

// SAFETY: ownership of an in-flight command may move between threads (queuecommand hands it
// to a worker); the midlayer does not touch it meanwhile except through the EH handlers,
// which wait for the worker (see local.rs).
unsafe impl Send for ScsiCmd {}

impl ScsiCmd {
    /// Takes ownership of an in-flight command.
    ///
    /// # Safety
    /// `cmd` was accepted by `queuecommand` and is not completed, and no other `ScsiCmd`
    /// for it exists.
    pub(crate) unsafe fn from_raw(cmd: *mut bindings::scsi_cmnd) -> Option<Self> {
        // INVARIANT: guaranteed by the caller.
        NonNull::new(cmd).map(ScsiCmd)
    }

    fn raw(&self) -> &bindings::scsi_cmnd {
        // SAFETY: by the type invariant the command is live; the fabric owns it, so the
        // midlayer does not write it while we read.
        unsafe { self.0.as_ref() }
    }

    /// The CDB (`cmd_len` bytes of `cmnd`).
    pub(crate) fn cdb(&self) -> &[u8] {
        let c = self.raw();
        c.cmnd.get(..usize::from(c.cmd_len)).unwrap_or(&c.cmnd)
    }

    /// The block layer's unique tag of the command: distinct among the host's outstanding
    /// commands, so it serves as the task tag.
    pub(crate) fn tag(&self) -> u32 {
        // SAFETY: the command is live (type invariant); the helper only reads its request.
        unsafe { bindings::ferrule_h_scsi_tag(self.0.as_ptr()) }
    }

    /// The Linux LUN number of the addressed device.
    pub(crate) fn lun(&self) -> u64 {
        // SAFETY: a queued command always has a live `device` (the midlayer holds a
        // reference on the scsi_device while commands are outstanding).
        unsafe { (*self.raw().device).lun }
    }

    /// Runs `f` with the command's data buffer. The buffer cannot outlive the call, so no
    /// access to the command's pages remains once the command completes.
    pub(crate) fn with_data<R>(&self, f: impl FnOnce(&mut SgBuffer) -> R) -> R {
        let cmd = self.0.as_ptr();
        // SAFETY: the command is live and owned by us (type invariant); these helpers only
        // read its data buffer descriptor.
        let (sgl, nents, len) = unsafe {
            (
                bindings::ferrule_h_scsi_sglist(cmd),
                bindings::ferrule_h_scsi_sg_count(cmd),
                bindings::ferrule_h_scsi_bufflen(cmd),
            )
        };
        // SAFETY: the midlayer mapped `nents` entries covering `len` bytes for this command;
        // they stay valid and ours until completion, which cannot happen while `&self` is
        // borrowed here, and the buffer is dropped before this function returns.
        let mut buf = unsafe { SgBuffer::new(sgl, nents, len as usize) };
        f(&mut buf)
    }

    /// Sets status, sense and residual, then gives the command back (`scsi_done`).
    pub(crate) fn complete(self, c: Completion<'_>) {
        let cmd = self.0.as_ptr();
        let n = c.sense.len().min(SENSE_LEN);
        // SAFETY: we own the live command (type invariant). `sense_buffer` is the midlayer's
        // SCSI_SENSE_BUFFERSIZE-byte buffer; we copy at most that many bytes. After
        // `scsi_done` nothing touches `cmd` again: `self` is consumed here.
        unsafe {
            let sense = (*cmd).sense_buffer;
            if !sense.is_null() {
                core::ptr::write_bytes(sense, 0, SENSE_LEN);
                core::ptr::copy_nonoverlapping(c.sense.as_ptr(), sense, n);
            }
            bindings::ferrule_h_scsi_set_resid(cmd, c.resid);
            // Host byte DID_OK, status byte from the target.
            (*cmd).result = i32::from(c.status);
            bindings::scsi_done(cmd);
        }
    }
}
