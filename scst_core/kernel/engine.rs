// SPDX-License-Identifier: GPL-2.0
//! Command execution for the local fabric: one SCSI command from the Linux midlayer through
//! `scst_core::exec` against the addressed LU, on a workqueue thread.
//!
//! LUN routing goes through scst_core's ACL model, as FC sessions will: the target's
//! `AclTable` has a group `local` holding the loopback initiator's fixed WWPN with LUN 0
//! (nullio) and LUN 1 (RAM); the nexus's `ResolvedMap` is resolved from that WWPN once at
//! creation, and every command looks its LUN up in it. (The identity table is not used: it
//! keys FC logins by N_Port ID and handle, which a loopback nexus does not have.)

use crate::nullio::NullIo;
use crate::ramdisk::RamDisk;
use crate::scsi::{Completion, ScsiCmd};
use crate::sg_buffer::SgBuffer;
use kernel::prelude::*;
use scst_core::acl::{AclTable, ResolvedMap};
use scst_core::backend::Backend;
use scst_core::device::{naa_registered_extended, DeviceConfig, LuState};
use scst_core::exec::{self, CmdContext, CmdResult, Lu, NoHooks, Residual};
use scst_core::types::{DeviceId, LocalPort, Lun, PortId, TaskAttr, Wwpn};

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
/// Unresolved map, same reason (~2 KiB).
const EMPTY_MAP: ResolvedMap = ResolvedMap::new();

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

/// Initialises a map in place with what `acl` resolves `initiator` to.
fn resolved_map(acl: KBox<AclTable>, initiator: Wwpn) -> impl Init<ResolvedMap, Error> {
    // SAFETY: the closure fully initialises `*slot` (a const value, then resolved in place)
    // and never fails afterwards.
    unsafe {
        pin_init::init_from_closure(move |slot: *mut ResolvedMap| {
            slot.write(EMPTY_MAP);
            acl.resolve_into(initiator, &mut *slot);
            Ok(())
        })
    }
}

/// The LUNs of one local target (LUN 0 nullio, LUN 1 RAM) and the nexus's LUN map.
#[pin_data]
pub(crate) struct LocalLuns {
    null_config: DeviceConfig,
    null_state: LuState,
    null: NullIo,
    ram_config: DeviceConfig,
    ram_state: LuState,
    #[pin]
    ram: RamDisk,
    /// The loopback nexus's LUN map, resolved from [`LOCAL_INITIATOR_WWPN`].
    map: ResolvedMap,
    /// What REPORT LUNS shows: the map's LUNs (fixed until configfs exists).
    luns: [Lun; 2],
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

impl LocalLuns {
    /// A nullio LU of `null_blocks` and a RAM LU of `ram_bytes` (rounded down to blocks).
    pub(crate) fn new(null_blocks: u64, ram_bytes: usize) -> Result<impl PinInit<Self, Error>> {
        let bs = BLOCK_SIZE as usize;
        let ram_blocks = ram_bytes.checked_div(bs).unwrap_or(0);
        let ram_bytes = ram_blocks.checked_mul(bs).ok_or(EINVAL)?;
        let null_config = lu_config(null_blocks, b"NULLIO", 0)?;
        let ram_config = lu_config(ram_blocks as u64, b"RAMDISK", 1)?;
        let ram = RamDisk::new(ram_bytes, bs)?;
        let acl = demo_acl()?;
        let mut luns = [Lun(0); 2];
        let mut n = 0;
        for (lun, _) in acl.luns_of(acl.resolve(LOCAL_INITIATOR_WWPN)) {
            *luns.get_mut(n).ok_or(EINVAL)? = Lun::from_index(lun);
            n += 1;
        }
        if n != luns.len() {
            return Err(EINVAL);
        }
        Ok(try_pin_init!(LocalLuns {
            null_state: LuState::new(&null_config),
            null_config,
            null: NullIo::new(bs),
            ram_state: LuState::new(&ram_config),
            ram_config,
            ram <- ram,
            map <- resolved_map(acl, LOCAL_INITIATOR_WWPN),
            luns,
        }? Error))
    }

    /// Executes `cmd` and completes it back to the midlayer.
    pub(crate) fn execute(&self, cmd: ScsiCmd) {
        let linux_lun = cmd.lun();
        let lun = u16::try_from(linux_lun).map_or(Lun(u64::MAX), Lun::from_index);
        let ctx = CmdContext {
            initiator: LOCAL_INITIATOR_WWPN,
            initiator_port_id: PortId::new(0),
            local_port: LocalPort {
                target: 0,
                vp_index: 0,
            },
            lun,
            target_wwpn: LOCAL_TARGET_WWPN,
            rel_port_id: 1,
            tpg_id: 0,
            tpg_ports: &[],
            luns: &self.luns,
            pending_sense: None,
            attr: TaskAttr::Simple,
        };
        let cdb = cmd.cdb();
        let (result, d_sense) = cmd.with_data(|buf| match linux_lun {
            0 => run(
                &self.null_config,
                &self.null_state,
                &self.null,
                &ctx,
                cdb,
                buf,
            ),
            1 => run(&self.ram_config, &self.ram_state, &self.ram, &ctx, cdb, buf),
            _ => (exec::execute_no_lu(&ctx, cdb, buf), false),
        });
        complete(cmd, &result, d_sense);
    }
}

/// Runs one command on an LU; returns the result and whether sense is descriptor format.
pub(crate) fn run<B: Backend<Buf = SgBuffer>>(
    config: &DeviceConfig,
    state: &LuState,
    backend: &B,
    ctx: &CmdContext<'_>,
    cdb: &[u8],
    buf: &mut SgBuffer,
) -> (CmdResult, bool) {
    let lu = Lu {
        config,
        state,
        backend,
    };
    let r = exec::execute(&lu, ctx, cdb, buf, &mut NoHooks);
    (r, state.d_sense())
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
