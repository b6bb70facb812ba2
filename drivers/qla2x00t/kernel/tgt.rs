// SPDX-License-Identifier: GPL-2.0
//! Target mode on one HBA: the kernel side of `qla2x00t_proto::port`.
//!
//! The IRQ thread copies drained ATIO and response entries out of the rings (ATIOs first,
//! so an ABTS never overtakes the command it aborts) and hands them to [`Hba::tgt_entry`]
//! one by one: Immediate Notify → session change in the engine (write side) → Notify Ack;
//! ATIO → exchange → a work item on the HBA's workqueue; CTIO completion → the next step of
//! its command; ABTS → ABORT TASK in the engine, then the BA_ACC.
//!
//! A command's work item: for a WRITE, map its page buffer and ask for the data (CTIO7
//! data-out); when that completes, run the command in the engine (pinned to the session
//! incarnation the ATIO arrived on: `Command::session`), map the data-in and send it with
//! the status in one CTIO7 chain. The port logic turns every reply of an exchange whose
//! session was torn down meanwhile into a terminate.
//!
//! Locking: `tgt` (the port state and the command table) may be held while taking the
//! engine's lock (session events) and the ring lock (posting); the work items run the
//! engine without `tgt` held.

use crate::bindings as fb;
use crate::qla2x00t::bus::IspBus;
use crate::qla2x00t::fcport::FcPort;
use crate::qla2x00t::hba::Hba;
use crate::sg_buffer::SgBuffer;
use crate::target_engine::{Engine, SESSIONS};
use core::ptr::NonNull;
use kernel::bindings as kb;
use kernel::prelude::*;
use kernel::sync::Arc;
use qla2x00t_proto::iocb::{
    entry_type, vce_command, AbtsRecv24, Atio7, Cdb, Ctio7Status, Entry, ImmNotify24, Rida24,
    VpConfig24, VpCtrl24, IOCB_SIZE, SKIP_HANDLE, VCT_COMMAND_MOD_ENABLE_VPS, VP_OPT_ENABLE,
};
use qla2x00t_proto::notify::AsyncEvent;
use qla2x00t_proto::port::{
    AbtsAction, AtioAction, CtioDone, Exchange, ExchangeError, ExchangeId, Port, Reply,
    RequestQueue, SessionCore, SessionLookup, SessionSink, MAX_VPS,
};
use scst_core::exec::Residual;
use scst_core::identity::{ActivateError, Login, Nexus, SessionRef, TeardownDoneError};
use scst_core::target::{Command, LoginRefused};
use scst_core::tmf::TmfFunction;
use scst_core::types::{DataDirection, Handle, LocalPort, PortId, Wwpn};

