// SPDX-License-Identifier: GPL-2.0
//! ferrule_isp_sim.ko, Rust half: one simulated ISP's register file (the `FwModel` firmware
//! model of `qla2x00t_proto`), its host-memory access and the fabric control commands.
//!
//! The C half (sim_glue.c) owns the kernel objects (platform device, irq_sim line, debugfs,
//! work item, spinlock) and calls the `ferrule_sim_rs_*` functions below, always under the
//! HBA's spinlock (irqsave) except `new`/`free`. They never sleep. Write-type calls return
//! [`SIM_IRQ`] | [`SIM_WORK`] flags: raise the interrupt line / queue the deferred work.
//!
//! This crate is linked with its own copies of `scst_core` and `qla2x00t_proto` (Kbuild
//! compiles those sources a second time for this module): Rust symbols are module-local.

use core::ffi::{c_int, c_void};
use core::fmt::Write;
use kernel::prelude::*;
use qla2x00t_proto::fabric::{Fabric as Switch, FabricError, Fc4Features};
use qla2x00t_proto::fwmodel::{
    ExchangeInfo, FcpRsp, FwConfig, FwModel, HostMemory, ModelError, RiscState, Wire,
};
use qla2x00t_proto::iocb::ss;
use qla2x00t_proto::nvram::{self, nvram_location, Nvram24, NvramFamily};
use qla2x00t_proto::regs::{HccrCmd, Reg, MAILBOX0};
use scst_core::types::{DataDirection, Lun, PortId, Wwpn};

/// `pr_*!` prefix (this crate has no `module!`: the C half is the module).
const __LOG_PREFIX: &[u8] = b"ferrule_isp_sim\0";

/// Remote-port logins, open exchanges and virtual ports the simulated firmware keeps.
type Model = FwModel<16, 32, 4>;

/// Flag: the interrupt is pending and enabled; raise the line.
const SIM_IRQ: u32 = 1 << 0;
/// Flag: a doorbell is waiting for `ferrule_sim_rs_run_deferred`.
const SIM_WORK: u32 = 1 << 1;

/// FCP service parameter word 3 of the initiator's PRLI: initiator function.
const PRLI_WD3_INITIATOR: u16 = 1 << 5;

extern "C" {
    /// Copies `len` bytes between `buf` and DMA address `addr` of `dev` (sim_glue.c): true
    /// when every page of the range is valid RAM in the direct map, else nothing is copied.
    fn ferrule_sim_c_dma_access(
        dev: *mut c_void,
        addr: u64,
        buf: *mut u8,
        len: usize,
        write: bool,
    ) -> bool;
    /// Data of exchange (`s_id`, `ox_id`, `xaddr`) of target HBA `hba` at `rel_off`:
    /// `to_wire` (WRITE): fill `buf` from the initiator's command; else (READ) copy `buf`
    /// into it. False when no initiator HBA owns that exchange (nothing copied).
    fn ferrule_sim_c_data(
        hba: u32,
        s_id: u32,
        ox_id: u16,
        xaddr: u32,
        rel_off: u32,
        buf: *mut u8,
        len: usize,
        to_wire: bool,
    ) -> bool;
    /// FCP_RSP for an initiator HBA's exchange; `resid` > 0 underrun, < 0 overrun.
    fn ferrule_sim_c_fcp_rsp(
        hba: u32,
        s_id: u32,
        ox_id: u16,
        xaddr: u32,
        status: u8,
        rsp_code: u8,
        resid: i64,
        sense: *const u8,
        sense_len: usize,
    ) -> bool;
    /// LS_ACC / LS_RJT to `s_id`; true when an initiator HBA of this module owns `s_id`.
    fn ferrule_sim_c_els_reply(hba: u32, vp: u8, s_id: u32, opcode: u8, accepted: bool) -> bool;
    /// BA_ACC / BA_RJT to `s_id` for `ox_id`.
    fn ferrule_sim_c_abts_reply(hba: u32, s_id: u32, ox_id: u16, accepted: bool) -> bool;
}

/// Host memory as the device sees it: DMA addresses of `dev`.
struct DmaMem {
    dev: *mut c_void,
}

impl HostMemory for DmaMem {
    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        // SAFETY: `out` is a valid writable buffer of that length; the helper checks the
        // source range page by page and copies nothing it cannot prove is RAM.
        unsafe { ferrule_sim_c_dma_access(self.dev, addr, out.as_mut_ptr(), out.len(), false) }
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        // SAFETY: `data` is valid for reads of its length (the helper only reads it when
        // `write` is true).
        unsafe {
            ferrule_sim_c_dma_access(self.dev, addr, data.as_ptr().cast_mut(), data.len(), true)
        }
    }
}

