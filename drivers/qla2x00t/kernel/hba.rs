// SPDX-License-Identifier: GPL-2.0
//! One ISP: its rings, the mailbox engine, the interrupt decoding and the bring-up sequence
//! (RISC reset, firmware load, execute). Generic over the bus so the PCI function and the
//! simulator's soft ISP run the same code.
//!
//! Interrupt split: the hard handler (`hard_irq`) reads host_status, captures mailbox
//! results, records which queues have work, acknowledges (HCCR clear RISC int) and wakes the
//! IRQ thread; the thread (`thread_irq`) drains the rings. Nothing touches ring memory in
//! hard-IRQ context.

use crate::qla2x00t::bus::IspBus;
use crate::qla2x00t::chip::{icb_msix, ChipInfo, VectorKind, VectorRole};
use crate::qla2x00t::rings::{self, DmaRing, DrainCounts, Producer};
use crate::qla2x00t::tgt::{FcWq, TgtState};
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::time::{delay::fsleep, Delta, Instant, Monotonic};
use kernel::types::Opaque;
use qla2x00t_proto::fwimage::FwImage;
use qla2x00t_proto::iocb::IOCB_SIZE;
use qla2x00t_proto::mailbox::{fo1, mbs, InitCb24, MailboxCmd};
use qla2x00t_proto::notify::mba;
use qla2x00t_proto::nvram::{farx, Nvram24, NvramFamily, NvramLocation, NVRAM_24XX_SIZE};
use qla2x00t_proto::regs::{
    ctrl_status, HccrCmd, HostStatus, IntrType, QueuePtr, Reg, ICTRL_EN_RISC_INT, MAILBOX_COUNT,
};
use qla2x00t_proto::ring::{Producer as ReqProducer, SigConsumer};
use scst_core::types::Wwpn;

/// Bits of `Hba::pending` (work for the IRQ thread).
const PENDING_RSP: u32 = 1 << 0;
const PENDING_ATIO: u32 = 1 << 1;
const PENDING_ASYNC: u32 = 1 << 2;
const PENDING_PAUSED: u32 = 1 << 3;
/// Link events are latched apart from `last_async`: a LOOP DOWN followed by LOOP UP before
/// the thread runs must still end the sessions.
const PENDING_LINK_DOWN: u32 = 1 << 4;
const PENDING_LINK_UP: u32 = 1 << 5;

/// Room for one drain of both rings (every IOCB a 5-entry ATIO at most).
const SCRATCH_BYTES: usize =
    2 * rings::DRAIN_BUDGET as usize * qla2x00t_proto::iocb::ATIO_MAX_ENTRIES * IOCB_SIZE;
/// Numbers the HBAs' workqueues.
static HBA_SEQ: AtomicU32 = AtomicU32::new(0);

/// Mailbox timeouts: ordinary commands, and EXECUTE FIRMWARE / INITIALIZE FIRMWARE.
pub(crate) const MBX_TIMEOUT_MS: u32 = 2_000;

/// One flash dword read may take this long (qla2xxx allows 30000 polls of 10 µs).
const FLASH_DWORD_TIMEOUT_MS: u32 = 300;

/// Where the init control block's names and settings come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PortConfig {
    /// A valid NVRAM image: names, frame size, login timeout, firmware options.
    Nvram(Nvram24),
    /// Names only (a soft ISP whose NVRAM is not read): the driver's defaults otherwise.
    Names(Wwpn, Wwpn),
}

impl PortConfig {
    /// The (port, node) names the port initialises with.
    pub(crate) const fn names(&self) -> (Wwpn, Wwpn) {
        match self {
            PortConfig::Nvram(nv) => nv.names(),
            PortConfig::Names(p, n) => (*p, *n),
        }
    }
}

/// Ring cursors, under one lock (the IRQ thread and, later, the command path).
pub(crate) struct Queues {
    pub(crate) req: ReqProducer,
    rsp: SigConsumer,
    atio: SigConsumer,
}