type Fail = (Error, &'static str);

/// Exchanges one HBA runs at once.
pub(crate) const EXCHANGES: usize = 1024;
/// Largest FCP_DL accepted (bigger commands get CHECK CONDITION): what one CTIO7 chain can
/// carry with a segment per page (the buffer is order-0 pages, and dma-direct does not merge
/// them), so `data_out`/`respond` never see `TooManySegments`.
const MAX_TRANSFER: u32 = (qla2x00t_proto::ring::MAX_DSEGS * kernel::page::PAGE_SIZE) as u32;
/// Sense ILLEGAL REQUEST / INVALID FIELD IN COMMAND INFORMATION UNIT.
const SENSE_INVALID_IU: [u8; 18] = [
    0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x0E, 0x03, 0, 0, 0, 0,
];
/// Times a worker retries a full request ring (1 ms apart) before giving up the reply.
const RING_RETRIES: u32 = 1000;

/// The target-mode state of an HBA (under its `tgt` mutex).
pub(crate) struct TgtState<B: IspBus> {
    pub(crate) port: VBox<Port<SESSIONS, EXCHANGES>>,
    /// The command of each exchange slot the port has handed out.
    cmds: KVec<Option<KBox<FcCmd<B>>>>,
    /// Per virtual port: the engine of the enabled configfs target for its WWPN.
    pub(crate) engines: [Option<Arc<Engine>>; MAX_VPS],
    /// NPIV ports created on this HBA (vp 1..), registered as FC ports of their own.
    vps: KVec<KBox<VpPort<B>>>,
    /// The port name (from NVRAM / the soft ISP's provider); 0 until initialised.
    pub(crate) wwpn: Wwpn,
    /// vp 0's N_Port ID from GET ADAPTER ID, restored at link up.
    base_port_id: Option<PortId>,
}

impl<B: IspBus> TgtState<B> {
    /// An idle port for local port `target` with an empty command table.
    pub(crate) fn new() -> Result<Self> {
        let mut port = VBox::<Port<SESSIONS, EXCHANGES>>::new_uninit(GFP_KERNEL)?;
        Port::init(&mut port, 0);
        // SAFETY: `Port::init` initialised the allocation.
        let port = unsafe { port.assume_init() };
        let mut cmds = KVec::with_capacity(EXCHANGES, GFP_KERNEL)?;
        for _ in 0..EXCHANGES {
            cmds.push(None, GFP_KERNEL)?;
        }
        Ok(TgtState {
            port,
            cmds,
            engines: [const { None }; MAX_VPS],
            vps: KVec::new(),
            wwpn: Wwpn(0),
            base_port_id: None,
        })
    }

    fn slot(&mut self, x: &Exchange) -> Option<&mut Option<KBox<FcCmd<B>>>> {
        self.cmds.get_mut(usize::from(x.id.slot()))
    }
}

/// One FC command: its exchange, CDB and page buffer.
#[repr(C)]
pub(crate) struct FcCmd<B: IspBus> {
    /// First field: the work function recovers the command from the `work_struct` pointer.
    work: kb::work_struct,
    hba: *const Hba<B>,
    engine: Arc<Engine>,
    x: Exchange,
    cdb: Cdb,
    /// `sgl_alloc` pages holding FCP_DL bytes (NULL when FCP_DL is 0).
    sgl: *mut kb::scatterlist,
    nents: u32,
    len: u32,
    /// Entries `dma_map_sg` returned (0: not mapped) and the direction they were mapped for.
    mapped: u32,
    to_device: bool,
    /// The data-out arrived: the next run executes the command.
    have_data: bool,
}

impl<B: IspBus> FcCmd<B> {
    fn dev(&self) -> *mut kb::device {
        // SAFETY: the HBA outlives its commands (its workqueue is flushed and its command
        // table emptied before it is freed).
        let dev = unsafe { (*self.hba).bus.dma_device() };
        // `Device` is a `#[repr(transparent)]` wrapper of `struct device`.
        core::ptr::from_ref(dev).cast_mut().cast::<kb::device>()
    }

    /// Maps the buffer for the device (`to_device`: the device reads it, a READ's data).
    fn map(&mut self, to_device: bool) -> Result<(), ()> {
        self.unmap();
        if self.sgl.is_null() {
            return Ok(());
        }
        // SAFETY: `sgl`/`nents` came from sgl_alloc and are ours; the device is bound.
        let n = unsafe {
            fb::ferrule_h_fc_dma_map(self.dev().cast(), self.sgl.cast(), self.nents, to_device)
        };
        if n <= 0 {
            return Err(());
        }
        self.mapped = n.unsigned_abs();
        self.to_device = to_device;
        Ok(())
    }

    fn unmap(&mut self) {
        if self.mapped > 0 {
            // SAFETY: mapped by `map` with these arguments.
            unsafe {
                fb::ferrule_h_fc_dma_unmap(
                    self.dev().cast(),
                    self.sgl.cast(),
                    self.nents,
                    self.to_device,
                )
            };
            self.mapped = 0;
        }
    }

    /// The mapped segments covering the first `bytes` bytes.
    fn segments(&self, bytes: u32) -> DmaSegs {
        DmaSegs {
            sg: if self.mapped > 0 {
                self.sgl
            } else {
                core::ptr::null_mut()
            },
            left: self.mapped,
            bytes,
        }
    }
}

impl<B: IspBus> Drop for FcCmd<B> {
    fn drop(&mut self) {
        self.unmap();
        if !self.sgl.is_null() {
            // SAFETY: allocated by sgl_alloc, unmapped above, freed once.
            unsafe { fb::ferrule_h_fc_sgl_free(self.sgl.cast()) };
        }
    }
}

/// Iterates (DMA address, length) over mapped scatterlist entries, up to a byte count.
#[derive(Clone)]
struct DmaSegs {
    sg: *mut kb::scatterlist,
    left: u32,
    bytes: u32,
}

impl Iterator for DmaSegs {
    type Item = (u64, u32);
    fn next(&mut self) -> Option<(u64, u32)> {
        if self.sg.is_null() || self.left == 0 || self.bytes == 0 {
            return None;
        }
        // SAFETY: `sg` is one of the `left` remaining mapped entries of a live scatterlist.
        let (addr, len, next) = unsafe {
            (
                fb::ferrule_h_sg_dma_address(self.sg.cast()),
                fb::ferrule_h_sg_dma_len(self.sg.cast()),
                fb::ferrule_h_sg_next(self.sg.cast()),
            )
        };
        let len = len.min(self.bytes);
        self.bytes = self.bytes.saturating_sub(len);
        self.left = self.left.saturating_sub(1);
        self.sg = next.cast();
        Some((addr, len))
    }
}

/// The request ring as the port logic posts to it.
struct ReqQ<'a, B: IspBus>(&'a Hba<B>);

