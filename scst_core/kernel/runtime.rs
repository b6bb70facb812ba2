// SPDX-License-Identifier: GPL-2.0
//! What happens when configuration goes live. The configfs tree calls a [`Runtime`] with the
//! config tree lock held; the command engine supplies its own implementation later. Until
//! then [`NoEngine`] does what is possible without one: it opens and sizes backends, and
//! refuses to enable targets.

use crate::config::{BackendKind, Backing, Device, Target};
use kernel::bindings;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use scst_core::types::Wwpn;

/// The engine hooks behind the configfs tree. Every call runs in process context under the
/// config tree mutex; a failing call leaves the configuration unchanged. `Err` carries the
/// errno and a short reason for the log line.
pub(crate) trait Runtime: Sync {
    /// Opens the device's backend (`dev.backing`) and fixes `dev.size`; called with
    /// `dev.enabled == false`.
    fn device_enable(&self, dev: &mut Device) -> Result<(), (Error, &'static str)>;
    /// Closes the backend; never fails (no enabled target maps the device).
    fn device_disable(&self, dev: &mut Device);
    /// Changes the size of an enabled device to `new_size` bytes (a multiple of the block
    /// size); raises CAPACITY DATA HAS CHANGED on its LUNs once an engine exists.
    fn device_resize(&self, dev: &mut Device, new_size: u64) -> Result<(), (Error, &'static str)>;
    /// Makes a target live (local: creates the SCSI host and scans).
    fn target_enable(
        &self,
        t: &Target,
        devices: &[KBox<Device>],
    ) -> Result<(), (Error, &'static str)>;
    /// Takes a target down after completing or aborting its commands.
    fn target_disable(&self, t: &Target);
    /// A LUN map or group membership of `t` changed (REPORTED LUNS DATA HAS CHANGED).
    fn lun_map_changed(&self, t: &Target, devices: &[KBox<Device>]);
    /// Appends one line per session of `t` (the caller wrote the header line).
    fn sessions(&self, t: &Target, out: &mut dyn core::fmt::Write) -> core::fmt::Result;
    /// Whether an FC port (HBA or NPIV vport) has this WWPN (`mkdir targets/qla2x00t/<wwpn>`).
    fn fc_port_exists(&self, wwpn: Wwpn) -> bool;
}

/// The runtime used until the engine plugs in.
pub(crate) struct NoEngine;

/// `O_RDWR | O_CREAT | O_LARGEFILE` as `filp_open` takes them.
const FILE_FLAGS: i32 = (bindings::O_RDWR | bindings::O_CREAT | bindings::O_LARGEFILE) as i32;

impl NoEngine {
    fn open_file(dev: &mut Device) -> Result<(), (Error, &'static str)> {
        // SAFETY: `path_cstr` is NUL-terminated and lives across the call; filp_open copies
        // it and returns an owned file reference or an ERR_PTR.
        let f = unsafe { bindings::filp_open(dev.path_cstr().as_ptr().cast(), FILE_FLAGS, 0o600) };
        let f = from_err_ptr(f).map_err(|e| (e, "cannot open the backing file"))?;
        // SAFETY: `f` is a live file we own.
        let cur = unsafe { crate::bindings::ferrule_h_file_size(f) };
        let is_reg = cur >= 0;
        let cur = u64::try_from(cur).unwrap_or(0);
        let want = if dev.size == 0 { cur } else { dev.size };
        let bs = u64::from(dev.cfg.block_size);
        let res = if !is_reg {
            Err((EINVAL, "the backing path is not a regular file"))
        } else if want == 0 {
            Err((EINVAL, "size is 0 and the file is empty"))
        } else if want.checked_rem(bs) != Some(0) {
            Err((EINVAL, "file size is not a multiple of block_size"))
        } else if want > cur {
            extend(f, want)
        } else {
            Ok(())
        };
        match res {
            Ok(()) => {
                dev.size = want;
                dev.backing = Some(Backing::File(f));
                Ok(())
            }
            Err(e) => {
                // SAFETY: we own `f` and drop our only reference.
                unsafe { bindings::filp_close(f, core::ptr::null_mut()) };
                Err(e)
            }
        }
    }

    fn open_bdev(dev: &mut Device) -> Result<(), (Error, &'static str)> {
        let holder: *mut Device = dev;
        // SAFETY: the path is NUL-terminated; the holder is a unique address (this device)
        // that stays valid while the bdev is open (the device box is freed only after
        // `device_disable` closed it).
        let f = unsafe {
            crate::bindings::ferrule_h_bdev_open(
                dev.path_cstr().as_ptr().cast(),
                !dev.cfg.read_only,
                holder.cast(),
            )
        };
        let f = from_err_ptr(f).map_err(|e| (e, "cannot open the block device"))?;
        // SAFETY: `f` is an open block device file.
        let bytes = unsafe { crate::bindings::ferrule_h_bdev_size(f) };
        let bytes = u64::try_from(bytes).unwrap_or(0);
        let bs = u64::from(dev.cfg.block_size);
        // SAFETY: `f` is an open block device file.
        let lbs = unsafe { crate::bindings::ferrule_h_bdev_logical_block_size(f.cast()) };
        if u64::from(lbs) > bs {
            // SAFETY: we own the only reference.
            unsafe { bindings::fput(f) };
            return Err((
                EINVAL,
                "the block device's logical block size is larger than block_size",
            ));
        }
        // SAFETY: as above.
        let discard = unsafe { crate::bindings::ferrule_h_bdev_max_discard_sectors(f.cast()) };
        if dev.cfg.thin && discard == 0 {
            // SAFETY: we own the only reference.
            unsafe { bindings::fput(f) };
            return Err((EINVAL, "thin needs a block device that supports discard"));
        }
        if bytes == 0 || bytes.checked_rem(bs) != Some(0) {
            // SAFETY: we own the only reference.
            unsafe { bindings::fput(f) };
            return Err((
                EINVAL,
                "block device size is 0 or not a multiple of block_size",
            ));
        }
        dev.size = bytes;
        dev.backing = Some(Backing::Bdev(f));
        Ok(())
    }
}

/// Grows an open file to `bytes` (never shrinks: data beyond the end is the user's).
fn extend(f: *mut bindings::file, bytes: u64) -> Result<(), (Error, &'static str)> {
    let len = i64::try_from(bytes).map_err(|_| (EINVAL, "size too large"))?;
    // SAFETY: `f` is an open file; `f_path` lives as long as the file and vfs_truncate takes
    // its own references.
    let rc = unsafe { bindings::vfs_truncate(&raw const (*f).__bindgen_anon_1.f_path, len) };
    if rc < 0 {
        return Err((Error::from_errno(rc), "cannot extend the backing file"));
    }
    Ok(())
}

impl Runtime for NoEngine {
    fn device_enable(&self, dev: &mut Device) -> Result<(), (Error, &'static str)> {
        match dev.backend {
            BackendKind::Nullio => {
                if dev.size == 0 {
                    return Err((EINVAL, "nullio needs size"));
                }
                Ok(())
            }
            BackendKind::Fileio => Self::open_file(dev),
            BackendKind::Blockio => Self::open_bdev(dev),
        }
    }

    fn device_disable(&self, dev: &mut Device) {
        match dev.backing.take() {
            // SAFETY: `device_enable` stored our only reference to the file.
            Some(Backing::File(f)) => unsafe {
                bindings::filp_close(f, core::ptr::null_mut());
            },
            // SAFETY: as above, for the block device file.
            Some(Backing::Bdev(f)) => unsafe { bindings::fput(f) },
            None => {}
        }
    }

    fn device_resize(&self, dev: &mut Device, new_size: u64) -> Result<(), (Error, &'static str)> {
        match (&dev.backing, dev.backend) {
            (_, BackendKind::Blockio) => Err((EINVAL, "blockio size is the device's size")),
            (Some(Backing::File(f)), BackendKind::Fileio) => {
                if new_size < dev.size {
                    return Err((EINVAL, "a live fileio device cannot shrink"));
                }
                extend(*f, new_size)?;
                dev.size = new_size;
                Ok(())
            }
            _ => {
                dev.size = new_size;
                Ok(())
            }
        }
    }

    fn target_enable(
        &self,
        _t: &Target,
        _devices: &[KBox<Device>],
    ) -> Result<(), (Error, &'static str)> {
        Err((EOPNOTSUPP, "no command engine in this build"))
    }

    fn target_disable(&self, _t: &Target) {}

    fn lun_map_changed(&self, _t: &Target, _devices: &[KBox<Device>]) {}

    fn sessions(&self, _t: &Target, _out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        Ok(())
    }

    fn fc_port_exists(&self, _wwpn: Wwpn) -> bool {
        false
    }
}
