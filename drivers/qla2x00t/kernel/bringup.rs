// SPDX-License-Identifier: GPL-2.0
//! The bring-up sequence every backend runs (PCI probe, soft-ISP attach), in two halves
//! around the backend's own interrupt-line setup:
//!
//! 1. [`quiesce_and_reset`]: interrupts off at the chip, RISC reset (before any handler can
//!    see the chip: it may come from another driver).
//! 2. (backend) request the interrupt line(s).
//! 3. [`start`]: request_firmware + LOAD RISC RAM + VERIFY + EXECUTE (polled), interrupts on,
//!    GET FIRMWARE VERSION; then, when the port and node names are known, INITIALIZE FIRMWARE
//!    (target mode), GET ADAPTER ID and GET FIRMWARE STATE, interrupt-completed.
//!
//! PCI has no NVRAM read yet, so it passes no names and stops after the version (the port
//! is not initialised); the soft ISP supplies its names and runs the whole sequence.

use crate::qla2x00t::bus::IspBus;
use crate::qla2x00t::chip::VectorKind;
use crate::qla2x00t::hba::{Hba, MBX_TIMEOUT_MS};
use kernel::device::{Bound, Device};
use kernel::prelude::*;
use qla2x00t_proto::mailbox::{FwState, MailboxCmd};
use scst_core::types::{PortId, Wwpn};

/// Logs the failed bring-up step once and passes the error on.
pub(crate) fn step<T>(dev: &Device<Bound>, what: &str, r: Result<T>) -> Result<T> {
    r.inspect_err(|e| {
        dev_err!(
            dev,
            "qla2x00t: bring-up failed at {}: errno {}\n",
            what,
            e.to_errno()
        )
    })
}

/// Step 1: masks RISC interrupts and resets the RISC.
pub(crate) fn quiesce_and_reset<B: IspBus>(hba: &Hba<B>) -> Result {
    hba.disable_interrupts();
    step(hba.bus.dma_device(), "RISC reset", hba.reset_risc())
}

/// Where GET ADAPTER ID put the port.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdapterId {
    /// The N_Port ID the fabric assigned.
    pub(crate) port_id: PortId,
    /// Topology code (mailbox 6).
    pub(crate) topology: u16,
}

/// What [`start`] found.
pub(crate) struct Started {
    /// (major, minor, subminor, attributes) from GET FIRMWARE VERSION.
    pub(crate) version: (u16, u16, u16, u16),
    /// Whether INITIALIZE FIRMWARE ran (names were given).
    pub(crate) initialized: bool,
    /// GET ADAPTER ID result; `None` while the link is down.
    pub(crate) adapter_id: Option<AdapterId>,
    /// GET FIRMWARE STATE (mb1), when initialised.
    pub(crate) fw_state: Option<u16>,
}

/// GET ADAPTER ID for the physical port: `None` when the firmware refuses (link down).
pub(crate) fn adapter_id<B: IspBus>(hba: &Hba<B>) -> Option<AdapterId> {
    let mb = hba
        .mailbox(&MailboxCmd::get_adapter_id(0), MBX_TIMEOUT_MS)
        .ok()?;
    let id = (u32::from(mb[3] & 0xff) << 16) | u32::from(mb[2]);
    Some(AdapterId {
        port_id: PortId::new(id),
        topology: mb[6],
    })
}

/// Step 3, after the backend requested its interrupt line(s) for `kind`. On error the chip
/// is left quiesced (interrupts off, RISC reset).
pub(crate) fn start<B: IspBus>(
    hba: &Hba<B>,
    kind: VectorKind,
    names: Option<(Wwpn, Wwpn)>,
) -> Result<Started> {
    let dev = hba.bus.dma_device();
    let fw_name = crate::qla2x00t::firmware_name(&hba.chip);
    let fw = step(
        dev,
        "request_firmware",
        kernel::firmware::Firmware::request(fw_name, dev),
    )?;
    // Polled mailboxes until the firmware runs; interrupts from then on.
    let started = hba.load_and_start_firmware(fw.data());
    drop(fw);
    let r = step(dev, "firmware load", started).and_then(|_| {
        hba.enable_interrupts();
        let version = step(dev, "GET FIRMWARE VERSION", hba.firmware_version())?;
        hba.reset_queue_pointers();
        let Some((port, node)) = names else {
            return Ok(Started {
                version,
                initialized: false,
                adapter_id: None,
                fw_state: None,
            });
        };
        step(
            dev,
            "INITIALIZE FIRMWARE",
            hba.initialize_firmware(port, node, kind),
        )?;
        let fw_state = hba
            .mailbox(&MailboxCmd::get_firmware_state(), MBX_TIMEOUT_MS)
            .ok()
            .map(|mb| mb[1]);
        Ok(Started {
            version,
            initialized: true,
            adapter_id: adapter_id(hba),
            fw_state,
        })
    });
    if r.is_err() {
        hba.shutdown();
    }
    r
}

/// The firmware-state name for the log.
pub(crate) fn fw_state_name(state: Option<u16>) -> &'static str {
    match state.and_then(FwState::from_u16) {
        Some(FwState::Ready) => "ready",
        Some(FwState::LossOfSync) => "loss of sync (link down)",
        Some(FwState::ConfigWait) => "config wait",
        Some(FwState::WaitAlPa | FwState::WaitLogin) => "waiting for login",
        Some(_) => "other",
        None => "unknown",
    }
}