impl<B: IspBus> RequestQueue for ReqQ<'_, B> {
    fn post(&mut self, count: u16, entries: &mut dyn Iterator<Item = Entry>) -> bool {
        self.0.post_request(count, entries)
    }
}

/// The cores of an HBA's virtual ports, one engine each (or none: logins refused,
/// nothing found). Every call goes to the engine of the vp it names.
struct Cores<'a>(&'a [Option<Arc<Engine>>; MAX_VPS]);

impl Cores<'_> {
    fn engine(&self, vp: u16) -> Option<&Arc<Engine>> {
        self.0.get(usize::from(vp)).and_then(|e| e.as_ref())
    }
}

impl SessionLookup for Cores<'_> {
    fn lookup(&self, port: LocalPort, s_id: PortId) -> Option<(SessionRef, Handle)> {
        self.engine(port.vp_index)?.fc_lookup(port, s_id)
    }
}

impl SessionCore for Cores<'_> {
    fn plogi(&mut self, n: Nexus, s: &mut dyn SessionSink) -> Result<Login, LoginRefused> {
        match self.engine(n.port.vp_index) {
            Some(e) => e.fc_session(|c| c.plogi(n, s)),
            None => Err(LoginRefused::UnknownPort),
        }
    }
    fn prli(&mut self, n: Nexus, s: &mut dyn SessionSink) -> Result<Login, LoginRefused> {
        match self.engine(n.port.vp_index) {
            Some(e) => e.fc_session(|c| c.prli(n, s)),
            None => Err(LoginRefused::UnknownPort),
        }
    }
    fn activate(&mut self, vp: u8, r: SessionRef) -> Result<(), ActivateError> {
        match self.engine(u16::from(vp)) {
            Some(e) => e.fc_session(|c| c.activate(vp, r)),
            None => Err(ActivateError::Stale),
        }
    }
    fn teardown_done(
        &mut self,
        vp: u8,
        r: SessionRef,
        s: &mut dyn SessionSink,
    ) -> Result<(), TeardownDoneError> {
        match self.engine(u16::from(vp)) {
            Some(e) => e.fc_session(|c| c.teardown_done(vp, r, s)),
            None => Err(TeardownDoneError::Stale),
        }
    }
    fn logout(
        &mut self,
        p: LocalPort,
        id: PortId,
        w: Option<Wwpn>,
        s: &mut dyn SessionSink,
    ) -> usize {
        self.engine(p.vp_index)
            .map_or(0, |e| e.fc_session(|c| c.logout(p, id, w, s)))
    }
    fn logout_handle(&mut self, p: LocalPort, h: Handle, s: &mut dyn SessionSink) -> usize {
        self.engine(p.vp_index)
            .map_or(0, |e| e.fc_session(|c| c.logout_handle(p, h, s)))
    }
    fn hba_down(&mut self, t: u16, s: &mut dyn SessionSink) -> usize {
        let mut n = 0usize;
        for e in self.0.iter().flatten() {
            n = n.saturating_add(e.fc_session(|c| c.hba_down(t, &mut *s)));
        }
        n
    }
    fn port_down(&mut self, p: LocalPort, s: &mut dyn SessionSink) -> usize {
        self.engine(p.vp_index)
            .map_or(0, |e| e.fc_session(|c| c.port_down(p, s)))
    }
}

/// Work function of `Hba::id_work`: GET ADAPTER ID, then vp 0 routes by the answer.
pub(crate) unsafe extern "C" fn refresh_port_id<B: IspBus>(work: *mut kb::work_struct) {
    let off = core::mem::offset_of!(Hba<B>, id_work);
    // SAFETY: only `Hba::id_work` is queued with this function; the HBA is pinned and
    // outlives its workqueue's items.
    let hba = unsafe { &*work.cast::<u8>().sub(off).cast::<Hba<B>>() };
    let id = crate::qla2x00t::bringup::adapter_id(hba).map(|a| a.port_id);
    let mut st = hba.tgt.lock();
    st.base_port_id = id;
    st.port.set_vp(0, id);
    drop(st);
    match id {
        Some(id) => dev_info!(
            hba.bus.dma_device(),
            "qla2x00t: link up, port id {:06x}\n",
            id.get()
        ),
        None => dev_info!(hba.bus.dma_device(), "qla2x00t: link up, no port id yet\n"),
    }
}

/// Work function of an [`FcCmd`].
unsafe extern "C" fn run_fc_cmd<B: IspBus>(work: *mut kb::work_struct) {
    let cmd = work.cast::<FcCmd<B>>();
    // SAFETY: only `FcCmd::work` items are queued with this function; `work` is its first
    // field (repr(C)). The command sits in its HBA's table and nothing else touches it while
    // its work item is queued or running (see `Hba::tgt_entry`).
    let hba = unsafe { &*(*cmd).hba };
    // SAFETY: as above.
    hba.fc_step(unsafe { &mut *cmd });
}