/// What the target put on the wire: handed to the simulated initiator HBAs (sim_ini.c) and
/// counted. Frames for N_Port IDs no initiator HBA owns (the debugfs `fabric` logins) are
/// only counted (WRITE data for them is zeros).
#[derive(Default)]
struct WireCounts {
    /// The target HBA's index (which firmware model this is).
    hba: u32,
    data_in_bytes: u64,
    data_out_bytes: u64,
    fcp_rsps: u32,
    els_acc: u32,
    els_rjt: u32,
    ba_acc: u32,
    ba_rjt: u32,
    /// ELS replies an initiator HBA of this module took.
    ini_els: u32,
}

impl Wire for WireCounts {
    fn data_in(&mut self, x: &ExchangeInfo, rel_off: u32, data: &[u8]) {
        // SAFETY: `data` is valid for reads of its length; the C side only reads it.
        unsafe {
            ferrule_sim_c_data(
                self.hba,
                x.s_id.get(),
                x.ox_id,
                x.exchange_addr,
                rel_off,
                data.as_ptr().cast_mut(),
                data.len(),
                false,
            )
        };
        self.data_in_bytes = self.data_in_bytes.saturating_add(data.len() as u64);
    }
    fn data_out(&mut self, x: &ExchangeInfo, rel_off: u32, buf: &mut [u8]) {
        // SAFETY: `buf` is valid for writes of its length.
        let filled = unsafe {
            ferrule_sim_c_data(
                self.hba,
                x.s_id.get(),
                x.ox_id,
                x.exchange_addr,
                rel_off,
                buf.as_mut_ptr(),
                buf.len(),
                true,
            )
        };
        if !filled {
            buf.fill(0);
        }
        self.data_out_bytes = self.data_out_bytes.saturating_add(buf.len() as u64);
    }
    fn fcp_rsp(&mut self, x: &ExchangeInfo, rsp: &FcpRsp) {
        // Sense follows the response info inside the inline bytes (FCP_RSP layout).
        let info = if rsp.scsi_status & ss::RESPONSE_INFO_LEN_VALID != 0 {
            usize::from(rsp.response_len)
        } else {
            0
        };
        let rsp_code = if info >= 4 {
            rsp.sense.get(3).copied().unwrap_or(0)
        } else {
            0
        };
        let sense = if rsp.scsi_status & ss::SENSE_LEN_VALID != 0 {
            let end = info.saturating_add(usize::from(rsp.sense_length));
            rsp.sense.get(info..end.min(rsp.sense.len())).unwrap_or(&[])
        } else {
            &[]
        };
        let resid = if rsp.scsi_status & ss::RESIDUAL_UNDER != 0 {
            i64::from(rsp.residual)
        } else if rsp.scsi_status & ss::RESIDUAL_OVER != 0 {
            -i64::from(rsp.residual)
        } else {
            0
        };
        // SAFETY: `sense` is valid for reads of its length.
        unsafe {
            ferrule_sim_c_fcp_rsp(
                self.hba,
                x.s_id.get(),
                x.ox_id,
                x.exchange_addr,
                (rsp.scsi_status & 0xff) as u8,
                rsp_code,
                resid,
                sense.as_ptr(),
                sense.len(),
            )
        };
        self.fcp_rsps = self.fcp_rsps.saturating_add(1);
    }
    fn els_reply(&mut self, vp: u8, s_id: PortId, opcode: u8, accepted: bool) {
        // SAFETY: plain values.
        if unsafe { ferrule_sim_c_els_reply(self.hba, vp, s_id.get(), opcode, accepted) } {
            self.ini_els = self.ini_els.saturating_add(1);
            return;
        }
        let c = if accepted {
            &mut self.els_acc
        } else {
            &mut self.els_rjt
        };
        *c = c.saturating_add(1);
    }
    fn abts_reply(&mut self, s_id: PortId, ox_id: u16, accepted: bool) {
        // SAFETY: plain values.
        unsafe { ferrule_sim_c_abts_reply(self.hba, s_id.get(), ox_id, accepted) };
        let c = if accepted {
            &mut self.ba_acc
        } else {
            &mut self.ba_rjt
        };
        *c = c.saturating_add(1);
    }
}

