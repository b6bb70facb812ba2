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
use qla2x00t_proto::fwmodel::{
    ExchangeInfo, FcpRsp, FwConfig, FwModel, HostMemory, ModelError, RiscState, Wire,
};
use qla2x00t_proto::regs::{HccrCmd, Reg, MAILBOX0};
use scst_core::types::{PortId, Wwpn};

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

/// What the target put on the wire, counted (no initiator is attached to the sim yet).
#[derive(Default)]
struct WireCounts {
    data_in_bytes: u64,
    data_out_bytes: u64,
    fcp_rsps: u32,
    els_acc: u32,
    els_rjt: u32,
    ba_acc: u32,
    ba_rjt: u32,
}

impl Wire for WireCounts {
    fn data_in(&mut self, _x: &ExchangeInfo, _rel_off: u32, data: &[u8]) {
        self.data_in_bytes = self.data_in_bytes.saturating_add(data.len() as u64);
    }
    fn data_out(&mut self, _x: &ExchangeInfo, _rel_off: u32, buf: &mut [u8]) {
        buf.fill(0);
        self.data_out_bytes = self.data_out_bytes.saturating_add(buf.len() as u64);
    }
    fn fcp_rsp(&mut self, _x: &ExchangeInfo, _rsp: &FcpRsp) {
        self.fcp_rsps = self.fcp_rsps.saturating_add(1);
    }
    fn els_reply(&mut self, _vp: u8, _s_id: PortId, _opcode: u8, accepted: bool) {
        let c = if accepted {
            &mut self.els_acc
        } else {
            &mut self.els_rjt
        };
        *c = c.saturating_add(1);
    }
    fn abts_reply(&mut self, _s_id: PortId, _ox_id: u16, accepted: bool) {
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
            wire: WireCounts::default(),
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
         data_out_bytes: {}\n",
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