impl<B: IspBus> Hba<B> {
    /// Posts `count` request entries and rings the doorbell; false when the ring is full.
    pub(crate) fn post_request(
        &self,
        count: u16,
        entries: &mut dyn Iterator<Item = Entry>,
    ) -> bool {
        let mut q = self.queues.lock();
        // The firmware's out-pointer is read only when the ring looks full.
        let mut ok = self
            .req
            .with_mem(|m| q.req.push_all(m, &mut *entries, count))
            .is_ok();
        if !ok {
            let out = self.bus.read_queue(qla2x00t_proto::regs::QueuePtr::ReqOut);
            if let Ok(out) = u16::try_from(out) {
                q.req.set_consumer(out);
            }
            ok = self
                .req
                .with_mem(|m| q.req.push_all(m, entries, count))
                .is_ok();
        }
        if ok {
            // Entries before the doorbell.
            kernel::sync::barrier::dma_mb(kernel::sync::barrier::Write);
            self.bus.write_queue(
                qla2x00t_proto::regs::QueuePtr::ReqIn,
                u32::from(q.req.in_idx()),
            );
        }
        ok
    }

    /// Gives virtual port `vp` to the engine of an enabled target.
    pub(crate) fn tgt_attach(&self, vp: u8, engine: Arc<Engine>) {
        let mut st = self.tgt.lock();
        if let Some(e) = st.engines.get_mut(usize::from(vp)) {
            *e = Some(engine);
        }
    }

    /// Takes virtual port `vp` away from its target: its sessions end (their exchanges are
    /// terminated as they reply), its logins are refused from now on.
    pub(crate) fn tgt_detach(&self, vp: u8) {
        let mut st = self.tgt.lock();
        let st = &mut *st;
        let mut q = ReqQ(self);
        st.port.vp_down(&mut Cores(&st.engines), vp, &mut q);
        if let Some(e) = st.engines.get_mut(usize::from(vp)) {
            *e = None;
        }
    }

    /// Records the port name and vp 0's N_Port ID (ATIO routing by D_ID).
    pub(crate) fn tgt_set_port(&self, wwpn: Wwpn, id: Option<PortId>) {
        let mut st = self.tgt.lock();
        st.wwpn = wwpn;
        st.base_port_id = id;
        st.port.set_vp(0, id);
    }

    /// Link down: every session of the HBA ends, nothing is routed until link up.
    pub(crate) fn tgt_link_down(&self) {
        let mut st = self.tgt.lock();
        let st = &mut *st;
        let mut q = ReqQ(self);
        st.port
            .async_event(&mut Cores(&st.engines), AsyncEvent::LinkDown, &mut q);
    }

    /// Link up: GET ADAPTER ID on the workqueue (the fabric may have assigned another
    /// N_Port ID); until it answers, nothing is routed.
    pub(crate) fn tgt_link_up(&self) {
        // SAFETY: the work item was initialised in `Hba::new` and lives as long as the HBA,
        // whose workqueue is flushed before it is freed.
        unsafe {
            kb::queue_work_on(
                kb::wq_misc_consts_WORK_CPU_UNBOUND as core::ffi::c_int,
                self.fc_wq.raw(),
                self.id_work.get().cast(),
            )
        };
    }

    /// One entry copied from the ATIO or response ring (`bytes`: all its ring entries).
    pub(crate) fn tgt_entry(&self, bytes: &[u8]) {
        let Some(&kind) = bytes.first() else { return };
        match kind {
            entry_type::IMMED_NOTIFY => match ImmNotify24::decode(bytes) {
                Ok(n) => {
                    let mut st = self.tgt.lock();
                    let st = &mut *st;
                    let mut q = ReqQ(self);
                    st.port.notify(&mut Cores(&st.engines), &n, &mut q);
                }
                Err(e) => self.bad_entry(kind, e),
            },
            entry_type::ATIO_TYPE7 => match Atio7::decode(bytes) {
                Ok(a) => self.tgt_atio(&a),
                Err(e) => self.bad_entry(kind, e),
            },
            entry_type::CTIO_TYPE7 => match Ctio7Status::decode(bytes) {
                Ok(c) => self.tgt_ctio_done(&c),
                Err(e) => self.bad_entry(kind, e),
            },
            entry_type::ABTS_RECV => match AbtsRecv24::decode(bytes) {
                Ok(a) => self.tgt_abts(&a),
                Err(e) => self.bad_entry(kind, e),
            },
            entry_type::VP_RPT_ID => match Rida24::decode(bytes) {
                Ok(r) => self.tgt_rida(&r),
                Err(e) => self.bad_entry(kind, e),
            },
            entry_type::NOTIFY_ACK | entry_type::ABTS_RESP => {
                // Completions of our acks: an error status means the initiator retries.
                if bytes.get(3).is_some_and(|s| *s != 0) {
                    self.stats
                        .rejected_requests
                        .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                }
            }
            _ => self.bad_entry(kind, qla2x00t_proto::iocb::DecodeError::UnknownType(kind)),
        }
    }