/// One simulated HBA.
struct Sim {
    index: u32,
    model: Model,
    mem: DmaMem,
    wire: WireCounts,
    /// The cable: a RISC reset does not take the link down; the firmware sees the link again
    /// as soon as it leaves reset.
    cable: bool,
    fabric_ok: u32,
    fabric_err: u32,
    /// Mailbox commands started (HCCR SET_HOST_INT writes).
    mailboxes: u32,
    /// Fault injection: the firmware never answers mailbox command number `hang_mailbox`
    /// (1-based; 0 = never), so the driver's timeout paths run.
    hang_mailbox: u32,
}

impl Sim {
    fn flags(&self) -> u32 {
        let mut f = 0;
        if self.model.irq_asserted() {
            f |= SIM_IRQ;
        }
        if self.model.has_deferred_work() {
            f |= SIM_WORK;
        }
        f
    }

    fn write_reg(&mut self, off: u32, v: u32) -> u32 {
        if off == Reg::Hccr.offset() && v == HccrCmd::SetHostInt as u32 {
            self.mailboxes = self.mailboxes.saturating_add(1);
            if self.mailboxes == self.hang_mailbox {
                pr_info!(
                    "hba{}: fault injection: mailbox command #{} (opcode {:#04x}) not answered\n",
                    self.index,
                    self.mailboxes,
                    self.model.read_mailbox(MAILBOX0)
                );
                return self.flags();
            }
        }
        let was_reset = self.model.risc_state() == RiscState::Reset;
        self.model.write_reg(&mut self.mem, &mut self.wire, off, v);
        let in_reset = self.model.risc_state() == RiscState::Reset;
        if self.cable && was_reset && !in_reset {
            self.model.link_up(&mut self.mem);
        }
        self.flags()
    }
}

/// The simulated HBA behind `s`.
///
/// # Safety
///
/// `s` comes from `ferrule_sim_rs_new`, is not freed, and the caller holds the HBA's lock.
unsafe fn sim<'a>(s: *mut c_void) -> &'a mut Sim {
    // SAFETY: see the function's contract.
    unsafe { &mut *s.cast::<Sim>() }
}