/// Counters readable at any time (statistics, tests).
#[derive(Default)]
pub(crate) struct Stats {
    /// Hard interrupts that were ours.
    pub(crate) irqs: AtomicU32,
    /// Hard interrupts with no RISC interrupt pending (shared INTx, spurious).
    pub(crate) not_ours: AtomicU32,
    /// Host_status codes the decoder did not know.
    pub(crate) unknown: AtomicU32,
    /// Async events (mailbox 0 of the last one in `last_async`).
    pub(crate) async_events: AtomicU32,
    /// Mailbox 0 of the last async event.
    pub(crate) last_async: AtomicU32,
    /// Response-queue IOCBs drained (and dropped: no consumer yet).
    pub(crate) rsp_iocbs: AtomicU32,
    /// ATIO-queue IOCBs drained (and dropped: no consumer yet).
    pub(crate) atio_iocbs: AtomicU32,
    /// Immediate Notify entries among the drained IOCBs.
    pub(crate) notifies: AtomicU32,
    /// Entries the target layer could not decode (dropped, logged once).
    pub(crate) bad_entries: AtomicU32,
    /// Notify Ack / ABTS response completions with an error status.
    pub(crate) rejected_requests: AtomicU32,
}

/// An ISP and everything the driver keeps about it.
#[pin_data]
pub(crate) struct Hba<B: IspBus> {
    pub(crate) bus: B,
    pub(crate) chip: ChipInfo,
    pub(crate) req: DmaRing,
    rsp: DmaRing,
    atio: DmaRing,
    #[pin]
    pub(crate) queues: Mutex<Queues>,
    /// Target mode: the port logic, its commands and the engine (see `tgt.rs`).
    #[pin]
    pub(crate) tgt: Mutex<TgtState<B>>,
    /// Entries drained by the IRQ thread, handled after the ring lock is dropped.
    #[pin]
    scratch: Mutex<KVVec<u8>>,
    /// Runs the HBA's command steps (destroyed, and so drained, before anything below).
    pub(crate) fc_wq: FcWq,
    /// Re-reads the port's N_Port ID after a link up (a mailbox: not on the IRQ thread,
    /// whose line stays masked until it returns). Queued on `fc_wq`.
    #[pin]
    pub(crate) id_work: Opaque<bindings::work_struct>,
    /// One mailbox command at a time.
    #[pin]
    mbx_lock: Mutex<()>,
    #[pin]
    mbx_done: Opaque<bindings::completion>,
    /// Mailboxes the outstanding command reads back (its `in_mask`).
    mbx_in_mask: AtomicU32,
    /// A command is outstanding; cleared by whoever captures its completion.
    mbx_busy: AtomicBool,
    mbx_out: [AtomicU16; MAILBOX_COUNT],
    /// The interrupt handlers act only while this is set (interrupts enabled at the chip).
    irq_on: AtomicBool,
    pending: AtomicU32,
    pub(crate) stats: Stats,
}

// SAFETY: the raw completion is made for cross-thread use (complete() from IRQ context,
// waits from process context); everything else in `Hba` is Sync/Send on its own.
unsafe impl<B: IspBus> Send for Hba<B> {}
// SAFETY: as above.
unsafe impl<B: IspBus> Sync for Hba<B> {}

/// A polling deadline on the monotonic clock. Counting `msleep(1)` iterations is not a
/// timeout: each lasts one to two jiffies (4-8 ms at HZ=250), which stretched the 2 s mailbox
/// timeout to up to 16 s and the 3 s ROM wait to 24 s.
struct Deadline {
    start: Instant<Monotonic>,
    limit_ns: i64,
}

impl Deadline {
    fn after_ms(ms: u32) -> Self {
        Deadline {
            start: Instant::now(),
            limit_ns: i64::from(ms).saturating_mul(1_000_000),
        }
    }

    fn passed(&self) -> bool {
        self.start.elapsed().as_nanos() >= self.limit_ns
    }
}

/// One polling interval (process context only: probe, remove, polled mailboxes).
fn poll_sleep() {
    fsleep(Delta::from_micros(200));
}