    fn bad_entry(&self, kind: u8, e: qla2x00t_proto::iocb::DecodeError) {
        let n = self
            .stats
            .bad_entries
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        if n == 0 {
            pr_warn!(
                "qla2x00t: dropped a malformed entry (type {:#04x}: {:?}); further ones are only counted\n",
                kind,
                e
            );
        }
    }

    fn tgt_atio(&self, a: &Atio7) {
        let mut st = self.tgt.lock();
        let st = &mut *st;
        let mut q = ReqQ(self);
        let action = st.port.atio(&Cores(&st.engines), a, &mut q);
        match action {
            AtioAction::Handled => {}
            AtioAction::Tmf(x, f) => {
                let Some(engine) = Cores(&st.engines).engine(x.port.vp_index).cloned() else {
                    let _ = st.port.tmf_response(x.id, 0x05, &mut q);
                    return;
                };
                // Lock order tgt → engine: the engine's read side may wait for a writer.
                let code = engine.task_management_fc(x.s_id, x.lun, f).fcp_rsp_code();
                let _ = st.port.tmf_response(x.id, code, &mut q);
            }
            AtioAction::Execute(x) => {
                let Some(engine) = Cores(&st.engines).engine(x.port.vp_index).cloned() else {
                    let _ = st.port.terminate(x.id, &mut q);
                    return;
                };
                if x.data_length > MAX_TRANSFER {
                    let reply = Reply {
                        status: 0x02,
                        sense: &SENSE_INVALID_IU,
                        residual: Residual::Underrun(x.data_length as usize),
                    };
                    let _ = st.port.respond(x.id, &reply, core::iter::empty(), &mut q);
                    return;
                }
                match self.new_cmd(engine, x, a.cmnd.cdb) {
                    Ok(cmd) => {
                        let Some(slot) = st.slot(&x) else { return };
                        let cmd = slot.insert(cmd);
                        self.queue_cmd(cmd);
                    }
                    Err(_) => {
                        let reply = Reply {
                            status: 0x08,
                            sense: &[],
                            residual: Residual::Underrun(x.data_length as usize),
                        };
                        let _ = st.port.respond(x.id, &reply, core::iter::empty(), &mut q);
                    }
                }
            }
        }
    }

    fn new_cmd(&self, engine: Arc<Engine>, x: Exchange, cdb: Cdb) -> Result<KBox<FcCmd<B>>> {
        let (sgl, nents) = if x.data_length == 0 {
            (core::ptr::null_mut(), 0)
        } else {
            let mut nents = 0u32;
            // SAFETY: plain allocation; `nents` receives the entry count.
            let sgl = unsafe { fb::ferrule_h_fc_sgl_alloc(u64::from(x.data_length), &mut nents) };
            if sgl.is_null() {
                return Err(ENOMEM);
            }
            (sgl.cast::<kb::scatterlist>(), nents)
        };
        let cmd = FcCmd {
            // SAFETY: all-zero is a valid `work_struct` bit pattern to be initialised below.
            work: unsafe { core::mem::zeroed() },
            hba: self,
            engine,
            x,
            cdb,
            sgl,
            nents,
            len: x.data_length,
            mapped: 0,
            to_device: false,
            have_data: false,
        };
        let mut cmd = KBox::new(cmd, GFP_KERNEL)?;
        // SAFETY: initialises the (not yet queued) work item in place.
        unsafe {
            kb::init_work_with_key(
                &raw mut cmd.work,
                Some(run_fc_cmd::<B>),
                false,
                c"ferrule_fc_cmd".as_ptr().cast(),
                kernel::static_lock_class!().as_ptr(),
            )
        };
        Ok(cmd)
    }

    fn queue_cmd(&self, cmd: &mut FcCmd<B>) {
        // SAFETY: the workqueue lives as long as the HBA; the item is idle (a command is
        // queued once per step, and each step finishes before the next can be triggered).
        unsafe {
            kb::queue_work_on(
                kb::wq_misc_consts_WORK_CPU_UNBOUND as core::ffi::c_int,
                self.fc_wq.raw(),
                &raw mut cmd.work,
            )
        };
    }