/// Allocates HBA `index`'s model (RISC in reset, cable plugged when `link`, mailbox command
/// number `hang_mailbox` never answered when non-zero); DMA against `dev`. NULL on
/// allocation failure. Process context.
#[no_mangle]
extern "C" fn ferrule_sim_rs_new(
    index: u32,
    dev: *mut c_void,
    link: bool,
    hang_mailbox: u32,
) -> *mut c_void {
    // HBA n's fabric gives VP 0 the N_Port ID 0x0a(n+1)00 (domain 0x0a, area n+1).
    let area = index.saturating_add(1) & 0xff;
    let cfg = FwConfig {
        base_port_id: PortId::new(0x0a_0000 | (area << 8)),
        fw_version: [9, 0, 0],
        max_handle: 0x7ff,
        defer_doorbells: true,
    };
    let sim = KBox::new(
        Sim {
            index,
            model: Model::new(cfg),
            mem: DmaMem { dev },
            wire: WireCounts {
                hba: index,
                ..WireCounts::default()
            },
            cable: link,
            fabric_ok: 0,
            fabric_err: 0,
            mailboxes: 0,
            hang_mailbox,
        },
        GFP_KERNEL,
    );
    match sim {
        Ok(b) => KBox::into_raw(b).cast(),
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees a model from `ferrule_sim_rs_new` (NULL is ignored). Process context.
#[no_mangle]
extern "C" fn ferrule_sim_rs_free(s: *mut c_void) {
    if !s.is_null() {
        // SAFETY: from `KBox::into_raw` in `ferrule_sim_rs_new`, freed once (caller's rule).
        drop(unsafe { KBox::from_raw(s.cast::<Sim>()) });
    }
}

/// `nvram_corrupt` fault knobs (sim_glue.c maps the parameter's words to these).
const NVRAM_OK: u32 = 0;
const NVRAM_BAD_CHECKSUM: u32 = 1;
const NVRAM_BAD_ID: u32 = 2;
const NVRAM_BAD_VERSION: u32 = 3;
const NVRAM_ZERO_WWPN: u32 = 4;
const NVRAM_STUCK: u32 = 5;

/// Puts an NVRAM image with these names into the model's flash, where the driver looks for
/// PCI function `function` of a `device_id` part, spoilt as `corrupt` says. 0, -EOPNOTSUPP
/// when the driver cannot locate NVRAM for that family (Flash Layout Table), -EINVAL for an
/// unknown device ID or knob. Process context (probe).
#[no_mangle]
extern "C" fn ferrule_sim_rs_set_nvram(
    s: *mut c_void,
    device_id: u16,
    function: u8,
    port: u64,
    node: u64,
    corrupt: u32,
) -> c_int {
    // SAFETY: C owns the new model exclusively (probe) or holds its lock.
    let sim = unsafe { sim(s) };
    let Some(family) = NvramFamily::from_device_id(device_id) else {
        return EINVAL.to_errno();
    };
    let Ok(loc) = nvram_location(family, function) else {
        return EOPNOTSUPP.to_errno();
    };
    let mut img = Nvram24::image(Wwpn(port), Wwpn(node));
    match corrupt {
        NVRAM_OK | NVRAM_STUCK => {}
        // One flipped bit in a reserved word: only the checksum can tell.
        NVRAM_BAD_CHECKSUM => img[0x40] ^= 0x01,
        NVRAM_BAD_ID => {
            img[0] = b'X';
            nvram::fix_checksum(&mut img);
        }
        NVRAM_BAD_VERSION => {
            img[nvram::off::NVRAM_VERSION] = 0;
            img[nvram::off::NVRAM_VERSION + 1] = 0;
            nvram::fix_checksum(&mut img);
        }
        NVRAM_ZERO_WWPN => {
            img[nvram::off::PORT_NAME..nvram::off::PORT_NAME + 8].fill(0);
            nvram::fix_checksum(&mut img);
        }
        _ => return EINVAL.to_errno(),
    }
    sim.model.set_nvram(loc, &img);
    sim.model.set_flash_stuck(corrupt == NVRAM_STUCK);
    0
}

/// N_Port ID of the HBA's physical port (VP 0) on the simulated switch.
#[no_mangle]
extern "C" fn ferrule_sim_rs_port_id(s: *mut c_void) -> u32 {
    // SAFETY: C holds the lock on a live model, or owns it exclusively (probe).
    unsafe { sim(s) }.model.vp_port_id(0).get()
}

/// 32-bit register read.
#[no_mangle]
extern "C" fn ferrule_sim_rs_read32(s: *mut c_void, off: u32) -> u32 {
    // SAFETY: C holds the lock on a live model (module contract).
    unsafe { sim(s) }.model.read_reg(off)
}

/// 32-bit register write; returns flags.
#[no_mangle]
extern "C" fn ferrule_sim_rs_write32(s: *mut c_void, off: u32, v: u32) -> u32 {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    unsafe { sim(s) }.write_reg(off, v)
}

/// 16-bit (mailbox) read.
#[no_mangle]
extern "C" fn ferrule_sim_rs_read16(s: *mut c_void, off: u32) -> u16 {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    unsafe { sim(s) }.model.read_mailbox(off)
}

/// 16-bit (mailbox) write; returns flags.
#[no_mangle]
extern "C" fn ferrule_sim_rs_write16(s: *mut c_void, off: u32, v: u16) -> u32 {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    let sim = unsafe { sim(s) };
    sim.model.write_mailbox(off, v);
    sim.flags()
}

/// The flags of the current state (is the line asserted, is work pending), no side effects.
#[no_mangle]
extern "C" fn ferrule_sim_rs_flags(s: *mut c_void) -> u32 {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    unsafe { sim(s) }.flags()
}

/// Runs deferred doorbell work (request ring processing); returns flags.
#[no_mangle]
extern "C" fn ferrule_sim_rs_run_deferred(s: *mut c_void) -> u32 {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    let sim = unsafe { sim(s) };
    sim.model.run_deferred(&mut sim.mem, &mut sim.wire);
    sim.flags()
}

/// A parsed fabric control command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fabric {
    LinkUp,
    LinkDown,
    Plogi { vp: u8, s_id: PortId, wwpn: Wwpn },
    Prli { vp: u8, s_id: PortId },
    Logo { vp: u8, s_id: PortId },
}

const USAGE: &str =
    "link up|link down|plogi <vp> <s_id hex> <wwpn hex>|prli <vp> <s_id>|logo <vp> <s_id>";

fn parse_hex(t: &str, max_digits: usize) -> Option<u64> {
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let mut v = 0u64;
    let mut digits = 0usize;
    for c in t.chars() {
        if c == ':' {
            continue;
        }
        let d = c.to_digit(16)?;
        digits = digits.checked_add(1)?;
        v = v.checked_mul(16)?.checked_add(u64::from(d))?;
    }
    (digits > 0 && digits <= max_digits).then_some(v)
}

fn parse_vp(t: &str) -> Option<u8> {
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u8>().ok()
}

fn parse_s_id(t: &str) -> Option<PortId> {
    // N_Port IDs are 24 bits; 0 is not an N_Port.
    let v = parse_hex(t, 6)?;
    let v = u32::try_from(v).ok().filter(|&v| v != 0)?;
    Some(PortId::new(v))
}

/// Parses one command line (surrounding whitespace ignored, tokens split on whitespace).
fn parse(line: &str) -> Option<Fabric> {
    let mut it = line.split_ascii_whitespace();
    let cmd = it.next()?;
    let mut arg = || it.next();
    let f = match cmd {
        "link" => match arg()? {
            "up" => Fabric::LinkUp,
            "down" => Fabric::LinkDown,
            _ => return None,
        },
        "plogi" => Fabric::Plogi {
            vp: parse_vp(arg()?)?,
            s_id: parse_s_id(arg()?)?,
            wwpn: Wwpn(parse_hex(arg()?, 16).filter(|&w| w != 0)?),
        },
        "prli" => Fabric::Prli {
            vp: parse_vp(arg()?)?,
            s_id: parse_s_id(arg()?)?,
        },
        "logo" => Fabric::Logo {
            vp: parse_vp(arg()?)?,
            s_id: parse_s_id(arg()?)?,
        },
        _ => return None,
    };
    if arg().is_some() {
        return None;
    }
    Some(f)
}

fn model_errno(e: ModelError) -> Error {
    match e {
        ModelError::NotReady => ENOLINK,
        ModelError::RingFull => EAGAIN,
        ModelError::NoResources => ENOSPC,
        ModelError::NotLoggedIn => ENOTCONN,
        ModelError::NoExchange => ENOENT,
        ModelError::BadVp => ENXIO,
        ModelError::BadCdb => EINVAL,
        ModelError::Dma => EIO,
    }
}

impl Sim {
    fn fabric(&mut self, f: Fabric) -> Result<(), ModelError> {
        let mem = &mut self.mem;
        match f {
            Fabric::LinkUp => {
                self.cable = true;
                self.model.link_up(mem);
                Ok(())
            }
            Fabric::LinkDown => {
                self.cable = false;
                self.model.link_down();
                Ok(())
            }
            Fabric::Plogi { vp, s_id, wwpn } => {
                // Node name: the port name with NAA 2's port bits cleared, as HBAs do.
                let wwnn = Wwpn((wwpn.0 & 0x0000_ffff_ffff_ffff) | 0x2000_0000_0000_0000);
                self.model.plogi(mem, vp, wwpn, wwnn, s_id).map(|_| ())
            }
            Fabric::Prli { vp, s_id } => self.model.prli(mem, vp, s_id, PRLI_WD3_INITIATOR),
            Fabric::Logo { vp, s_id } => self.model.logo(mem, vp, s_id),
        }
    }
}

/// Runs the fabric command in `buf[..len]` (one line). 0 or a negative errno (EINVAL for
/// malformed input, with one log line; model refusals map to other errnos, also logged
/// once). `*flags` gets the write flags.
#[no_mangle]
extern "C" fn ferrule_sim_rs_fabric(
    s: *mut c_void,
    buf: *const u8,
    len: usize,
    flags: *mut u32,
) -> c_int {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    let sim = unsafe { sim(s) };
    // SAFETY: C passes a kernel buffer of `len` bytes it copied from user space.
    let bytes = unsafe { core::slice::from_raw_parts(buf, len) };
    let line = core::str::from_utf8(bytes).ok();
    let parsed = line.and_then(parse);
    let r = match parsed {
        None => {
            pr_err!(
                "hba{}: fabric: bad command '{}' (expected {})\n",
                sim.index,
                line.map_or("<not UTF-8>", str::trim),
                USAGE
            );
            Err(EINVAL)
        }
        Some(f) => sim.fabric(f).map_err(|e| {
            pr_err!(
                "hba{}: fabric: '{}' refused by the firmware model: {:?}\n",
                sim.index,
                line.map_or("", str::trim),
                e
            );
            model_errno(e)
        }),
    };
    // Malformed input changes nothing, not even a counter.
    match (parsed, r) {
        (Some(_), Ok(())) => sim.fabric_ok = sim.fabric_ok.saturating_add(1),
        (Some(_), Err(_)) => sim.fabric_err = sim.fabric_err.saturating_add(1),
        (None, _) => {}
    }
    // SAFETY: C passes a valid `u32` to fill.
    unsafe { *flags = sim.flags() };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

// ---- initiator HBAs (sim_ini.c): the target model's fabric side and the switch ---------

fn errno_of<T>(r: Result<T, ModelError>) -> c_int {
    match r {
        Ok(_) => 0,
        Err(e) => model_errno(e).to_errno(),
    }
}

/// One fabric-side call into the model behind `s`; `*flags` gets the flags of the state it
/// leaves (as for register writes).
///
/// # Safety
///
/// `s` as in `ferrule_sim_rs_read32`; `flags` points to a `u32` the caller owns.
unsafe fn model_call<T>(
    s: *mut c_void,
    flags: *mut u32,
    f: impl FnOnce(&mut Model, &mut DmaMem) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    // SAFETY: see the function's contract.
    let sim = unsafe { sim(s) };
    let r = f(&mut sim.model, &mut sim.mem);
    // SAFETY: see the function's contract.
    unsafe { *flags = sim.flags() };
    r
}

/// PLOGI from `s_id` (`wwpn`/`wwnn`) to VP `vp` of this target HBA; `*handle` gets the
/// N_Port handle the firmware assigned. 0 or a negative errno; `*flags` as for writes.
#[no_mangle]
extern "C" fn ferrule_sim_rs_plogi(
    s: *mut c_void,
    vp: u8,
    s_id: u32,
    wwpn: u64,
    wwnn: u64,
    handle: *mut u16,
    flags: *mut u32,
) -> c_int {
    // SAFETY: C passes the model and valid `u16`/`u32` out-parameters.
    let r = unsafe {
        model_call(s, flags, |m, mem| {
            m.plogi(mem, vp, Wwpn(wwpn), Wwpn(wwnn), PortId::new(s_id))
        })
    };
    // SAFETY: as above.
    unsafe { *handle = r.map_or(u16::MAX, |h| h.0) };
    errno_of(r)
}

/// PRLI (FCP initiator) from `s_id` to VP `vp`.
#[no_mangle]
extern "C" fn ferrule_sim_rs_prli(s: *mut c_void, vp: u8, s_id: u32, flags: *mut u32) -> c_int {
    // SAFETY: C passes the model and a valid `u32` out-parameter.
    errno_of(unsafe {
        model_call(s, flags, |m, mem| {
            m.prli(mem, vp, PortId::new(s_id), PRLI_WD3_INITIATOR)
        })
    })
}

/// LOGO from `s_id` to VP `vp`.
#[no_mangle]
extern "C" fn ferrule_sim_rs_logo(s: *mut c_void, vp: u8, s_id: u32, flags: *mut u32) -> c_int {
    // SAFETY: C passes the model and a valid `u32` out-parameter.
    errno_of(unsafe { model_call(s, flags, |m, mem| m.logo(mem, vp, PortId::new(s_id))) })
}

/// The firmware logs `s_id` out of VP `vp` by itself (its link went away: the switch's
/// RSCN), Immediate Notify PORT LOGOUT; the login and its exchanges are gone at once.
#[no_mangle]
extern "C" fn ferrule_sim_rs_port_logout(
    s: *mut c_void,
    vp: u8,
    s_id: u32,
    flags: *mut u32,
) -> c_int {
    // SAFETY: C passes the model and a valid `u32` out-parameter.
    errno_of(unsafe { model_call(s, flags, |m, mem| m.port_logout(mem, vp, PortId::new(s_id))) })
}

/// ABTS from `s_id` for its exchange `ox_id`.
#[no_mangle]
extern "C" fn ferrule_sim_rs_abts(
    s: *mut c_void,
    vp: u8,
    s_id: u32,
    ox_id: u16,
    flags: *mut u32,
) -> c_int {
    // SAFETY: C passes the model and a valid `u32` out-parameter.
    errno_of(unsafe { model_call(s, flags, |m, mem| m.abts(mem, vp, PortId::new(s_id), ox_id)) })
}

/// FCP_CMND from `s_id`: `lun` in FCP (SAM) form, `cdb[..cdb_len]`, FCP_DL `dl`, `dir` 0
/// none, 1 write, 2 read. `*xaddr` gets the exchange address the ATIO carries.
#[no_mangle]
extern "C" fn ferrule_sim_rs_fcp_cmnd(
    s: *mut c_void,
    vp: u8,
    s_id: u32,
    ox_id: u16,
    lun: u64,
    cdb: *const u8,
    cdb_len: usize,
    dl: u32,
    dir: u8,
    xaddr: *mut u32,
    flags: *mut u32,
) -> c_int {
    // SAFETY: C passes the command's CDB buffer of `cdb_len` bytes.
    let cdb = unsafe { core::slice::from_raw_parts(cdb, cdb_len) };
    let dir = match dir {
        1 => DataDirection::ToDevice,
        2 => DataDirection::FromDevice,
        _ => DataDirection::None,
    };
    // SAFETY: C passes the model and valid out-parameters.
    let r = unsafe {
        model_call(s, flags, |m, mem| {
            m.fcp_cmnd(mem, vp, PortId::new(s_id), ox_id, Lun(lun), cdb, dl, dir)
        })
    };
    // SAFETY: as above.
    unsafe { *xaddr = r.unwrap_or(0) };
    errno_of(r)
}

/// The switch every simulated port (target and initiator HBAs) is cabled to.
type Fab = Switch<64>;

/// Domain ID of the simulated switch (the target model's `base_port_id` uses it too).
const DOMAIN: u8 = 0x0a;

/// The switch behind `f`.
///
/// # Safety
///
/// `f` comes from `ferrule_sim_rs_switch_new`, is not freed, and the caller holds its lock
/// (sim_ini.c's `sim_ini_lock`).
unsafe fn fab<'a>(f: *mut c_void) -> &'a mut Fab {
    // SAFETY: see the function's contract.
    unsafe { &mut *f.cast::<Fab>() }
}

fn fabric_errno(e: FabricError) -> c_int {
    match e {
        FabricError::LinkDown => ENOLINK,
        FabricError::BadName => EINVAL,
        FabricError::DuplicateWwpn => EEXIST,
        FabricError::NotLoggedIn => ENOTCONN,
        FabricError::NoResources => ENOSPC,
    }
    .to_errno()
}

/// Allocates the switch (every link down). NULL on allocation failure. Process context.
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_new() -> *mut c_void {
    match KBox::new(Fab::new(DOMAIN), GFP_KERNEL) {
        Ok(b) => KBox::into_raw(b).cast(),
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees the switch (NULL ignored).
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_free(f: *mut c_void) {
    if !f.is_null() {
        // SAFETY: from `KBox::into_raw` in `ferrule_sim_rs_switch_new`, freed once.
        drop(unsafe { KBox::from_raw(f.cast::<Fab>()) });
    }
}

/// Link of switch port `area` up (`up`) or down; down logs its ports out.
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_link(f: *mut c_void, area: u8, up: bool) {
    // SAFETY: C holds sim_ini_lock on the live switch (module contract).
    let f = unsafe { fab(f) };
    if up {
        f.link_up(area);
    } else {
        f.link_down(area);
    }
}

/// FLOGI on switch port `area` (`phys` 0), or FDISC through physical port `phys`. The N_Port
/// ID (> 0) or a negative errno. `target`: register as an FCP target, else as an initiator.
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_login(
    f: *mut c_void,
    area: u8,
    phys: u32,
    wwpn: u64,
    wwnn: u64,
    target: bool,
) -> i32 {
    // SAFETY: C holds sim_ini_lock on the live switch (module contract).
    let f = unsafe { fab(f) };
    let r = if phys == 0 {
        f.flogi(area, Wwpn(wwpn), Wwpn(wwnn))
    } else {
        f.fdisc(PortId::new(phys), Wwpn(wwpn), Wwpn(wwnn))
    };
    let id = match r {
        Ok(id) => id,
        Err(e) => return fabric_errno(e),
    };
    let fc4 = Fc4Features {
        target,
        initiator: !target,
    };
    if let Err(e) = f.register_fc4(id, fc4).and_then(|()| f.scr(id)) {
        let _ = f.logo(id);
        return fabric_errno(e);
    }
    // 24-bit IDs are positive as i32.
    i32::try_from(id.get()).unwrap_or(-1)
}

/// LOGO from the fabric: the ID is free for reuse. 0 or a negative errno.
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_logo(f: *mut c_void, id: u32) -> c_int {
    // SAFETY: as above.
    match unsafe { fab(f) }.logo(PortId::new(id)) {
        Ok(()) => 0,
        Err(e) => fabric_errno(e),
    }
}

/// Name-server query: FCP targets, ascending, into `ids[..cap]` with their port and node
/// names. Returns how many were written.
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_targets(
    f: *mut c_void,
    ids: *mut u32,
    wwpns: *mut u64,
    wwnns: *mut u64,
    cap: usize,
) -> usize {
    // SAFETY: C holds sim_ini_lock on the live switch (module contract).
    let f = unsafe { fab(f) };
    let mut found = [PortId::new(0); 16];
    let n = f.gid_ft_targets(&mut found).min(found.len()).min(cap);
    // SAFETY: C passes three arrays of `cap` elements.
    let (ids, wwpns, wwnns) = unsafe {
        (
            core::slice::from_raw_parts_mut(ids, cap),
            core::slice::from_raw_parts_mut(wwpns, cap),
            core::slice::from_raw_parts_mut(wwnns, cap),
        )
    };
    let mut k = 0usize;
    for id in found.iter().take(n) {
        let Some(e) = f.lookup_id(*id) else { continue };
        if let (Some(i), Some(p), Some(nn)) = (ids.get_mut(k), wwpns.get_mut(k), wwnns.get_mut(k)) {
            *i = id.get();
            *p = e.wwpn.0;
            *nn = e.wwnn.0;
            k = k.saturating_add(1);
        }
    }
    k
}

/// RSCNs queued for `id` since the last call.
#[no_mangle]
extern "C" fn ferrule_sim_rs_switch_take_rscn(f: *mut c_void, id: u32) -> u32 {
    // SAFETY: as above.
    unsafe { fab(f) }.take_rscn(PortId::new(id))
}

/// `core::fmt` into a byte buffer, truncating.
struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            match self.buf.get_mut(self.len) {
                Some(slot) => {
                    *slot = b;
                    self.len = self.len.saturating_add(1);
                }
                None => return Err(core::fmt::Error),
            }
        }
        Ok(())
    }
}

/// Writes the model's state and counters as `key: value` lines into `buf`; returns the
/// length written.
#[no_mangle]
extern "C" fn ferrule_sim_rs_state(s: *mut c_void, buf: *mut u8, cap: usize) -> usize {
    // SAFETY: as in `ferrule_sim_rs_read32`.
    let sim = unsafe { sim(s) };
    // SAFETY: C passes a writable buffer of `cap` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf, cap) };
    let mut w = BufWriter { buf: out, len: 0 };
    let st = sim.model.stats();
    let wi = &sim.wire;
    let _ = write!(
        w,
        "risc: {:?}\ncable: {}\nport_id: {:06x}\nirq_asserted: {}\nopen_exchanges: {}\n\
         fabric_ok: {}\nfabric_err: {}\nmailboxes: {}\nbad_request_entries: {}\nstray_continuations: {}\n\
         ctio_unknown_exchange: {}\nnack_unknown: {}\ndma_errors: {}\nmailbox_errors: {}\n\
         els_acc: {}\nels_rjt: {}\nba_acc: {}\nba_rjt: {}\nfcp_rsps: {}\ndata_in_bytes: {}\n\
         data_out_bytes: {}\nini_els: {}\n",
        sim.model.risc_state(),
        if sim.cable { "up" } else { "down" },
        sim.model.vp_port_id(0).get(),
        sim.model.irq_asserted(),
        sim.model.open_exchanges(),
        sim.fabric_ok,
        sim.fabric_err,
        sim.mailboxes,
        st.bad_request_entries,
        st.stray_continuations,
        st.ctio_unknown_exchange,
        st.nack_unknown,
        st.dma_errors,
        st.mailbox_errors,
        wi.els_acc,
        wi.els_rjt,
        wi.ba_acc,
        wi.ba_rjt,
        wi.fcp_rsps,
        wi.data_in_bytes,
        wi.data_out_bytes,
        wi.ini_els,
    );
    w.len
}

#[kunit_tests(ferrule_isp_sim_parse)]
mod tests {
    use super::*;

    #[test]
    fn fabric_commands_parse_exactly() {
        assert_eq!(parse("link up\n"), Some(Fabric::LinkUp));
        assert_eq!(parse("  link   down "), Some(Fabric::LinkDown));
        assert_eq!(
            parse("plogi 0 0a0201 21:00:00:24:ff:aa:00:01"),
            Some(Fabric::Plogi {
                vp: 0,
                s_id: PortId::new(0x0a0201),
                wwpn: Wwpn(0x2100_0024_ffaa_0001)
            })
        );
        assert_eq!(
            parse("prli 1 0x0a0202"),
            Some(Fabric::Prli {
                vp: 1,
                s_id: PortId::new(0x0a0202)
            })
        );
        assert_eq!(
            parse("logo 0 10203"),
            Some(Fabric::Logo {
                vp: 0,
                s_id: PortId::new(0x010203)
            })
        );
        for bad in [
            "",
            "link",
            "link sideways",
            "link up now",
            "plogi 0 0a0201",
            "plogi x 0a0201 2100002400000001",
            "plogi 256 0a0201 2100002400000001",
            "plogi 0 1000000 2100002400000001",
            "plogi 0 0 2100002400000001",
            "plogi 0 0a0201 0",
            "plogi 0 0a0201 121000024ffaa00011",
            "plogi 0 0a0201 zz",
            "prli 0",
            "prli -1 0a0201",
            "logo 0 0a0201 extra",
            "PLOGI 0 0a0201 2100002400000001",
        ] {
            assert_eq!(parse(bad), None);
        }
    }
}