impl<B: IspBus> Hba<B> {
    /// An HBA over `bus` with freshly allocated rings; interrupts off.
    pub(crate) fn new(bus: B, chip: ChipInfo) -> Result<impl PinInit<Self, Error>> {
        let dev = bus.dma_device();
        let req = DmaRing::new(dev, rings::REQ_ENTRIES, Producer::Host)?;
        let rsp = DmaRing::new(dev, rings::RSP_ENTRIES, Producer::Firmware)?;
        let atio = DmaRing::new(dev, rings::ATIO_ENTRIES, Producer::Firmware)?;
        let queues = Queues {
            req: ReqProducer::new(req.ring()),
            rsp: SigConsumer::new(rsp.ring()),
            atio: SigConsumer::new(atio.ring()),
        };
        let tgt = TgtState::new()?;
        let scratch = KVVec::with_capacity(SCRATCH_BYTES, GFP_KERNEL)?;
        let fc_wq = FcWq::new(HBA_SEQ.fetch_add(1, Ordering::Relaxed))?;
        Ok(try_pin_init!(Hba {
            bus,
            chip,
            req,
            rsp,
            atio,
            queues <- kernel::new_mutex!(queues),
            tgt <- kernel::new_mutex!(tgt),
            scratch <- kernel::new_mutex!(scratch),
            fc_wq,
            // SAFETY: `INIT_WORK` on the pinned, not yet queued item.
            id_work <- Opaque::ffi_init(|p: *mut bindings::work_struct| unsafe {
                bindings::init_work_with_key(
                    p,
                    Some(crate::qla2x00t::tgt::refresh_port_id::<B>),
                    false,
                    c"ferrule_qla_id".as_ptr().cast(),
                    kernel::static_lock_class!().as_ptr(),
                )
            }),
            mbx_lock <- kernel::new_mutex!(()),
            // SAFETY: `init_completion` initialises the pinned completion in place.
            mbx_done <- Opaque::ffi_init(|p: *mut bindings::completion| unsafe {
                crate::bindings::ferrule_h_init_completion(p.cast())
            }),
            mbx_in_mask: AtomicU32::new(0),
            mbx_busy: AtomicBool::new(false),
            mbx_out: [const { AtomicU16::new(0) }; MAILBOX_COUNT],
            irq_on: AtomicBool::new(false),
            pending: AtomicU32::new(0),
            stats: Stats::default(),
        }? Error))
    }

    // ---- interrupts -------------------------------------------------------------------

    /// Hard-IRQ part for a vector with `role`. Returns (ours, wake the thread).
    pub(crate) fn hard_irq(&self, role: VectorRole) -> (bool, bool) {
        if !self.irq_on.load(Ordering::Acquire) {
            return (false, false);
        }
        match role {
            VectorRole::Response | VectorRole::Atio => {
                let bit = if role == VectorRole::Atio {
                    PENDING_ATIO
                } else {
                    PENDING_RSP
                };
                self.pending.fetch_or(bit, Ordering::AcqRel);
                self.ack();
                self.stats.irqs.fetch_add(1, Ordering::Relaxed);
                (true, true)
            }
            VectorRole::Default => {
                let hs = HostStatus(self.bus.read32(Reg::HostStatus));
                if !hs.risc_int() || hs.0 == u32::MAX {
                    self.stats.not_ours.fetch_add(1, Ordering::Relaxed);
                    return (false, false);
                }
                self.stats.irqs.fetch_add(1, Ordering::Relaxed);
                self.decode(hs);
                self.ack();
                (true, self.pending.load(Ordering::Acquire) != 0)
            }
        }
    }