    /// One step of a command on its worker: request the data-out, or run and reply.
    fn fc_step(&self, cmd: &mut FcCmd<B>) {
        let x = cmd.x;
        if x.direction == DataDirection::ToDevice && cmd.len > 0 && !cmd.have_data {
            if cmd.map(false).is_err() {
                self.reply_busy(cmd);
                return;
            }
            let segs = cmd.segments(cmd.len);
            self.retry_post(x.id, |st, q| st.port.data_out(x.id, segs.clone(), q));
            return;
        }
        // Aborted (ABTS) or its session gone since the ATIO: never run it. The terminate's
        // completion frees the command and releases a deferred BA_ACC.
        if !self.tgt.lock().port.is_live(x.id) {
            cmd.unmap();
            self.retry_post(x.id, |st, q| st.port.terminate(x.id, q));
            return;
        }
        cmd.unmap();
        // SAFETY: the pages are ours (unmapped: the CPU may touch them) for `len` bytes.
        let mut buf = unsafe { SgBuffer::new(cmd.sgl.cast(), cmd.nents, cmd.len as usize) };
        let c = Command {
            port: x.port,
            s_id: x.s_id,
            lun: x.lun,
            cdb: cmd.cdb.as_slice(),
            attr: x.task_attr,
            tag: u64::from(x.exchange_addr),
            session: Some(x.session),
        };
        let (result, d_sense) = cmd.engine.run(&c, &mut buf);
        drop(buf);
        let mut sense = [0u8; 64];
        let n = result.write_sense(d_sense, &mut sense);
        let data = if x.direction == DataDirection::FromDevice {
            u32::try_from(result.data_len).unwrap_or(0).min(cmd.len)
        } else {
            0
        };
        if data > 0 && cmd.map(true).is_err() {
            self.reply_busy(cmd);
            return;
        }
        let reply = Reply {
            status: result.status as u8,
            sense: sense.get(..n).unwrap_or(&[]),
            residual: result.residual,
        };
        let segs = cmd.segments(data);
        self.retry_post(x.id, |st, q| st.port.respond(x.id, &reply, segs.clone(), q));
    }

    fn reply_busy(&self, cmd: &FcCmd<B>) {
        let x = cmd.x;
        let reply = Reply {
            status: 0x08,
            sense: &[],
            residual: Residual::Underrun(x.data_length as usize),
        };
        self.retry_post(x.id, |st, q| {
            st.port.respond(x.id, &reply, core::iter::empty(), q)
        });
    }

    /// Posts a reply under `tgt`, retrying while the request ring is full. After a post the
    /// command belongs to its completion (which may free it at once): callers return. On
    /// giving up, exchange `id` is released (its command is freed when the slot is reused).
    fn retry_post(
        &self,
        id: ExchangeId,
        mut f: impl FnMut(&mut TgtState<B>, &mut ReqQ<'_, B>) -> Result<(), ExchangeError>,
    ) {
        for _ in 0..RING_RETRIES {
            let r = {
                let mut st = self.tgt.lock();
                let mut q = ReqQ(self);
                f(&mut st, &mut q)
            };
            match r {
                Err(ExchangeError::RingFull) => {
                    // SAFETY: process context (a workqueue worker).
                    unsafe { kb::msleep(1) };
                }
                // Stale: the exchange was terminated (dead session) or is gone.
                _ => return,
            }
        }
        pr_warn!("qla2x00t: request ring full for 1 s: a reply was dropped\n");
        self.tgt.lock().port.release(id, &mut ReqQ(self));
    }

    fn tgt_ctio_done(&self, c: &Ctio7Status) {
        // A finished command is taken out under the lock and freed after it: unmapping and
        // freeing its pages need not hold up every other ATIO and completion of the HBA.
        let _finished = {
            let mut st = self.tgt.lock();
            let st = &mut *st;
            let mut q = ReqQ(self);
            let finished = match st.port.ctio_done(c, &mut q) {
                CtioDone::DataOutReady(x) => {
                    if let Some(Some(cmd)) = st.slot(&x) {
                        cmd.have_data = true;
                        self.queue_cmd(cmd);
                    }
                    None
                }
                CtioDone::DataOutFailed(x) | CtioDone::Finished { x, .. } => {
                    st.slot(&x).and_then(Option::take)
                }
                CtioDone::Ignored => None,
            };
            if st.port.core_work_pending() {
                st.port.run_core_work(&mut Cores(&st.engines), &mut q);
            }
            finished
        };
    }

    fn tgt_abts(&self, a: &AbtsRecv24) {
        let mut st = self.tgt.lock();
        let st = &mut *st;
        let mut q = ReqQ(self);
        if let AbtsAction::Abort(x) = st.port.abts(a, &mut q) {
            if let Some(e) = Cores(&st.engines).engine(x.port.vp_index).cloned() {
                e.task_management_fc(
                    x.s_id,
                    x.lun,
                    TmfFunction::AbortTask {
                        tag: u64::from(x.exchange_addr),
                    },
                );
            }
            st.port.abts_respond(a, true, &mut q);
        }
    }

    /// Splits the copied ring bytes into entries (entry count in byte 1) and handles each.
    pub(crate) fn tgt_entries(&self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(&count) = rest.get(1) {
            let n = usize::from(count.max(1)).saturating_mul(IOCB_SIZE);
            let (e, tail) = rest.split_at(n.min(rest.len()));
            self.tgt_entry(e);
            rest = tail;
        }
    }

    /// Frees every command at teardown (interrupts off, workqueue drained).
    pub(crate) fn tgt_release_all(&self) {
        let mut st = self.tgt.lock();
        for c in st.cmds.iter_mut() {
            drop(c.take());
        }
    }
}

/// An owned workqueue for one HBA's commands.
pub(crate) struct FcWq(NonNull<kb::workqueue_struct>);

// SAFETY: workqueue functions may be called from any thread.
unsafe impl Send for FcWq {}
// SAFETY: as above.
unsafe impl Sync for FcWq {}

impl FcWq {
    /// Allocates `ferrule_fc<hba>`.
    pub(crate) fn new(hba: u32) -> Result<Self> {
        // SAFETY: plain allocation of a workqueue.
        let wq = unsafe { fb::ferrule_h_alloc_fc_wq(hba) };
        NonNull::new(wq.cast::<kb::workqueue_struct>())
            .map(FcWq)
            .ok_or(ENOMEM)
    }

