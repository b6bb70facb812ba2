// SPDX-License-Identifier: GPL-2.0
//! The bring-up sequence every backend runs (PCI probe, soft-ISP attach), in two halves
//! around the backend's own interrupt-line setup:
//!
//! 1. [`quiesce_and_reset`]: interrupts off at the chip, RISC reset (before any handler can
//!    see the chip: it may come from another driver).
//! 2. (backend) request the interrupt line(s).
//! 3. [`start`]: request_firmware + LOAD RISC RAM + VERIFY + EXECUTE (polled), interrupts on,
//!    GET FIRMWARE VERSION; the NVRAM (flash registers) for the port and node names; then,
//!    when the names are known, INITIALIZE FIRMWARE (target mode), GET ADAPTER ID and GET
//!    FIRMWARE STATE, interrupt-completed.
//!
//! Names: PCI reads the function's NVRAM (24xx/25xx); an NVRAM that is invalid or cannot be
//! read fails the bring-up with one log line saying why: no WWPN is ever made up. Families
//! whose NVRAM only the Flash Layout Table locates (81xx..28xx) stop after the version
//! (not initialised). A soft ISP with NVRAM is read the same way, with the provider's names
//! as the fallback for those families; one without NVRAM gives its names directly.

use crate::qla2x00t::bus::IspBus;
use crate::qla2x00t::chip::VectorKind;
use crate::qla2x00t::hba::{Hba, PortConfig, MBX_TIMEOUT_MS};
use core::fmt;
use kernel::device::{Bound, Device};
use kernel::prelude::*;
use qla2x00t_proto::mailbox::{FwState, MailboxCmd};
use qla2x00t_proto::nvram::{nvram_location, LocateError, Nvram24, NvramError, NVRAM_24XX_SIZE};
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

/// Where [`start`] gets the port and node names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NameSource {
    /// The NVRAM copy of PCI function `function`; `fallback` when the family's NVRAM cannot
    /// be located (never when it is invalid).
    Nvram {
        function: u8,
        fallback: Option<(Wwpn, Wwpn)>,
    },
    /// Names the backend knows (a soft ISP without NVRAM).
    Given(Wwpn, Wwpn),
}

/// What [`start`] found.
pub(crate) struct Started {
    /// (major, minor, subminor, attributes) from GET FIRMWARE VERSION.
    pub(crate) version: (u16, u16, u16, u16),
    /// The (port, node) names INITIALIZE FIRMWARE ran with; `None`: it did not run.
    pub(crate) names: Option<(Wwpn, Wwpn)>,
    /// Where the names came from, for the log.
    pub(crate) names_from: &'static str,
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
    names: NameSource,
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
        let (cfg, names_from) = port_config(hba, names)?;
        let Some(cfg) = cfg else {
            return Ok(Started {
                version,
                names: None,
                names_from,
                adapter_id: None,
                fw_state: None,
            });
        };
        step(
            dev,
            "INITIALIZE FIRMWARE",
            hba.initialize_firmware(&cfg, kind),
        )?;
        let fw_state = hba
            .mailbox(&MailboxCmd::get_firmware_state(), MBX_TIMEOUT_MS)
            .ok()
            .map(|mb| mb[1]);
        Ok(Started {
            version,
            names: Some(cfg.names()),
            names_from,
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

/// Why the NVRAM step failed, for its one log line.
enum NvramFailure {
    /// The flash read of dword `.0` (FLASH_ADDR value `.1`) never completed.
    Timeout(u32, u32),
    /// The image was read and refused.
    Invalid(NvramError),
}

impl fmt::Display for NvramFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NvramFailure::Timeout(i, addr) => {
                write!(
                    f,
                    "flash read of dword {i} (address {addr:#010x}) timed out"
                )
            }
            NvramFailure::Invalid(e) => match e {
                NvramError::TooShort { len } => write!(f, "image of {len} bytes"),
                NvramError::BadId(id) => write!(
                    f,
                    "bad id {:02x} {:02x} {:02x} {:02x} (not \"ISP \"; erased flash reads ff)",
                    id[0], id[1], id[2], id[3]
                ),
                NvramError::BadChecksum { sum } => {
                    write!(f, "bad checksum (word sum {sum:#010x}, must be 0)")
                }
                NvramError::BadVersion { version } => write!(f, "NVRAM version {version} below 1"),
                NvramError::InvalidPortName(w) => write!(f, "invalid port name {:016x}", w.0),
                NvramError::InvalidNodeName(w) => write!(f, "invalid node name {:016x}", w.0),
            },
        }
    }
}

impl kernel::fmt::Display for NvramFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The names step: reads and checks the NVRAM, or takes the given names. `Ok((None, why))`
/// when the port cannot be initialised (NVRAM not locatable, no fallback). An NVRAM that
/// cannot be read or is invalid logs one line and fails with ETIMEDOUT / EINVAL.
fn port_config<B: IspBus>(
    hba: &Hba<B>,
    names: NameSource,
) -> Result<(Option<PortConfig>, &'static str)> {
    let dev = hba.bus.dma_device();
    let (function, fallback) = match names {
        NameSource::Given(p, n) => return Ok((Some(PortConfig::Names(p, n)), "the provider")),
        NameSource::Nvram { function, fallback } => (function, fallback),
    };
    let loc = match nvram_location(hba.chip.family.nvram(), function) {
        Ok(loc) => loc,
        Err(e) => {
            let why = match e {
                LocateError::NeedsFlashLayoutTable => {
                    "NVRAM of this family is located through the Flash Layout Table (not read yet)"
                }
                LocateError::NoSuchFunction(_) => "no NVRAM copy for this PCI function",
            };
            return Ok(match fallback {
                Some((p, n)) => {
                    dev_info!(
                        dev,
                        "qla2x00t: {} (function {}); using the provider's names\n",
                        why,
                        function
                    );
                    (
                        Some(PortConfig::Names(p, n)),
                        "the provider (NVRAM not read)",
                    )
                }
                None => (None, why),
            });
        }
    };
    let mut img = KBox::new([0u8; NVRAM_24XX_SIZE], GFP_KERNEL)?;
    let r = match hba.read_nvram(&loc, &mut img) {
        Err(i) => Err((
            NvramFailure::Timeout(i, loc.first.saturating_add(i)),
            ETIMEDOUT,
        )),
        Ok(()) => Nvram24::parse(&img[..]).map_err(|e| (NvramFailure::Invalid(e), EINVAL)),
    };
    match r {
        Ok(nv) => Ok((Some(PortConfig::Nvram(nv)), "NVRAM")),
        Err((why, errno)) => {
            dev_err!(
                dev,
                "qla2x00t: bring-up failed at NVRAM (function {}, flash {:#010x}): {}\n",
                function,
                loc.first,
                why
            );
            Err(errno)
        }
    }
}
