// SPDX-License-Identifier: GPL-2.0
//! The `local_demo=1` target (an engine with a nullio LUN 0 and a RAM LUN 1, built without
//! configfs) and the completion of a command back to the midlayer.
//!
//! The demo target runs on the same engine as configfs targets (`target_engine.rs`): its ACL
//! has a group `local` holding the loopback initiator's fixed WWPN with both LUNs, and the
//! initiator is logged in as a session like any other.

use crate::nullio::NullIo;
use crate::ramdisk::RamDisk;
use crate::scsi::{Completion, ScsiCmd};
use crate::store::{Io, LuBackend, Store};
use crate::target_engine::Engine;
use kernel::prelude::*;
use kernel::sync::Arc;
use scst_core::acl::AclTable;
use scst_core::device::{naa_registered_extended, DeviceConfig};
use scst_core::exec::{CmdResult, Residual};
use scst_core::types::{DeviceId, Wwpn};

/// WWPN the loopback initiator presents (NAA 5, locally made up: no fabric sees it).
pub(crate) const LOCAL_INITIATOR_WWPN: Wwpn = Wwpn(0x5001_4050_0000_0001);
/// WWPN of the local target port.
pub(crate) const LOCAL_TARGET_WWPN: Wwpn = Wwpn(0x5001_4050_0000_1000);
/// Logical block size of the demo LUNs.
pub(crate) const BLOCK_SIZE: u32 = 512;
/// Midlayer transfer limit in 512-byte sectors; equal to the LUs' `max_xfer_blocks`, so the
/// initiator never builds a command the LU must refuse.
pub(crate) const MAX_SECTORS: u32 = 8192;
/// OUI for the NAA designators (the "locally administered" convention is not available for
/// NAA 6, so use the one LIO uses for its own made-up designators).
const NAA_OUI: u32 = 0x001405;

/// Device ids of the demo LUs in the ACL map.
const NULL_DEVICE: DeviceId = DeviceId(0);
const RAM_DEVICE: DeviceId = DeviceId(1);

/// Empty ACL table: a const so boxing it copies from .rodata instead of building the
/// ~150 KiB value on the stack.
const EMPTY_ACL: AclTable = AclTable::new();

/// The demo ACL: group `local` = the loopback initiator, LUN 0 nullio, LUN 1 RAM.
fn demo_acl() -> Result<KBox<AclTable>> {
    let mut acl = KBox::new_uninit(GFP_KERNEL)?.write(EMPTY_ACL);
    let refused = |e| {
        pr_err!("local: demo ACL refused: {:?}\n", e);
        EINVAL
    };
    let g = acl.add_group(b"local").map_err(refused)?;
    acl.add_initiator(g, LOCAL_INITIATOR_WWPN)
        .map_err(refused)?;
    acl.map_lun(g, 0, NULL_DEVICE, false).map_err(refused)?;
    acl.map_lun(g, 1, RAM_DEVICE, false).map_err(refused)?;
    Ok(acl)
}

/// Space-padded copy of `s` into an `N`-byte identification field.
const fn padded<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [b' '; N];
    let mut i = 0;
    while i < N && i < s.len() {
        out[i] = s[i];
        i += 1;
    }
    out
}

/// Configuration of a demo LU: `blocks` blocks, `product`, serial and NAA from `index`.
// Not inlined: keeps the init path's stack frames small.
#[inline(never)]
fn lu_config(blocks: u64, product: &[u8], index: u8) -> Result<DeviceConfig> {
    let mut c = DeviceConfig::new(blocks);
    c.block_size = BLOCK_SIZE;
    c.product = padded(product);
    c.max_xfer_blocks = MAX_SECTORS;
    c.set_serial(&[
        b'F',
        b'R',
        b'L',
        b'L',
        b'O',
        b'C',
        b'0',
        b'0',
        b'0',
        b'0' + index,
    ]);
    c.naa = naa_registered_extended(NAA_OUI, 0x0_4652_4c00, u64::from(index));
    c.validate().map_err(|_| EINVAL)?;
    Ok(c)
}

/// The `local_demo=1` target's engine: LUN 0 nullio of `null_blocks`, LUN 1 a RAM disk of
/// `ram_bytes` (rounded down to blocks), both for the loopback initiator.
pub(crate) fn demo_engine(null_blocks: u64, ram_bytes: usize) -> Result<Arc<Engine>> {
    let bs = BLOCK_SIZE as usize;
    let ram_blocks = ram_bytes.checked_div(bs).unwrap_or(0);
    let ram_bytes = ram_blocks.checked_mul(bs).ok_or(EINVAL)?;
    let null_config = lu_config(null_blocks, b"NULLIO", 0)?;
    let ram_config = lu_config(ram_blocks as u64, b"RAMDISK", 1)?;
    let ram = KBox::pin_init(RamDisk::new(ram_bytes, bs)?, GFP_KERNEL)?;
    let mut store = Store::new();
    store.add(
        NULL_DEVICE,
        null_config,
        LuBackend::new(Io::Null(NullIo::new(bs)))?,
        None,
    )?;
    store.add(RAM_DEVICE, ram_config, LuBackend::new(Io::Ram(ram))?, None)?;
    Engine::with_store(
        &*demo_acl()?,
        store,
        crate::target_engine::LOCAL_PORT,
        LOCAL_TARGET_WWPN,
        1,
        &[LOCAL_INITIATOR_WWPN],
        None,
    )
    .map_err(|(e, why)| {
        pr_err!("local: demo target: {}\n", why);
        e
    })
}

/// Hands `result` to the midlayer.
pub(crate) fn complete(cmd: ScsiCmd, result: &CmdResult, d_sense: bool) {
    let mut sense = [0u8; crate::scsi::SENSE_LEN];
    let sense_len = result.write_sense(d_sense, &mut sense);
    let resid = match result.residual {
        Residual::Underrun(n) => u32::try_from(n).unwrap_or(u32::MAX),
        // The midlayer has no overrun residual: the buffer was filled, nothing is missing.
        Residual::None | Residual::Overrun(_) => 0,
    };
    cmd.complete(Completion {
        status: result.status as u8,
        sense: sense.get(..sense_len).unwrap_or(&[]),
        resid,
    });
}