    pub(crate) fn raw(&self) -> *mut kb::workqueue_struct {
        self.0.as_ptr()
    }

    /// Waits for every queued command step.
    pub(crate) fn flush(&self) {
        // SAFETY: live until drop.
        unsafe { kb::__flush_workqueue(self.raw()) }
    }
}

impl Drop for FcWq {
    fn drop(&mut self) {
        // SAFETY: live and destroyed once; destroy_workqueue drains it first.
        unsafe { kb::destroy_workqueue(self.raw()) }
    }
}

impl<B: IspBus> FcPort for Hba<B> {
    fn wwpn(&self) -> Wwpn {
        self.tgt.lock().wwpn
    }
    fn vp_index(&self) -> u8 {
        0
    }
    fn attach(&self, engine: Arc<Engine>) {
        self.tgt_attach(0, engine);
    }
    fn detach(&self) {
        self.tgt_detach(0);
    }
    fn create_vp(&self, wwpn: Wwpn, wwnn: Wwpn) -> Result<NonNull<dyn FcPort>, Fail> {
        self.tgt_create_vp(wwpn, wwnn)
    }
    fn delete_vp(&self, vp: NonNull<dyn FcPort>) {
        self.tgt_delete_vp(vp);
    }
}

/// An NPIV port of an HBA, as the FC port registry sees it.
pub(crate) struct VpPort<B: IspBus> {
    hba: *const Hba<B>,
    vp: u8,
    wwpn: Wwpn,
}

// SAFETY: the HBA is `Sync`; the pointer stays valid while the vp exists (the HBA deletes its
// vps before it goes).
unsafe impl<B: IspBus> Send for VpPort<B> {}
// SAFETY: as above.
unsafe impl<B: IspBus> Sync for VpPort<B> {}

impl<B: IspBus> VpPort<B> {
    fn hba(&self) -> &Hba<B> {
        // SAFETY: see the `Send` impl.
        unsafe { &*self.hba }
    }
}

impl<B: IspBus> FcPort for VpPort<B> {
    fn wwpn(&self) -> Wwpn {
        self.wwpn
    }
    fn vp_index(&self) -> u8 {
        self.vp
    }
    fn attach(&self, engine: Arc<Engine>) {
        self.hba().tgt_attach(self.vp, engine);
    }
    fn detach(&self) {
        self.hba().tgt_detach(self.vp);
    }
}

impl<B: IspBus> Hba<B> {
    /// Runs one VP CONFIG / VP CONTROL entry through the mailbox (EXECUTE IOCB A64) and
    /// returns the entry as the firmware completed it.
    fn vp_iocb(&self, entry: &Entry) -> Result<Entry> {
        let dev = self.bus.dma_device();
        let buf = kernel::dma::Coherent::<u8>::from_slice(dev, entry, GFP_KERNEL)?;
        kernel::sync::barrier::dma_mb(kernel::sync::barrier::Write);
        self.mailbox(
            &qla2x00t_proto::mailbox::MailboxCmd::iocb_command_a64(buf.dma_address()),
            crate::qla2x00t::hba::MBX_TIMEOUT_MS,
        )?;
        kernel::sync::barrier::dma_mb(kernel::sync::barrier::Read);
        let mut out = [0u8; IOCB_SIZE];
        // SAFETY: the mailbox command completed, so the firmware is done with the buffer and
        // nothing else references it.
        let done = unsafe { buf.as_mut() };
        if let Some(src) = done.get(..IOCB_SIZE) {
            out.copy_from_slice(src);
        }
        Ok(out)
    }