    /// Acts on one host_status value; mailbox registers are read before the acknowledge.
    fn decode(&self, hs: HostStatus) {
        if hs.paused() {
            self.pending.fetch_or(PENDING_PAUSED, Ordering::AcqRel);
        }
        match hs.intr_type() {
            Some(t) if t.is_mailbox() => {
                self.capture_mailbox(hs.mailbox0());
                // SAFETY: the completion was initialised in `new` and is pinned.
                unsafe { bindings::complete(self.mbx_done.get()) };
            }
            Some(IntrType::AsyncEvent) => {
                self.stats.async_events.fetch_add(1, Ordering::Relaxed);
                let code = hs.mailbox0();
                self.stats
                    .last_async
                    .store(u32::from(code), Ordering::Relaxed);
                let link = match code {
                    mba::LOOP_DOWN | mba::LIP_RESET => PENDING_LINK_DOWN,
                    mba::LOOP_UP => PENDING_LINK_UP,
                    _ => 0,
                };
                self.pending
                    .fetch_or(PENDING_ASYNC | link, Ordering::AcqRel);
            }
            Some(t) => {
                let mut bits = 0;
                if t.has_response() {
                    bits |= PENDING_RSP;
                }
                if t.has_atio() {
                    bits |= PENDING_ATIO;
                }
                self.pending.fetch_or(bits, Ordering::AcqRel);
            }
            None => {
                self.stats.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn ack(&self) {
        self.bus.write32(Reg::Hccr, HccrCmd::ClrRiscInt as u32);
        // Flush the posted write so the line drops before we return.
        let _ = self.bus.read32(Reg::Hccr);
    }

    /// Threaded part: drain ATIOs first (an ABTS on the response queue must never overtake
    /// the command it aborts), then responses, then report events. A pass that used its
    /// whole drain budget leaves entries behind whose interrupt is already acknowledged:
    /// it runs again rather than leave them for the next interrupt.
    pub(crate) fn thread_irq(&self) {
        while self.thread_pass() {}
    }

    /// One pass over what `pending` announced; true when a ring has entries left.
    fn thread_pass(&self) -> bool {
        let pending = self.pending.swap(0, Ordering::AcqRel);
        let mut more = 0;
        if pending & (PENDING_ATIO | PENDING_RSP) != 0 {
            let mut scratch = self.scratch.lock();
            scratch.clear();
            {
                let mut q = self.queues.lock();
                let q = &mut *q;
                // Both rings, whichever announced itself: the ATIO ring first even when only
                // the response vector fired (MSI-X has a thread per vector), so the commands
                // an ABTS or CTIO below refers to come first; and whatever the other ring
                // holds is taken now rather than on its own interrupt (an empty ring costs
                // one signature check). `scratch` serialises the passes of both threads.
                let n = self.drain_one(&self.atio, &mut q.atio, QueuePtr::AtioOut, &mut scratch);
                self.stats.atio_iocbs.fetch_add(n, Ordering::Relaxed);
                if n >= u32::from(rings::DRAIN_BUDGET) {
                    more |= PENDING_ATIO;
                }
                let n = self.drain_one(&self.rsp, &mut q.rsp, QueuePtr::RspOut, &mut scratch);
                self.stats.rsp_iocbs.fetch_add(n, Ordering::Relaxed);
                if n >= u32::from(rings::DRAIN_BUDGET) {
                    more |= PENDING_RSP;
                }
            }
            // ATIO entries first: an ABTS on the response queue follows its command.
            self.tgt_entries(&scratch);
            // More may have arrived while the ring lock was dropped: the interrupt for them
            // set `pending` again and the thread runs once more.
        }
        if more != 0 {
            self.pending.fetch_or(more, Ordering::AcqRel);
        }
        if pending & PENDING_ASYNC != 0 {
            let code = self.stats.last_async.load(Ordering::Relaxed);
            // Down before up: a bounce the thread saw only the end of still ends sessions.
            if pending & PENDING_LINK_DOWN != 0 {
                self.tgt_link_down();
            }
            if pending & PENDING_LINK_UP != 0 {
                self.tgt_link_up();
            }
            dev_info!(
                self.bus.dma_device(),
                "qla2x00t: async event {:#06x} ({}), {} so far\n",
                code,
                async_name(code),
                self.stats.async_events.load(Ordering::Relaxed)
            );
        }
        if pending & PENDING_PAUSED != 0 {
            dev_err!(
                self.bus.dma_device(),
                "qla2x00t: RISC paused (firmware error); HBA needs a reset\n"
            );
        }
        more != 0
    }

    /// Drains one ring, copying its entries to `scratch` for the target layer.
    fn drain_one(
        &self,
        ring: &DmaRing,
        consumer: &mut SigConsumer,
        out: QueuePtr,
        scratch: &mut KVVec<u8>,
    ) -> u32 {
        let mut counts = DrainCounts::default();
        let mut lost = 0u32;
        // Order our entry reads after the interrupt that announced them.
        kernel::sync::barrier::dma_mb(kernel::sync::barrier::Read);
        let batch = ring.with_mem(|m| {
            rings::drain(consumer, m, &mut counts, |head, tail| {
                let ok = scratch.extend_from_slice(head, GFP_KERNEL).is_ok()
                    && scratch.extend_from_slice(tail, GFP_KERNEL).is_ok();
                if !ok {
                    lost = lost.saturating_add(1);
                }
            })
        });
        if let Ok(b) = batch {
            if let Some(new_out) = b.new_out {
                self.bus.write_queue(out, u32::from(new_out));
            }
        }
        if lost > 0 {
            dev_warn!(
                self.bus.dma_device(),
                "qla2x00t: out of memory: {} ring entries dropped\n",
                lost
            );
        }
        self.stats
            .notifies
            .fetch_add(counts.notifies, Ordering::Relaxed);
        if counts.dropped > 0 {
            self.stats
                .bad_entries
                .fetch_add(counts.dropped, Ordering::Relaxed);
        }
        counts.iocbs
    }

    /// Turns interrupt handling on (handlers registered) and enables RISC interrupts.
    pub(crate) fn enable_interrupts(&self) {
        self.irq_on.store(true, Ordering::Release);
        self.bus.write32(Reg::Ictrl, ICTRL_EN_RISC_INT);
        let _ = self.bus.read32(Reg::Ictrl);
    }

    /// Masks RISC interrupts at the chip and makes the handlers ignore the line.
    pub(crate) fn disable_interrupts(&self) {
        self.bus.write32(Reg::Ictrl, 0);
        let _ = self.bus.read32(Reg::Ictrl);
        self.irq_on.store(false, Ordering::Release);
    }

    // ---- mailbox engine ----------------------------------------------------------------

    fn capture_mailbox(&self, mb0: u16) {
        let mask = self.mbx_in_mask.load(Ordering::Acquire);
        self.mbx_out[0].store(mb0, Ordering::Relaxed);
        for (n, slot) in self.mbx_out.iter().enumerate().skip(1) {
            if mask & (1 << n) != 0 {
                slot.store(self.bus.read_mailbox(n), Ordering::Relaxed);
            }
        }
        self.mbx_busy.store(false, Ordering::Release);
    }

    /// Runs one mailbox command: by interrupt once interrupts are on, polled before. Returns
    /// the mailboxes of the completion (those in `cmd.in_mask`, others zero). ETIMEDOUT when
    /// the firmware does not answer, EIO when it answers with an error status.
    pub(crate) fn mailbox(
        &self,
        cmd: &MailboxCmd,
        timeout_ms: u32,
    ) -> Result<[u16; MAILBOX_COUNT]> {
        let _serial = self.mbx_lock.lock();
        for slot in &self.mbx_out {
            slot.store(0, Ordering::Relaxed);
        }
        self.mbx_in_mask.store(cmd.in_mask, Ordering::Release);
        // SAFETY: the completion is initialised and pinned; no waiter exists (we hold the lock).
        unsafe { crate::bindings::ferrule_h_reinit_completion(self.mbx_done.get().cast()) };
        self.mbx_busy.store(true, Ordering::Release);
        for (n, v) in cmd.mb.iter().enumerate() {
            if cmd.out_mask & (1 << n) != 0 {
                self.bus.write_mailbox(n, *v);
            }
        }
        self.bus.write32(Reg::Hccr, HccrCmd::SetHostInt as u32);

        let by_irq = self.irq_on.load(Ordering::Acquire);
        if by_irq {
            let jiffies = kernel::time::msecs_to_jiffies(timeout_ms);
            // SAFETY: as above; the hard handler calls `complete` on it.
            unsafe { bindings::wait_for_completion_timeout(self.mbx_done.get(), jiffies) };
        } else {
            self.poll_mailbox(timeout_ms);
        }
        if self.mbx_busy.swap(false, Ordering::AcqRel) {
            dev_err!(
                self.bus.dma_device(),
                "qla2x00t: mailbox command {:#04x} timed out ({})\n",
                cmd.opcode(),
                if by_irq { "interrupt" } else { "polled" }
            );
            return Err(ETIMEDOUT);
        }
        let mut out = [0u16; MAILBOX_COUNT];
        for (o, slot) in out.iter_mut().zip(&self.mbx_out) {
            *o = slot.load(Ordering::Relaxed);
        }
        if out[0] != mbs::COMMAND_COMPLETE {
            dev_err!(
                self.bus.dma_device(),
                "qla2x00t: mailbox command {:#04x} failed: status {:#06x} mb1 {:#06x}\n",
                cmd.opcode(),
                out[0],
                out[1]
            );
            return Err(EIO);
        }
        Ok(out)
    }

    /// Polled completion (interrupts off at the chip): watch host_status, capture a mailbox
    /// completion, acknowledge whatever else arrives (async events during bring-up).
    fn poll_mailbox(&self, timeout_ms: u32) {
        let deadline = Deadline::after_ms(timeout_ms);
        loop {
            let hs = HostStatus(self.bus.read32(Reg::HostStatus));
            if hs.risc_int() && hs.0 != u32::MAX {
                if hs.intr_type().is_some_and(|t| t.is_mailbox()) {
                    self.capture_mailbox(hs.mailbox0());
                    self.ack();
                    return;
                }
                self.decode(hs);
                self.ack();
            }
            if deadline.passed() {
                return;
            }
            poll_sleep();
        }
    }

    // ---- bring-up ----------------------------------------------------------------------

    fn poll_reg(&self, timeout_ms: u32, mut done: impl FnMut(&Self) -> bool) -> Result {
        let deadline = Deadline::after_ms(timeout_ms);
        loop {
            // Sample the deadline first: a condition that became true while we slept past
            // the deadline still counts.
            let late = deadline.passed();
            if done(self) {
                return Ok(());
            }
            if late {
                return Err(ETIMEDOUT);
            }
            poll_sleep();
        }
    }

    /// Stops DMA, soft-resets the ISP and cycles the RISC through reset until its ROM
    /// reports ready (mailbox 0 reads 0). Unverified on hardware: see the documentation.
    pub(crate) fn reset_risc(&self) -> Result {
        self.bus.write32(Reg::CtrlStatus, ctrl_status::DMA_SHUTDOWN);
        self.poll_reg(300, |h| {
            h.bus.read32(Reg::CtrlStatus) & ctrl_status::DMA_ACTIVE == 0
        })
        .inspect_err(|_| dev_err!(self.bus.dma_device(), "qla2x00t: DMA did not stop\n"))?;
        self.bus.write32(
            Reg::CtrlStatus,
            ctrl_status::ISP_SOFT_RESET | ctrl_status::DMA_SHUTDOWN,
        );
        let _ = self.bus.read32(Reg::CtrlStatus);
        self.poll_reg(300, |h| {
            h.bus.read32(Reg::CtrlStatus) & ctrl_status::ISP_SOFT_RESET == 0
        })
        .inspect_err(|_| {
            dev_err!(
                self.bus.dma_device(),
                "qla2x00t: soft reset did not complete\n"
            )
        })?;
        for cmd in [
            HccrCmd::SetRiscReset,
            HccrCmd::RelRiscPause,
            HccrCmd::ClrRiscReset,
        ] {
            self.bus.write32(Reg::Hccr, cmd as u32);
            let _ = self.bus.read32(Reg::Hccr);
        }
        self.poll_reg(3_000, |h| h.bus.read_mailbox(0) == 0)
            .inspect_err(|_| {
                dev_err!(
                    self.bus.dma_device(),
                    "qla2x00t: RISC ROM did not become ready\n"
                )
            })
    }

    /// One flash read cycle: FLASH_ADDR = `addr` with DATA_FLAG clear, wait (bounded, on
    /// the monotonic clock) for the chip to set DATA_FLAG, then FLASH_DATA. ETIMEDOUT when
    /// the flag never comes (a register that reads all ones does not count as ready).
    pub(crate) fn read_flash_dword(&self, addr: u32) -> Result<u32> {
        self.bus.write32(Reg::FlashAddr, addr & !farx::DATA_FLAG);
        self.poll_reg(FLASH_DWORD_TIMEOUT_MS, |h| {
            let v = h.bus.read32(Reg::FlashAddr);
            v != u32::MAX && v & farx::DATA_FLAG != 0
        })?;
        Ok(self.bus.read32(Reg::FlashData))
    }

    /// Reads the NVRAM image at `loc` into `out`. `Err(i)`: dword `i` timed out.
    pub(crate) fn read_nvram(
        &self,
        loc: &NvramLocation,
        out: &mut [u8; NVRAM_24XX_SIZE],
    ) -> core::result::Result<(), u32> {
        qla2x00t_proto::nvram::read_image(loc, out, |a| self.read_flash_dword(a).ok())
    }

    /// Loads `blob` into RISC RAM through the request-ring memory (unused before the
    /// firmware runs), verifies the checksum and starts it. Returns the start address.
    pub(crate) fn load_and_start_firmware(&self, blob: &[u8]) -> Result<u32> {
        let img = FwImage::parse(blob).map_err(|e| {
            dev_err!(
                self.bus.dma_device(),
                "qla2x00t: firmware image refused: {:?}\n",
                e
            );
            EINVAL
        })?;
        let bounce = self.req.dma_addr();
        for seg in img.segments() {
            let mut from = 0u32;
            loop {
                let frag = self.req.with_mem(|m| FwImage::copy_fragment(seg, from, m));
                let Some((addr, words)) = frag else { break };
                self.mailbox(
                    &MailboxCmd::load_risc_ram_extended(addr, bounce, words),
                    MBX_TIMEOUT_MS,
                )?;
                from = from.checked_add(words).ok_or(EINVAL)?;
            }
        }
        // The bounce buffer becomes the request ring again.
        self.req
            .with_mem(|m| rings::prepare(self.req.ring(), m, Producer::Host))
            .map_err(|_| EINVAL)?;
        let start = img.start_addr();
        self.mailbox(&MailboxCmd::verify_checksum(start), MBX_TIMEOUT_MS)?;
        self.mailbox(&MailboxCmd::execute_firmware(start), MBX_TIMEOUT_MS)?;
        Ok(start)
    }

    /// GET FIRMWARE VERSION: (major, minor, subminor, attributes).
    pub(crate) fn firmware_version(&self) -> Result<(u16, u16, u16, u16)> {
        let mb = self.mailbox(&MailboxCmd::get_firmware_version(), MBX_TIMEOUT_MS)?;
        Ok((mb[1], mb[2], mb[3], mb[6]))
    }

    /// INITIALIZE FIRMWARE with this HBA's rings, target mode on and initiator mode off:
    /// ring cursors and queue-pointer registers back to zero, the control block in its own
    /// DMA buffer, then the mailbox (interrupt-completed once interrupts are on).
    ///
    /// Names and settings come from `cfg` (the NVRAM, or the soft ISP's names).
    pub(crate) fn initialize_firmware(&self, cfg: &PortConfig, vectors: VectorKind) -> Result {
        let icb = self.init_cb(cfg, vectors).encode();
        let dev = self.bus.dma_device();
        let buf = kernel::dma::Coherent::<u8>::from_slice(dev, &icb, GFP_KERNEL)?;
        {
            let mut q = self.queues.lock();
            q.req = ReqProducer::new(self.req.ring());
            q.rsp = SigConsumer::new(self.rsp.ring());
            q.atio = SigConsumer::new(self.atio.ring());
            self.rsp
                .with_mem(|m| rings::prepare(self.rsp.ring(), m, Producer::Firmware))
                .map_err(|_| EINVAL)?;
            self.atio
                .with_mem(|m| rings::prepare(self.atio.ring(), m, Producer::Firmware))
                .map_err(|_| EINVAL)?;
            self.reset_queue_pointers();
        }
        kernel::sync::barrier::dma_mb(kernel::sync::barrier::Write);
        self.mailbox(
            &MailboxCmd::initialize_firmware(buf.dma_address(), false),
            MBX_TIMEOUT_MS,
        )?;
        drop(buf);
        Ok(())
    }

    /// The init control block for this HBA's rings: target mode on, initiator mode off.
    fn init_cb(&self, cfg: &PortConfig, vectors: VectorKind) -> InitCb24 {
        build_init_cb(
            cfg,
            self.chip.family.nvram(),
            vectors,
            [
                (self.req.ring().len(), self.req.dma_addr()),
                (self.rsp.ring().len(), self.rsp.dma_addr()),
                (self.atio.ring().len(), self.atio.dma_addr()),
            ],
        )
    }

    /// Resets the queue pointers the driver owns to zero (before INITIALIZE FIRMWARE).
    pub(crate) fn reset_queue_pointers(&self) {
        for p in [
            QueuePtr::ReqIn,
            QueuePtr::ReqOut,
            QueuePtr::RspIn,
            QueuePtr::RspOut,
            QueuePtr::AtioIn,
            QueuePtr::AtioOut,
        ] {
            self.bus.write_queue(p, 0);
        }
    }

    /// Quiesces the chip before its rings are freed: interrupts off, RISC reset (stops DMA).
    pub(crate) fn shutdown(&self) {
        self.disable_interrupts();
        if self.reset_risc().is_err() {
            dev_warn!(
                self.bus.dma_device(),
                "qla2x00t: RISC did not reset cleanly at teardown\n"
            );
        }
    }
}

/// A short name for an async event code (mailbox 0), for the log.
fn async_name(code: u32) -> &'static str {
    match u16::try_from(code) {
        Ok(mba::LOOP_UP) => "link up",
        Ok(mba::LOOP_DOWN) => "link down",
        Ok(mba::LIP_OCCURRED) => "LIP",
        Ok(mba::LIP_RESET) => "LIP reset",
        Ok(mba::PORT_UPDATE) => "port update",
        Ok(mba::RSCN_UPDATE) => "RSCN",
        Ok(mba::SYSTEM_ERR) => "system error",
        _ => "other",
    }
}

/// The init control block for rings of (length, bus address) = [request, response, ATIO]:
/// the driver's defaults with only names from `PortConfig::Names`; what the NVRAM says
/// (names, frame size, login timeout, target-mode firmware options) with `PortConfig::Nvram`.
pub(crate) fn build_init_cb(
    cfg: &PortConfig,
    family: NvramFamily,
    vectors: VectorKind,
    rings: [(u16, u64); 3],
) -> InitCb24 {
    let (msix, msix_atio) = icb_msix(vectors);
    let (port, node) = cfg.names();
    let mut icb = InitCb24 {
        version: 1,
        frame_payload_size: 2048,
        execution_throttle: 0xFFFF,
        exchange_count: 0xFFFF,
        port_name: port,
        node_name: node,
        request_q_length: rings[0].0,
        request_q_address: rings[0].1,
        response_q_length: rings[1].0,
        response_q_address: rings[1].1,
        atio_q_length: rings[2].0,
        atio_q_address: rings[2].1,
        msix,
        msix_atio,
        login_timeout: 0,
        firmware_options_1: fo1::ENABLE_TARGET_MODE | fo1::DISABLE_INITIATOR_MODE,
        firmware_options_2: 0,
        firmware_options_3: 0,
        ..InitCb24::default()
    };
    if let PortConfig::Nvram(nv) = cfg {
        nv.apply_to_icb(family, &mut icb);
    }
    icb
}

#[kunit_tests(ferrule_qla2x00t_icb)]
mod tests {
    use super::*;

    #[test]
    fn icb_has_target_mode_rings_and_vectors() {
        let rings = [
            (2048, 0x1_0000_1000),
            (1024, 0x2_0000_2000),
            (4096, 0x3_0000_3000),
        ];
        let names = PortConfig::Names(Wwpn(0x2100_0024_ff00_0001), Wwpn(0x2000_0024_ff00_0001));
        let icb = build_init_cb(&names, NvramFamily::Isp25xx, VectorKind::MsiX, rings);
        assert!(icb.target_mode());
        assert_eq!(
            icb.firmware_options_1 & fo1::DISABLE_INITIATOR_MODE,
            fo1::DISABLE_INITIATOR_MODE
        );
        let bytes = icb.encode();
        // Through the wire format: what the firmware will read.
        let back = InitCb24::decode(&bytes);
        assert_eq!(back.request_q_length, 2048);
        assert_eq!(back.request_q_address, 0x1_0000_1000);
        assert_eq!(back.response_q_address, 0x2_0000_2000);
        assert_eq!(back.atio_q_length, 4096);
        assert_eq!(back.atio_q_address, 0x3_0000_3000);
        assert_eq!((back.msix, back.msix_atio), (1, 2));
        assert_eq!(back.port_name, Wwpn(0x2100_0024_ff00_0001));
        assert_eq!(&bytes[0x0C..0x14], &[0x21, 0, 0, 0x24, 0xff, 0, 0, 1]);
        let intx = build_init_cb(
            &PortConfig::Names(Wwpn(1), Wwpn(2)),
            NvramFamily::Isp24xx,
            VectorKind::Intx,
            rings,
        );
        assert_eq!((intx.msix, intx.msix_atio), (0, 0));
    }

    #[test]
    fn icb_from_nvram_keeps_rings_and_takes_names_and_options() {
        let rings = [(2048, 0x1000), (1024, 0x2000), (4096, 0x3000)];
        let img = Nvram24::image(Wwpn(0x2100_0024_ff5a_0007), Wwpn(0x2000_0024_ff5a_0007));
        let parsed = Nvram24::parse(&img);
        assert!(parsed.is_ok());
        let Ok(nv) = parsed else { return };
        let icb = build_init_cb(
            &PortConfig::Nvram(nv),
            NvramFamily::Isp25xx,
            VectorKind::MsiX,
            rings,
        );
        assert_eq!(icb.port_name, Wwpn(0x2100_0024_ff5a_0007));
        assert_eq!(icb.node_name, Wwpn(0x2000_0024_ff5a_0007));
        assert!(icb.target_mode());
        assert_eq!(
            icb.firmware_options_1 & fo1::DISABLE_INITIATOR_MODE,
            fo1::DISABLE_INITIATOR_MODE
        );
        // 25xx target mode: point-to-point, target PRLI control.
        assert_eq!(icb.firmware_options_2 & 0x4070, 0x4010);
        assert_eq!((icb.request_q_length, icb.atio_q_address), (2048, 0x3000));
        assert_eq!((icb.msix, icb.msix_atio), (1, 2));
    }
}