    /// NPIV: enables a virtual port with these names (VP CONFIG, modify + enable). Its
    /// N_Port ID arrives in a Report ID Acquisition entry; it routes from then on.
    fn tgt_create_vp(&self, wwpn: Wwpn, wwnn: Wwpn) -> Result<NonNull<dyn FcPort>, Fail> {
        let vp = {
            let st = self.tgt.lock();
            (1..MAX_VPS)
                .find(|&i| !st.vps.iter().any(|v| usize::from(v.vp) == i))
                .and_then(|i| u8::try_from(i).ok())
                .ok_or((ENOSPC, "no free virtual port on this HBA"))?
        };
        let cfg = VpConfig24 {
            handle: SKIP_HANDLE,
            command: VCT_COMMAND_MOD_ENABLE_VPS,
            vp_count: 1,
            vp_index1: vp,
            options_idx1: VP_OPT_ENABLE,
            port_name_idx1: wwpn,
            node_name_idx1: wwnn,
            ..Default::default()
        };
        let done = self
            .vp_iocb(&cfg.encode())
            .map_err(|e| (e, "VP CONFIG mailbox failed"))?;
        let st_code = VpConfig24::decode(&done).map(|d| (d.entry_status, d.comp_status));
        if st_code != Ok((0, 0)) {
            dev_err!(
                self.bus.dma_device(),
                "qla2x00t: VP CONFIG for vp {} refused by the firmware: {:?}\n",
                vp,
                st_code
            );
            return Err((EIO, "the firmware refused the virtual port"));
        }
        let port = KBox::new(
            VpPort {
                hba: self,
                vp,
                wwpn,
            },
            GFP_KERNEL,
        )
        .map_err(|_| (ENOMEM, "out of memory"))?;
        // SAFETY: the vp is owned by this HBA, which unregisters and deletes it before it
        // (or the bus it borrows) goes away.
        let ptr = unsafe { crate::qla2x00t::fcport::port_ptr(&*port) };
        self.tgt
            .lock()
            .vps
            .push(port, GFP_KERNEL)
            .map_err(|_| (ENOMEM, "out of memory"))?;
        dev_info!(
            self.bus.dma_device(),
            "qla2x00t: virtual port {} created as vp {}\n",
            crate::local_rt::Wt(wwpn),
            vp
        );
        Ok(ptr)
    }

    /// NPIV: disables a virtual port (its logins end) and frees it. The registry has
    /// unregistered it already.
    fn tgt_delete_vp(&self, port: NonNull<dyn FcPort>) {
        let gone = {
            let mut st = self.tgt.lock();
            let i = st
                .vps
                .iter()
                .position(|v| core::ptr::addr_eq(&raw const **v, port.as_ptr()));
            i.and_then(|i| st.vps.remove(i).ok())
        };
        let Some(v) = gone else { return };
        self.tgt.lock().port.set_vp(v.vp, None);
        let ctrl = VpCtrl24::single(SKIP_HANDLE, vce_command::DISABLE_VPS_LOGO_ALL, v.vp);
        if let Some(c) = ctrl {
            if self.vp_iocb(&c.encode()).is_err() {
                dev_warn!(
                    self.bus.dma_device(),
                    "qla2x00t: VP CONTROL (disable vp {}) failed\n",
                    v.vp
                );
            }
        }
        dev_info!(
            self.bus.dma_device(),
            "qla2x00t: virtual port {} (vp {}) deleted\n",
            crate::local_rt::Wt(v.wwpn),
            v.vp
        );
    }

    /// The NPIV ports of this HBA (to unregister them before the HBA goes).
    pub(crate) fn tgt_vp_ports(&self) -> KVec<NonNull<dyn FcPort>> {
        let st = self.tgt.lock();
        let mut out = KVec::new();
        for v in st.vps.iter() {
            // SAFETY: as in `tgt_create_vp`: pointers to vps this HBA owns.
            let p = unsafe { crate::qla2x00t::fcport::port_ptr(&**v) };
            if out.push(p, GFP_KERNEL).is_err() {
                break;
            }
        }
        out
    }
}

impl<B: IspBus> Hba<B> {
    /// A Report ID Acquisition entry: a virtual port got (or lost) its N_Port ID.
    fn tgt_rida(&self, r: &Rida24) {
        let ok = r.vp_status == 0 && r.vp_idx != 0;
        self.tgt
            .lock()
            .port
            .set_vp(r.vp_idx, ok.then_some(r.port_id));
        dev_info!(
            self.bus.dma_device(),
            "qla2x00t: vp {} port id {:06x} (status {})\n",
            r.vp_idx,
            r.port_id.get(),
            r.vp_status
        );
    }
}
