//! A deterministic model of ISP24xx target-mode firmware.
//!
//! The model sits behind the register file: the driver (or a host test standing in for
//! it) writes registers, the model reads and writes the rings and DMA buffers through
//! [`HostMemory`] at the bus addresses the init control block named, and raises interrupts
//! through host_status. The fabric side (initiators) drives it through `plogi`, `prli`,
//! `fcp_cmnd`, `abts`, `logo`, ... and sees what the target sends through [`Wire`].
//!
//! Fixed capacities (const generics), no allocation, no panics: it is also the firmware of
//! the simulator module. Not modelled: the MQ register page, loop topologies, FC-tape/SRR,
//! T10-PI, interrupt coalescing.

use crate::iocb::{
    ctio_flags, ctio_status, AbtsRecv24, AbtsResp24, AbtsRespStatus, Atio7, BaPayload, Cdb,
    ContA64, Ctio7, Ctio7Body, Ctio7Status, Dsd64, Entry, FcHeader, FcpCmnd, HostEntry,
    ImmNotify24, NotifyAck24, Rida24, RidaFormat, VpConfig24, VpCtrl24, ABTS_CONTR_FLG_TERM_EXCHG,
    ABTS_RESP_SUBCODE_NOT_TERMINATED, ATIO_MAX_ENTRIES, IOCB_SIZE, NOTIFY_ACK_SUCCESS,
    VCT_COMMAND_MOD_ENABLE_VPS,
};
use crate::mailbox::{
    dma_from_mailboxes, mbc, mbs, topology, FwState, GidEntry, InitCb24, PortDb24, ICB_SIZE,
    PDS_PLOGI_COMPLETE, PDS_PRLI_COMPLETE,
};
use crate::notify::{els, mba, status};
use crate::regs::{
    mailbox_index, HccrCmd, HostStatus, IntrType, Reg, HCCR_RISC_RESET, ICTRL_EN_RISC_INT,
    MAILBOX_COUNT,
};
use crate::ring::{IndexConsumer, Producer, Ring};
use scst_core::types::{DataDirection, Handle, Lun, PortId, Wwpn};

/// Bus-address access to host memory (coherent rings, ICB, data buffers).
pub trait HostMemory {
    /// Reads `out.len()` bytes at `addr`; false if the range is not mapped.
    fn read(&self, addr: u64, out: &mut [u8]) -> bool;
    /// Writes `data` at `addr`; false if the range is not mapped.
    fn write(&mut self, addr: u64, data: &[u8]) -> bool;
}

/// One exchange as the fabric side sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ExchangeInfo {
    /// Firmware exchange address.
    pub exchange_addr: u32,
    /// Initiator N_Port ID.
    pub s_id: PortId,
    /// Local N_Port ID.
    pub d_id: PortId,
    /// Initiator's OX_ID.
    pub ox_id: u16,
    /// Local virtual port.
    pub vp_index: u8,
    /// LUN.
    pub lun: Lun,
    /// FCP_DL.
    pub data_length: u32,
}

/// The FCP_RSP the target sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FcpRsp {
    /// SCSI status byte plus `iocb::ss` bits.
    pub scsi_status: u16,
    /// Residual.
    pub residual: u32,
    /// Sense length (mode 1).
    pub sense_length: u16,
    /// Response info length (mode 1).
    pub response_len: u16,
    /// Sense / response info (natural order).
    pub sense: [u8; 24],
}

/// What the target puts on the wire, as seen by the fabric / initiator side.
pub trait Wire {
    /// Data-in frames (READ data) at `rel_off`.
    fn data_in(&mut self, x: &ExchangeInfo, rel_off: u32, data: &[u8]);
    /// Data-out frames (WRITE data): fill `buf` with the initiator's data at `rel_off`.
    fn data_out(&mut self, x: &ExchangeInfo, rel_off: u32, buf: &mut [u8]);
    /// FCP_RSP for an exchange.
    fn fcp_rsp(&mut self, x: &ExchangeInfo, rsp: &FcpRsp);
    /// LS_ACC (`accepted`) or LS_RJT for an ELS from `s_id`.
    fn els_reply(&mut self, vp_index: u8, s_id: PortId, opcode: u8, accepted: bool);
    /// BA_ACC (`accepted`) or BA_RJT for an ABTS.
    fn abts_reply(&mut self, s_id: PortId, ox_id: u16, accepted: bool);
}

/// Errors of fabric-side operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ModelError {
    /// The firmware is not initialised or the link is down.
    NotReady,
    /// The ATIO / response ring has no room: retry later.
    RingFull,
    /// A fixed-capacity table is full.
    NoResources,
    /// No login for that port, or the login is not in the needed state.
    NotLoggedIn,
    /// No such exchange.
    NoExchange,
    /// The VP index is unknown or disabled.
    BadVp,
    /// The CDB length is not encodable.
    BadCdb,
    /// Host memory access failed.
    Dma,
}

/// Static configuration of the modelled HBA.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FwConfig {
    /// N_Port ID the fabric assigns to VP 0; VP n gets `base_port_id + n`.
    pub base_port_id: PortId,
    /// Firmware version reported by GET FIRMWARE VERSION.
    pub fw_version: [u16; 3],
    /// Highest N_Port handle handed to remote ports.
    pub max_handle: u16,
    /// Doorbell writes (request in-pointer, response out-pointer) only mark work; the
    /// owner runs it later with [`FwModel::run_deferred`] (e.g. from a work item, so the
    /// fabric callbacks do not run under the driver's register-write locks).
    pub defer_doorbells: bool,
}

/// Counters for what the model refused or dropped.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FwStats {
    /// Request entries that did not decode (returned with entry_status).
    pub bad_request_entries: u32,
    /// Continuation entries without a CTIO7.
    pub stray_continuations: u32,
    /// CTIOs for unknown exchanges.
    pub ctio_unknown_exchange: u32,
    /// Notify acks for unknown notifies.
    pub nack_unknown: u32,
    /// DMA failures.
    pub dma_errors: u32,
    /// Mailbox commands completed with an error.
    pub mailbox_errors: u32,
}

/// Entry-status bits the firmware sets on a rejected request entry.
pub mod entry_status {
    /// Busy.
    pub const BUSY: u8 = 1 << 1;
    /// Invalid entry type.
    pub const INVALID_TYPE: u8 = 1 << 2;
    /// Invalid entry parameter.
    pub const INVALID_PARAM: u8 = 1 << 3;
    /// Invalid entry count.
    pub const INVALID_COUNT: u8 = 1 << 4;
    /// Invalid entry order.
    pub const INVALID_ORDER: u8 = 1 << 5;
}

/// Life stage of the RISC.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RiscState {
    /// Held in reset.
    Reset,
    /// Running the ROM: firmware may be loaded.
    Rom,
    /// Firmware running, waiting for INITIALIZE FIRMWARE.
    FwRunning,
    /// Initialised: rings set up.
    Initialized,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LoginState {
    Free,
    PlogiPending,
    PlogiDone,
    PrliPending,
    Active,
    LogoPending,
}

#[derive(Clone, Copy, Debug)]
struct PortSlot {
    state: LoginState,
    wwpn: Wwpn,
    wwnn: Wwpn,
    port_id: PortId,
    handle: Handle,
    vp_index: u8,
    /// Login generation: exchanges of an earlier login of this slot are stale.
    generation: u32,
    /// Exchange address of the outstanding notify for this port.
    notify_exch: u32,
    notify_op: u8,
}

const FREE_PORT: PortSlot = PortSlot {
    state: LoginState::Free,
    wwpn: Wwpn(0),
    wwnn: Wwpn(0),
    port_id: PortId::new(0),
    handle: Handle(0),
    vp_index: 0,
    generation: 0,
    notify_exch: 0,
    notify_op: 0,
};

#[derive(Clone, Copy, Debug)]
struct ExchSlot {
    used: bool,
    info: ExchangeInfo,
    handle: Handle,
    generation: u32,
}

const FREE_EXCH: ExchSlot = ExchSlot {
    used: false,
    info: ExchangeInfo {
        exchange_addr: 0,
        s_id: PortId::new(0),
        d_id: PortId::new(0),
        ox_id: 0,
        vp_index: 0,
        lun: Lun(0),
        data_length: 0,
    },
    handle: Handle(0),
    generation: 0,
};

#[derive(Clone, Copy, Debug)]
struct VpSlot {
    configured: bool,
    enabled: bool,
    wwpn: Wwpn,
    wwnn: Wwpn,
}

const FREE_VP: VpSlot = VpSlot {
    configured: false,
    enabled: false,
    wwpn: Wwpn(0),
    wwnn: Wwpn(0),
};

#[derive(Clone, Copy, Debug)]
struct Rings {
    req: IndexConsumer,
    req_in: u16,
    req_base: u64,
    req_ring: Ring,
    rsp: Producer,
    rsp_base: u64,
    atio: Producer,
    atio_base: u64,
}

const ASYNC_QUEUE: usize = 8;

/// The firmware model. `P` remote-port logins, `X` open exchanges, `V` virtual ports
/// (index 0 = physical port; indexes above 255 are never used). Construct with [`FwModel::new`] (const, so the kernel can
/// place it in boxed storage).
pub struct FwModel<const P: usize, const X: usize, const V: usize> {
    cfg: FwConfig,
    risc: RiscState,
    mb: [u16; MAILBOX_COUNT],
    host_status: u32,
    ictrl: u32,
    pending_mbx: Option<IntrType>,
    /// While a mailbox command runs, other interrupts wait so its completion comes first.
    in_mailbox: bool,
    doorbell: bool,
    pending_rsp: bool,
    pending_atio: bool,
    async_q: [[u16; 4]; ASYNC_QUEUE],
    async_len: usize,
    loaded_dwords: u32,
    checksum: u32,
    fw_options: [u16; 3],
    icb: InitCb24,
    rings: Option<Rings>,
    link_up: bool,
    ports: [PortSlot; P],
    exch: [ExchSlot; X],
    vps: [VpSlot; V],
    next_exchange: u32,
    next_generation: u32,
    stats: FwStats,
    /// Flash / NVRAM behind FLASH_ADDR and FLASH_DATA (see the flash block at the end).
    flash: Flash,
}

/// fw_options word 2 (mailbox 2 of SET FIRMWARE OPTION) bit: ABTS/RIDA go to the ATIO queue.
pub const FWO2_MOVE_ASYNC_TO_ATIO: u16 = 1 << 11;
/// Exchange address the model starts counting from.
const FIRST_EXCHANGE: u32 = 0x0000_1000;

impl<const P: usize, const X: usize, const V: usize> FwModel<P, X, V> {
    /// A powered-on HBA with the RISC in reset.
    pub const fn new(cfg: FwConfig) -> Self {
        FwModel {
            cfg,
            risc: RiscState::Reset,
            mb: [0; MAILBOX_COUNT],
            host_status: 0,
            ictrl: 0,
            pending_mbx: None,
            in_mailbox: false,
            doorbell: false,
            pending_rsp: false,
            pending_atio: false,
            async_q: [[0; 4]; ASYNC_QUEUE],
            async_len: 0,
            loaded_dwords: 0,
            checksum: 0,
            fw_options: [0; 3],
            icb: InitCb24 {
                version: 0,
                frame_payload_size: 0,
                execution_throttle: 0,
                exchange_count: 0,
                hard_address: 0,
                port_name: Wwpn(0),
                node_name: Wwpn(0),
                response_q_length: 0,
                request_q_length: 0,
                request_q_address: 0,
                response_q_address: 0,
                msix: 0,
                msix_atio: 0,
                atio_q_length: 0,
                atio_q_address: 0,
                login_timeout: 0,
                firmware_options_1: 0,
                firmware_options_2: 0,
                firmware_options_3: 0,
            },
            rings: None,
            link_up: false,
            ports: [FREE_PORT; P],
            exch: [FREE_EXCH; X],
            vps: [FREE_VP; V],
            next_exchange: FIRST_EXCHANGE,
            next_generation: 1,
            stats: FwStats {
                bad_request_entries: 0,
                stray_continuations: 0,
                ctio_unknown_exchange: 0,
                nack_unknown: 0,
                dma_errors: 0,
                mailbox_errors: 0,
            },
            flash: Flash::new(),
        }
    }

    /// The RISC's life stage.
    pub const fn risc_state(&self) -> RiscState {
        self.risc
    }
    /// Drop/refusal counters.
    pub const fn stats(&self) -> &FwStats {
        &self.stats
    }
    /// Whether the interrupt line is asserted (pending interrupt and interrupts enabled).
    pub const fn irq_asserted(&self) -> bool {
        self.host_status & crate::regs::HSR_RISC_INT != 0 && self.ictrl & ICTRL_EN_RISC_INT != 0
    }
    /// Number of open exchanges.
    pub fn open_exchanges(&self) -> usize {
        self.exch.iter().filter(|x| x.used).count()
    }
    /// The N_Port ID of virtual port `vp`.
    pub fn vp_port_id(&self, vp: u8) -> PortId {
        PortId::new(self.cfg.base_port_id.get().wrapping_add(u32::from(vp)))
    }

    // ---- registers ------------------------------------------------------------------

    /// A 32-bit register read.
    pub fn read_reg(&self, offset: u32) -> u32 {
        let r = self.rings.as_ref();
        match Reg::from_offset(offset) {
            Some(Reg::HostStatus) => self.host_status,
            Some(Reg::Hccr) if self.risc == RiscState::Reset => HCCR_RISC_RESET,
            Some(Reg::Ictrl) => self.ictrl,
            Some(Reg::Istatus) if self.host_status & crate::regs::HSR_RISC_INT != 0 => {
                crate::regs::ISTATUS_RISC_INT
            }
            Some(Reg::ReqQIn) => r.map_or(0, |r| u32::from(r.req_in)),
            Some(Reg::ReqQOut) => r.map_or(0, |r| u32::from(r.req.out())),
            Some(Reg::RspQIn) => r.map_or(0, |r| u32::from(r.rsp.in_idx())),
            Some(Reg::AtioQIn) => r.map_or(0, |r| u32::from(r.atio.in_idx())),
            Some(Reg::FlashAddr) => self.flash.addr,
            Some(Reg::FlashData) => self.flash.data,
            _ => 0,
        }
    }

    /// A 16-bit mailbox read.
    pub fn read_mailbox(&self, offset: u32) -> u16 {
        mailbox_index(offset)
            .and_then(|n| self.mb.get(n).copied())
            .unwrap_or(0)
    }

    /// A 16-bit mailbox write (the command is run on HCCR SET_HOST_INT).
    pub fn write_mailbox(&mut self, offset: u32, value: u16) {
        if let Some(slot) = mailbox_index(offset).and_then(|n| self.mb.get_mut(n)) {
            *slot = value;
        }
    }

    /// A 32-bit register write; ring doorbells and mailbox commands run synchronously.
    pub fn write_reg<M: HostMemory, W: Wire>(
        &mut self,
        mem: &mut M,
        wire: &mut W,
        offset: u32,
        value: u32,
    ) {
        match Reg::from_offset(offset) {
            Some(Reg::Hccr) => self.hccr(mem, value),
            Some(Reg::Ictrl) => self.ictrl = value,
            Some(Reg::FlashAddr) => self.flash.write_addr(value),
            Some(Reg::CtrlStatus) if value & crate::regs::ctrl_status::ISP_SOFT_RESET != 0 => {
                self.soft_reset();
            }
            Some(Reg::ReqQIn) => {
                if let Some(r) = self.rings.as_mut() {
                    if let Ok(v) = u16::try_from(value) {
                        if r.req_ring.contains(v) {
                            r.req_in = v;
                        }
                    }
                }
                self.doorbell(mem, wire);
            }
            Some(Reg::RspQOut) => {
                if let Some(r) = self.rings.as_mut() {
                    r.rsp.set_consumer(u16::try_from(value).unwrap_or(u16::MAX));
                }
                // Completions may have been held back for lack of space.
                self.doorbell(mem, wire);
            }
            Some(Reg::AtioQOut) => {
                if let Some(r) = self.rings.as_mut() {
                    r.atio
                        .set_consumer(u16::try_from(value).unwrap_or(u16::MAX));
                }
            }
            _ => {}
        }
    }

    fn doorbell<M: HostMemory, W: Wire>(&mut self, mem: &mut M, wire: &mut W) {
        if self.cfg.defer_doorbells {
            self.doorbell = true;
        } else {
            self.process_requests(mem, wire);
        }
    }

    /// Whether a deferred doorbell is waiting for [`FwModel::run_deferred`].
    pub const fn has_deferred_work(&self) -> bool {
        self.doorbell
    }

    /// Runs the request processing deferred doorbells asked for.
    pub fn run_deferred<M: HostMemory, W: Wire>(&mut self, mem: &mut M, wire: &mut W) {
        if self.doorbell {
            self.doorbell = false;
            self.process_requests(mem, wire);
        }
    }

    fn soft_reset(&mut self) {
        self.reset_in_place();
        self.ictrl = 0;
    }

    /// Power-on state, field by field: `*self = Self::new(cfg)` would build a whole model
    /// (kilobytes with the kernel's capacities) on the stack of a register write, which can
    /// run in hard-IRQ context. The destructuring makes a new field a compile error here.
    /// Interrupt enable (`ictrl`) is left to the caller (a RISC reset keeps it).
    #[inline(never)]
    fn reset_in_place(&mut self) {
        let FwModel {
            cfg: _,
            risc,
            mb,
            host_status,
            ictrl: _,
            pending_mbx,
            in_mailbox,
            doorbell,
            pending_rsp,
            pending_atio,
            async_q,
            async_len,
            loaded_dwords,
            checksum,
            fw_options,
            icb,
            rings,
            link_up,
            ports,
            exch,
            vps,
            next_exchange,
            next_generation,
            stats,
            // Flash is non-volatile: resets keep it.
            flash: _,
        } = self;
        *risc = RiscState::Reset;
        *mb = [0; MAILBOX_COUNT];
        *host_status = 0;
        *pending_mbx = None;
        *in_mailbox = false;
        *doorbell = false;
        *pending_rsp = false;
        *pending_atio = false;
        *async_q = [[0; 4]; ASYNC_QUEUE];
        *async_len = 0;
        *loaded_dwords = 0;
        *checksum = 0;
        *fw_options = [0; 3];
        *icb = InitCb24::default();
        *rings = None;
        *link_up = false;
        ports.fill(FREE_PORT);
        exch.fill(FREE_EXCH);
        vps.fill(FREE_VP);
        *next_exchange = FIRST_EXCHANGE;
        *next_generation = 1;
        *stats = FwStats::default();
    }

    fn hccr<M: HostMemory>(&mut self, mem: &mut M, value: u32) {
        match HccrCmd::from_u32(value) {
            Some(HccrCmd::SetRiscReset) => self.reset_in_place(),
            Some(HccrCmd::ClrRiscReset) if self.risc == RiscState::Reset => {
                self.risc = RiscState::Rom;
            }
            Some(HccrCmd::SetHostInt) => {
                self.run_mailbox(mem);
            }
            Some(HccrCmd::ClrRiscInt) => {
                self.host_status = 0;
                self.present();
            }
            _ => {}
        }
    }

    // ---- interrupts -----------------------------------------------------------------

    fn present(&mut self) {
        if self.host_status & crate::regs::HSR_RISC_INT != 0 || self.in_mailbox {
            return;
        }
        if let Some(t) = self.pending_mbx.take() {
            self.host_status = HostStatus::raised(t, self.mb[0]).0;
        } else if self.async_len > 0 {
            let ev = self.async_q[0];
            self.async_q.copy_within(1.., 0);
            self.async_len -= 1;
            self.mb[..4].copy_from_slice(&ev);
            self.host_status = HostStatus::raised(IntrType::AsyncEvent, ev[0]).0;
        } else if self.pending_atio || self.pending_rsp {
            let t = match (self.pending_atio, self.pending_rsp) {
                (true, true) => IntrType::AtioRspQueueUpdate,
                (true, false) => IntrType::AtioQueueUpdate,
                _ => IntrType::RspQueueUpdate,
            };
            self.pending_atio = false;
            self.pending_rsp = false;
            self.host_status = HostStatus::raised(t, 0).0;
        }
    }

    fn post_async(&mut self, ev: [u16; 4]) {
        if let Some(slot) = self.async_q.get_mut(self.async_len) {
            *slot = ev;
            self.async_len += 1;
        }
        self.present();
    }

    // ---- mailbox --------------------------------------------------------------------

    fn finish_mbx(&mut self, status: u16) {
        self.in_mailbox = false;
        self.mb[0] = status;
        let t = if status == mbs::COMMAND_COMPLETE {
            IntrType::MbxSuccess
        } else {
            self.stats.mailbox_errors = self.stats.mailbox_errors.saturating_add(1);
            IntrType::MbxFailed
        };
        self.pending_mbx = Some(t);
        self.present();
    }

    fn run_mailbox<M: HostMemory>(&mut self, mem: &mut M) {
        let op = self.mb[0];
        self.in_mailbox = true;
        let status = match (self.risc, op) {
            (RiscState::Reset, _) => mbs::COMMAND_ERROR,
            (RiscState::Rom, mbc::LOAD_RISC_RAM_EXTENDED) => self.mbx_load_ram(mem),
            (RiscState::Rom, mbc::VERIFY_CHECKSUM) => {
                self.mb[1] = (self.checksum >> 16) as u16;
                self.mb[2] = self.checksum as u16;
                if self.loaded_dwords > 0 {
                    mbs::COMMAND_COMPLETE
                } else {
                    mbs::CHECKSUM_ERROR
                }
            }
            (RiscState::Rom, mbc::EXECUTE_FIRMWARE) => {
                if self.loaded_dwords > 0 {
                    self.risc = RiscState::FwRunning;
                    mbs::COMMAND_COMPLETE
                } else {
                    mbs::COMMAND_ERROR
                }
            }
            (RiscState::Rom, _) => mbs::INVALID_COMMAND,
            (_, mbc::GET_FIRMWARE_VERSION) => {
                self.mb[1..4].copy_from_slice(&self.cfg.fw_version);
                mbs::COMMAND_COMPLETE
            }
            (_, mbc::SET_FIRMWARE_OPTION) => {
                self.fw_options = [self.mb[1], self.mb[2], self.mb[3]];
                mbs::COMMAND_COMPLETE
            }
            (_, mbc::GET_FIRMWARE_OPTION) => {
                self.mb[1..4].copy_from_slice(&self.fw_options);
                mbs::COMMAND_COMPLETE
            }
            (_, mbc::GET_FIRMWARE_STATE) => {
                let st = match (self.risc, self.link_up) {
                    (RiscState::Initialized, true) => FwState::Ready,
                    (RiscState::Initialized, false) => FwState::LossOfSync,
                    _ => FwState::ConfigWait,
                };
                self.mb[1] = st as u16;
                mbs::COMMAND_COMPLETE
            }
            (_, mbc::INITIALIZE_FIRMWARE | mbc::MID_INITIALIZE_FIRMWARE) => self.mbx_init(mem),
            (RiscState::Initialized, mbc::GET_ADAPTER_LOOP_ID) => self.mbx_get_id(),
            (RiscState::Initialized, mbc::GET_PORT_DATABASE) => self.mbx_port_db(mem),
            (RiscState::Initialized, mbc::GET_ID_LIST) => self.mbx_id_list(mem),
            (RiscState::Initialized, mbc::IOCB_COMMAND_A64) => self.mbx_iocb(mem),
            (RiscState::FwRunning, _) => mbs::COMMAND_ERROR,
            _ => mbs::INVALID_COMMAND,
        };
        self.finish_mbx(status);
    }

    fn mbx_load_ram<M: HostMemory>(&mut self, mem: &M) -> u16 {
        let dma = dma_from_mailboxes(&self.mb);
        let dwords = (u32::from(self.mb[4]) << 16) | u32::from(self.mb[5]);
        let mut buf = [0u8; 256];
        let mut done = 0u32;
        while done < dwords {
            let n = (dwords - done).min(64);
            let bytes = (n * 4) as usize;
            let Some(chunk) = buf.get_mut(..bytes) else {
                return mbs::COMMAND_ERROR;
            };
            let addr = dma.wrapping_add(u64::from(done) * 4);
            if !mem.read(addr, chunk) {
                self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
                return mbs::COMMAND_ERROR;
            }
            for w in chunk.chunks_exact(4) {
                let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                self.checksum = self.checksum.wrapping_add(v);
            }
            done += n;
        }
        self.loaded_dwords = self.loaded_dwords.saturating_add(dwords);
        mbs::COMMAND_COMPLETE
    }

    fn mbx_init<M: HostMemory>(&mut self, mem: &M) -> u16 {
        let mut b = [0u8; ICB_SIZE];
        if !mem.read(dma_from_mailboxes(&self.mb), &mut b) {
            self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
            return mbs::COMMAND_ERROR;
        }
        let icb = InitCb24::decode(&b);
        let (Some(req), Some(rsp)) = (
            Ring::new(icb.request_q_length),
            Ring::new(icb.response_q_length),
        ) else {
            return mbs::COMMAND_PARAMETER_ERROR;
        };
        // Without target mode the ATIO queue is unused; a one-slot dummy keeps types simple.
        let atio = if icb.target_mode() {
            Ring::new(icb.atio_q_length)
        } else {
            Ring::new(2)
        };
        let Some(atio) = atio else {
            return mbs::COMMAND_PARAMETER_ERROR;
        };
        self.icb = icb;
        self.rings = Some(Rings {
            req: IndexConsumer::new(req),
            req_in: 0,
            req_base: icb.request_q_address,
            req_ring: req,
            rsp: Producer::new(rsp),
            rsp_base: icb.response_q_address,
            atio: Producer::new(atio),
            atio_base: icb.atio_q_address,
        });
        if let Some(vp0) = self.vps.get_mut(0) {
            *vp0 = VpSlot {
                configured: true,
                enabled: true,
                wwpn: icb.port_name,
                wwnn: icb.node_name,
            };
        }
        self.risc = RiscState::Initialized;
        if self.link_up {
            self.post_async([mba::LOOP_UP, 0, 0, 0]);
        }
        mbs::COMMAND_COMPLETE
    }

    fn mbx_get_id(&mut self) -> u16 {
        let vp = self.mb[9];
        let ok = u8::try_from(vp)
            .ok()
            .and_then(|v| self.vps.get(usize::from(v)))
            .is_some_and(|s| s.enabled);
        if !ok || !self.link_up {
            return mbs::COMMAND_ERROR;
        }
        let id = self.vp_port_id(vp as u8).get();
        self.mb[1] = vp;
        self.mb[2] = (id & 0xffff) as u16;
        self.mb[3] = (id >> 16) as u16;
        self.mb[6] = topology::F_PORT;
        self.mb[7] = 0;
        mbs::COMMAND_COMPLETE
    }

    fn mbx_port_db<M: HostMemory>(&mut self, mem: &mut M) -> u16 {
        let (handle, vp) = (Handle(self.mb[1]), self.mb[9]);
        let Some(p) = self.ports.iter().find(|p| {
            p.state != LoginState::Free && p.handle == handle && u16::from(p.vp_index) == vp
        }) else {
            return mbs::COMMAND_ERROR;
        };
        let login = match p.state {
            LoginState::Active | LoginState::PrliPending => PDS_PRLI_COMPLETE,
            _ => PDS_PLOGI_COMPLETE,
        };
        let db = PortDb24 {
            current_login_state: login,
            last_login_state: login,
            port_id: p.port_id,
            nport_handle: p.handle,
            port_name: p.wwpn,
            node_name: p.wwnn,
            ..Default::default()
        };
        if mem.write(dma_from_mailboxes(&self.mb), &db.encode()) {
            mbs::COMMAND_COMPLETE
        } else {
            self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
            mbs::COMMAND_ERROR
        }
    }

    fn mbx_id_list<M: HostMemory>(&mut self, mem: &mut M) -> u16 {
        let dma = dma_from_mailboxes(&self.mb);
        let (size, vp) = (usize::from(self.mb[8]), self.mb[9]);
        let mut count = 0u16;
        for p in self
            .ports
            .iter()
            .filter(|p| p.state != LoginState::Free && u16::from(p.vp_index) == vp)
        {
            let off = usize::from(count) * crate::mailbox::GID_LIST_ENTRY_SIZE;
            if off + crate::mailbox::GID_LIST_ENTRY_SIZE > size {
                break;
            }
            let e = GidEntry {
                port_id: p.port_id,
                handle: p.handle,
            }
            .encode();
            if !mem.write(dma.wrapping_add(off as u64), &e) {
                self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
                return mbs::COMMAND_ERROR;
            }
            count = count.saturating_add(1);
        }
        self.mb[1] = count;
        mbs::COMMAND_COMPLETE
    }

    fn mbx_iocb<M: HostMemory>(&mut self, mem: &mut M) -> u16 {
        let dma = dma_from_mailboxes(&self.mb);
        let mut e = [0u8; IOCB_SIZE];
        if !mem.read(dma, &mut e) {
            self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
            return mbs::COMMAND_ERROR;
        }
        let done = match HostEntry::decode(&e) {
            Ok(HostEntry::VpConfig(c)) => self.vp_config(mem, c).encode(),
            Ok(HostEntry::VpCtrl(c)) => self.vp_ctrl(mem, c).encode(),
            _ => return mbs::COMMAND_PARAMETER_ERROR,
        };
        if mem.write(dma, &done) {
            mbs::COMMAND_COMPLETE
        } else {
            mbs::COMMAND_ERROR
        }
    }

    // ---- rings ----------------------------------------------------------------------

    fn push<M: HostMemory>(
        &mut self,
        mem: &mut M,
        to_atio: bool,
        bytes: &[u8],
    ) -> Result<(), ModelError> {
        let r = self.rings.as_mut().ok_or(ModelError::NotReady)?;
        let (prod, base) = if to_atio {
            (&mut r.atio, r.atio_base)
        } else {
            (&mut r.rsp, r.rsp_base)
        };
        let n = bytes.len() / IOCB_SIZE;
        if n == 0 || n > usize::from(prod.free()) {
            return Err(ModelError::RingFull);
        }
        let ring = prod.ring();
        let mut idx = prod.in_idx();
        for chunk in bytes.chunks_exact(IOCB_SIZE) {
            let addr = base.wrapping_add(u64::from(idx) * IOCB_SIZE as u64);
            if !mem.write(addr, chunk) {
                self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
                return Err(ModelError::Dma);
            }
            idx = ring.advance(idx, 1);
        }
        // Entries went through HostMemory; only the producer index moves here.
        prod.advance_in(n as u16)
            .map_err(|_| ModelError::RingFull)?;
        if to_atio {
            self.pending_atio = true;
        } else {
            self.pending_rsp = true;
        }
        self.present();
        Ok(())
    }

    fn rsp_has_room(&self, n: u16) -> bool {
        self.rings.as_ref().is_some_and(|r| r.rsp.free() >= n)
    }

    fn read_req_entry<M: HostMemory>(&mut self, mem: &M, idx: u16) -> Option<Entry> {
        let r = self.rings.as_ref()?;
        let mut e = [0u8; IOCB_SIZE];
        let addr = r.req_base.wrapping_add(u64::from(idx) * IOCB_SIZE as u64);
        if mem.read(addr, &mut e) {
            Some(e)
        } else {
            self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
            None
        }
    }

    /// Consumes request-ring entries up to the host's in-pointer. Stops (leaving entries
    /// queued) while the response ring has no room for a completion.
    pub fn process_requests<M: HostMemory, W: Wire>(&mut self, mem: &mut M, wire: &mut W) {
        loop {
            let Some(r) = self.rings.as_ref() else { return };
            let (out, avail, ring) = (r.req.out(), r.req.available(r.req_in), r.req_ring);
            if avail == 0 || !self.rsp_has_room(1) {
                return;
            }
            let Some(first) = self.read_req_entry(mem, out) else {
                return;
            };
            let count = u16::from(first[1]);
            let consumed = if count == 0 || count > avail {
                self.reject_entry(mem, first, entry_status::INVALID_COUNT);
                1
            } else {
                match HostEntry::decode(&first) {
                    Ok(HostEntry::Ctio7(c)) => {
                        self.ctio(mem, wire, &c, out, ring);
                        count
                    }
                    Ok(HostEntry::Cont(_)) => {
                        self.stats.stray_continuations =
                            self.stats.stray_continuations.saturating_add(1);
                        1
                    }
                    Ok(HostEntry::NotifyAck(n)) => {
                        self.nack(mem, wire, &n);
                        1
                    }
                    Ok(HostEntry::AbtsResp(a)) => {
                        self.abts_resp(mem, wire, &a);
                        1
                    }
                    Ok(HostEntry::Marker(_)) => 1,
                    Ok(HostEntry::VpCtrl(c)) => {
                        let done = self.vp_ctrl(mem, c).encode();
                        let _ = self.push(mem, false, &done);
                        1
                    }
                    Ok(HostEntry::VpConfig(c)) => {
                        let done = self.vp_config(mem, c).encode();
                        let _ = self.push(mem, false, &done);
                        1
                    }
                    Err(crate::iocb::DecodeError::UnknownType(_)) => {
                        self.reject_entry(mem, first, entry_status::INVALID_TYPE);
                        count
                    }
                    Err(crate::iocb::DecodeError::BadEntryCount(_)) => {
                        self.reject_entry(mem, first, entry_status::INVALID_COUNT);
                        count
                    }
                    Err(_) => {
                        self.reject_entry(mem, first, entry_status::INVALID_PARAM);
                        count
                    }
                }
            };
            if let Some(r) = self.rings.as_mut() {
                r.req.consume(consumed, r.req_in);
            }
        }
    }

    fn reject_entry<M: HostMemory>(&mut self, mem: &mut M, mut e: Entry, why: u8) {
        self.stats.bad_request_entries = self.stats.bad_request_entries.saturating_add(1);
        e[1] = 1;
        e[3] |= why;
        let _ = self.push(mem, false, &e);
    }

    fn find_exch(&self, addr: u32) -> Option<usize> {
        self.exch
            .iter()
            .position(|x| x.used && x.info.exchange_addr == addr)
    }

    fn port_by_handle(&self, h: Handle) -> Option<&PortSlot> {
        self.ports
            .iter()
            .find(|p| p.state != LoginState::Free && p.handle == h)
    }

    fn ctio<M: HostMemory, W: Wire>(
        &mut self,
        mem: &mut M,
        wire: &mut W,
        c: &Ctio7,
        at: u16,
        ring: Ring,
    ) {
        let mut st = Ctio7Status {
            entry_status: 0,
            handle: c.handle,
            status: ctio_status::OK,
            vp_index: c.vp_index,
            exchange_address: c.exchange_addr,
            flags: c.flags,
            residual: c.residual,
            ox_id: c.ox_id,
            relative_offset: 0,
        };
        let Some(xi) = self.find_exch(c.exchange_addr) else {
            self.stats.ctio_unknown_exchange = self.stats.ctio_unknown_exchange.saturating_add(1);
            st.status = ctio_status::INVALID_RX_ID;
            let _ = self.push(mem, false, &st.encode());
            return;
        };
        let Some(x) = self.exch.get(xi).copied() else {
            return;
        };
        // The login that opened the exchange must still be the one on that handle.
        let logged_in = self
            .port_by_handle(x.handle)
            .is_some_and(|p| p.generation == x.generation);
        if c.flags & ctio_flags::TERMINATE != 0 {
            if let Some(s) = self.exch.get_mut(xi) {
                s.used = false;
            }
            let _ = self.push(mem, false, &st.encode());
            return;
        }
        if !logged_in {
            st.status = ctio_status::PORT_LOGGED_OUT;
            if let Some(s) = self.exch.get_mut(xi) {
                s.used = false;
            }
            let _ = self.push(mem, false, &st.encode());
            return;
        }
        let mut send_status = false;
        match c.body {
            Ctio7Body::Mode0 {
                relative_offset,
                dsd,
                ..
            } => {
                let dir_in = c.flags & ctio_flags::DATA_IN != 0;
                let dir_out = c.flags & ctio_flags::DATA_OUT != 0;
                let mut off = relative_offset;
                let mut ok = true;
                if dir_in || dir_out {
                    ok &= self.move_data(mem, wire, &x.info, dsd, &mut off, dir_in);
                    let conts = u16::from(c.entry_count.saturating_sub(1));
                    for k in 1..=conts {
                        let idx = ring.advance(at, k);
                        let Some(e) = self.read_req_entry(mem, idx) else {
                            ok = false;
                            break;
                        };
                        match ContA64::decode(&e) {
                            Ok(cont) => {
                                for d in cont.dsds.iter().filter(|d| d.len > 0) {
                                    ok &= self.move_data(mem, wire, &x.info, *d, &mut off, dir_in);
                                }
                            }
                            Err(_) => {
                                ok = false;
                                break;
                            }
                        }
                    }
                }
                st.relative_offset = off;
                if !ok {
                    st.status = ctio_status::ABORTED;
                } else if c.flags & ctio_flags::SEND_STATUS != 0 {
                    send_status = true;
                    wire.fcp_rsp(
                        &x.info,
                        &FcpRsp {
                            scsi_status: c.scsi_status,
                            residual: c.residual,
                            sense_length: 0,
                            response_len: 0,
                            sense: [0; 24],
                        },
                    );
                }
            }
            Ctio7Body::Mode1 {
                sense_length,
                response_len,
                sense,
            } => {
                send_status = true;
                wire.fcp_rsp(
                    &x.info,
                    &FcpRsp {
                        scsi_status: c.scsi_status,
                        residual: c.residual,
                        sense_length,
                        response_len,
                        sense,
                    },
                );
            }
        }
        if send_status || st.status != ctio_status::OK {
            if let Some(s) = self.exch.get_mut(xi) {
                s.used = false;
            }
        }
        if c.flags & ctio_flags::DONT_RET_CTIO == 0 || st.status != ctio_status::OK {
            let _ = self.push(mem, false, &st.encode());
        }
    }

    fn move_data<M: HostMemory, W: Wire>(
        &mut self,
        mem: &mut M,
        wire: &mut W,
        x: &ExchangeInfo,
        d: Dsd64,
        off: &mut u32,
        dir_in: bool,
    ) -> bool {
        let mut buf = [0u8; 256];
        let mut done = 0u32;
        while done < d.len {
            let n = (d.len - done).min(buf.len() as u32);
            let Some(chunk) = buf.get_mut(..n as usize) else {
                return false;
            };
            let addr = d.addr.wrapping_add(u64::from(done));
            if dir_in {
                if !mem.read(addr, chunk) {
                    self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
                    return false;
                }
                wire.data_in(x, *off, chunk);
            } else {
                wire.data_out(x, *off, chunk);
                if !mem.write(addr, chunk) {
                    self.stats.dma_errors = self.stats.dma_errors.saturating_add(1);
                    return false;
                }
            }
            done += n;
            *off = off.wrapping_add(n);
        }
        true
    }

    fn nack<M: HostMemory, W: Wire>(&mut self, mem: &mut M, wire: &mut W, n: &NotifyAck24) {
        let mut done = *n;
        done.status = NOTIFY_ACK_SUCCESS;
        let Some(pi) = self.ports.iter().position(|p| {
            p.state != LoginState::Free && p.notify_exch == n.exchange_address && p.notify_op != 0
        }) else {
            self.stats.nack_unknown = self.stats.nack_unknown.saturating_add(1);
            done.entry_status = entry_status::INVALID_PARAM;
            let _ = self.push(mem, false, &done.encode());
            return;
        };
        let accept = !n.terminates();
        if let Some(p) = self.ports.get_mut(pi) {
            let op = p.notify_op;
            p.notify_op = 0;
            let (vp, s_id) = (p.vp_index, p.port_id);
            p.state = match (op, p.state, accept) {
                (els::PLOGI, LoginState::PlogiPending, true) => LoginState::PlogiDone,
                (els::PRLI, LoginState::PrliPending, true) => LoginState::Active,
                (els::PRLI, LoginState::PrliPending, false) => LoginState::PlogiDone,
                (els::LOGO, _, _) | (els::PLOGI, _, false) => LoginState::Free,
                (_, s, _) => s,
            };
            if op != 0 && op != 0xff {
                wire.els_reply(vp, s_id, op, accept);
            }
            if p.state == LoginState::Free {
                let h = p.handle;
                self.drop_exchanges_of(h);
            }
        }
        let _ = self.push(mem, false, &done.encode());
    }

    fn drop_exchanges_of(&mut self, h: Handle) {
        for x in self.exch.iter_mut().filter(|x| x.used && x.handle == h) {
            x.used = false;
        }
    }

    fn abts_resp<M: HostMemory, W: Wire>(&mut self, mem: &mut M, wire: &mut W, a: &AbtsResp24) {
        let mut st = AbtsRespStatus {
            entry_status: 0,
            handle: a.handle,
            compl_status: 0,
            nport_handle: a.nport_handle,
            vp_index: a.vp_index,
            exchange_address: a.exchange_address,
            error_subcode1: 0,
            error_subcode2: 0,
            exchange_addr_to_abort: a.exchange_addr_to_abort,
        };
        let accepted = matches!(a.payload, BaPayload::Acc { .. });
        let victim = self.find_exch(a.exchange_addr_to_abort);
        match (accepted, victim) {
            (true, Some(_)) if a.control_flags & ABTS_CONTR_FLG_TERM_EXCHG == 0 => {
                // The victim is still open and the driver did not ask us to terminate it.
                st.compl_status = 0x31;
                st.error_subcode1 = ABTS_RESP_SUBCODE_NOT_TERMINATED;
            }
            (_, v) => {
                if let Some(s) = v.and_then(|v| self.exch.get_mut(v)) {
                    s.used = false;
                }
                wire.abts_reply(a.fc.d_id, a.fc.ox_id, accepted);
            }
        }
        let _ = self.push(mem, false, &st.encode());
    }

    // ---- virtual ports --------------------------------------------------------------

    fn vp_config<M: HostMemory>(&mut self, mem: &mut M, c: VpConfig24) -> VpConfig24 {
        let mut done = c;
        let vp = c.vp_index1;
        match self.vps.get_mut(usize::from(vp)) {
            Some(s) if vp != 0 => {
                s.configured = true;
                s.wwpn = c.port_name_idx1;
                s.wwnn = c.node_name_idx1;
                if c.command == VCT_COMMAND_MOD_ENABLE_VPS {
                    s.enabled = true;
                    self.report_id(mem, vp);
                }
            }
            _ => done.comp_status = 0x02,
        }
        done
    }

    fn vp_ctrl<M: HostMemory>(&mut self, mem: &mut M, c: VpCtrl24) -> VpCtrl24 {
        let mut done = c;
        for vp in 1..=u8::try_from(V.saturating_sub(1)).unwrap_or(u8::MAX) {
            if !c.selects(vp) {
                continue;
            }
            let Some(s) = self.vps.get_mut(usize::from(vp)) else {
                continue;
            };
            if !s.configured {
                done.comp_status = 0x01;
                done.vp_idx_failed = u16::from(vp);
                continue;
            }
            if c.command == crate::iocb::vce_command::ENABLE_VPS {
                s.enabled = true;
                self.report_id(mem, vp);
            } else {
                s.enabled = false;
                // Disabling logs out every remote port of that VP.
                for p in self
                    .ports
                    .iter_mut()
                    .filter(|p| p.state != LoginState::Free && p.vp_index == vp)
                {
                    let h = p.handle;
                    p.state = LoginState::Free;
                    for x in self.exch.iter_mut().filter(|x| x.used && x.handle == h) {
                        x.used = false;
                    }
                }
            }
        }
        done
    }

    fn report_id<M: HostMemory>(&mut self, mem: &mut M, vp: u8) {
        if !self.link_up {
            return;
        }
        let rida = Rida24 {
            vp_acquired: 1,
            vp_setup: 1,
            vp_idx: vp,
            vp_status: 0,
            port_id: self.vp_port_id(vp),
            format: RidaFormat::Fabric,
            flags: 0x06,
            port_name: Wwpn(0),
            node_name: Wwpn(0),
        };
        let to_atio = self.fw_options[1] & FWO2_MOVE_ASYNC_TO_ATIO != 0;
        let _ = self.push(mem, to_atio, &rida.encode());
    }

    // ---- fabric side ----------------------------------------------------------------

    /// The link comes up: async LOOP_UP, then a RIDA for each enabled NPIV port.
    pub fn link_up<M: HostMemory>(&mut self, mem: &mut M) {
        if self.link_up {
            return;
        }
        self.link_up = true;
        if self.risc == RiscState::Initialized {
            self.post_async([mba::LOOP_UP, 0, 0, 0]);
            for vp in 1..=u8::try_from(V.saturating_sub(1)).unwrap_or(u8::MAX) {
                if self.vps.get(usize::from(vp)).is_some_and(|s| s.enabled) {
                    self.report_id(mem, vp);
                }
            }
        }
    }

    /// The link goes down: every login and exchange is gone; async LOOP_DOWN.
    pub fn link_down(&mut self) {
        if !self.link_up {
            return;
        }
        self.link_up = false;
        self.ports = [FREE_PORT; P];
        self.exch = [FREE_EXCH; X];
        if self.risc == RiscState::Initialized {
            self.post_async([mba::LOOP_DOWN, 0, 0, 0]);
        }
    }

    fn ready(&self, vp: u8) -> Result<(), ModelError> {
        if self.risc != RiscState::Initialized || !self.link_up || !self.icb.target_mode() {
            return Err(ModelError::NotReady);
        }
        match self.vps.get(usize::from(vp)) {
            Some(s) if s.enabled => Ok(()),
            _ => Err(ModelError::BadVp),
        }
    }

    fn alloc_handle(&self) -> Option<Handle> {
        (0..=self.cfg.max_handle)
            .map(Handle)
            .find(|h| self.port_by_handle(*h).is_none())
    }

    fn new_exchange_addr(&mut self) -> u32 {
        let a = self.next_exchange;
        self.next_exchange = match a.wrapping_add(1) {
            0xFFFF_FFFF | 0 => FIRST_EXCHANGE,
            n => n,
        };
        a
    }

    fn notify<M: HostMemory>(
        &mut self,
        mem: &mut M,
        pi: usize,
        status_code: u16,
        op: u8,
        wd3: u16,
    ) -> Result<(), ModelError> {
        let exch = self.new_exchange_addr();
        let p = self.ports.get_mut(pi).ok_or(ModelError::NotLoggedIn)?;
        p.notify_exch = exch;
        p.notify_op = if status_code == status::ELS { op } else { 0xff };
        let mut u = [0u8; 8];
        if op == els::PRLI {
            u[..2].copy_from_slice(&wd3.to_le_bytes());
        } else {
            u = p.wwnn.to_be_bytes();
        }
        let n = ImmNotify24 {
            nport_handle: p.handle,
            status: status_code,
            status_subcode: op,
            exchange_address: exch,
            u,
            port_name: p.wwpn,
            vp_index: p.vp_index,
            port_id: p.port_id,
            ox_id: (exch & 0xffff) as u16,
            ..Default::default()
        };
        self.push(mem, true, &n.encode())
    }

    /// An initiator sends PLOGI to virtual port `vp`. A login already on the same port ID
    /// is replaced and its handle reused (the firmware re-binds the slot, as in the NPIV
    /// reuse scenario); otherwise the lowest free handle is assigned. Returns the handle.
    pub fn plogi<M: HostMemory>(
        &mut self,
        mem: &mut M,
        vp: u8,
        wwpn: Wwpn,
        wwnn: Wwpn,
        s_id: PortId,
    ) -> Result<Handle, ModelError> {
        self.ready(vp)?;
        let pi = match self
            .ports
            .iter()
            .position(|p| p.state != LoginState::Free && p.port_id == s_id && p.vp_index == vp)
        {
            // Exchanges of the replaced login stay open; their CTIOs complete with
            // PORT_LOGGED_OUT because the generation moved on.
            Some(pi) => pi,
            None => {
                let h = self.alloc_handle().ok_or(ModelError::NoResources)?;
                let pi = self
                    .ports
                    .iter()
                    .position(|p| p.state == LoginState::Free)
                    .ok_or(ModelError::NoResources)?;
                if let Some(p) = self.ports.get_mut(pi) {
                    p.handle = h;
                }
                pi
            }
        };
        let p = self.ports.get_mut(pi).ok_or(ModelError::NoResources)?;
        p.state = LoginState::PlogiPending;
        p.generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        p.wwpn = wwpn;
        p.wwnn = wwnn;
        p.port_id = s_id;
        p.vp_index = vp;
        let h = p.handle;
        self.notify(mem, pi, status::ELS, els::PLOGI, 0)?;
        Ok(h)
    }

    fn port_index(&self, vp: u8, s_id: PortId) -> Result<usize, ModelError> {
        self.ports
            .iter()
            .position(|p| p.state != LoginState::Free && p.port_id == s_id && p.vp_index == vp)
            .ok_or(ModelError::NotLoggedIn)
    }

    /// The initiator at `s_id` sends PRLI (after its PLOGI was accepted).
    pub fn prli<M: HostMemory>(
        &mut self,
        mem: &mut M,
        vp: u8,
        s_id: PortId,
        wd3: u16,
    ) -> Result<(), ModelError> {
        self.ready(vp)?;
        let pi = self.port_index(vp, s_id)?;
        let p = self.ports.get_mut(pi).ok_or(ModelError::NotLoggedIn)?;
        if p.state != LoginState::PlogiDone {
            return Err(ModelError::NotLoggedIn);
        }
        p.state = LoginState::PrliPending;
        self.notify(mem, pi, status::ELS, els::PRLI, wd3)
    }

    /// The initiator at `s_id` sends LOGO; the login ends when the driver acks.
    pub fn logo<M: HostMemory>(
        &mut self,
        mem: &mut M,
        vp: u8,
        s_id: PortId,
    ) -> Result<(), ModelError> {
        self.ready(vp)?;
        let pi = self.port_index(vp, s_id)?;
        if let Some(p) = self.ports.get_mut(pi) {
            p.state = LoginState::LogoPending;
        }
        self.notify(mem, pi, status::ELS, els::LOGO, 0)
    }

    /// The firmware itself logs the port out (Immediate Notify status 0x29); the login and
    /// its exchanges are gone at once.
    pub fn port_logout<M: HostMemory>(
        &mut self,
        mem: &mut M,
        vp: u8,
        s_id: PortId,
    ) -> Result<(), ModelError> {
        self.ready(vp)?;
        let pi = self.port_index(vp, s_id)?;
        self.notify(mem, pi, status::PORT_LOGOUT, 0, 0)?;
        // Open exchanges complete with PORT_LOGGED_OUT when the driver next touches them.
        if let Some(p) = self.ports.get_mut(pi) {
            p.state = LoginState::Free;
        }
        Ok(())
    }

    /// The initiator at `s_id` sends an FCP_CMND to `vp`. Requires an accepted PRLI.
    /// Returns the exchange address the ATIO carries.
    #[allow(clippy::too_many_arguments)]
    pub fn fcp_cmnd<M: HostMemory>(
        &mut self,
        mem: &mut M,
        vp: u8,
        s_id: PortId,
        ox_id: u16,
        lun: Lun,
        cdb: &[u8],
        data_length: u32,
        dir: DataDirection,
    ) -> Result<u32, ModelError> {
        self.ready(vp)?;
        let pi = self.port_index(vp, s_id)?;
        let p = self.ports.get(pi).ok_or(ModelError::NotLoggedIn)?;
        if p.state != LoginState::Active {
            return Err(ModelError::NotLoggedIn);
        }
        let (handle, generation) = (p.handle, p.generation);
        let cdb = Cdb::new(cdb).ok_or(ModelError::BadCdb)?;
        let xi = self
            .exch
            .iter()
            .position(|x| !x.used)
            .ok_or(ModelError::NoResources)?;
        let exchange_addr = self.new_exchange_addr();
        let d_id = self.vp_port_id(vp);
        let atio = Atio7 {
            fcp_cmnd_len: 0,
            attr: 0,
            exchange_addr,
            fc: FcHeader {
                r_ctl: 0x06,
                d_id,
                s_id,
                fc_type: 0x08,
                f_ctl: 0x29_0000,
                ox_id,
                rx_id: 0xFFFF,
                ..FcHeader::default()
            },
            cmnd: FcpCmnd {
                lun,
                cmnd_ref: 0,
                task_byte: 0,
                tmf: 0,
                wrdata: dir == DataDirection::ToDevice,
                rddata: dir == DataDirection::FromDevice,
                cdb,
                data_length,
            },
        };
        let mut bytes = [0u8; ATIO_MAX_ENTRIES * IOCB_SIZE];
        let n = atio.encode(&mut bytes).map_err(|_| ModelError::BadCdb)?;
        self.push(mem, true, bytes.get(..n * IOCB_SIZE).unwrap_or(&[]))?;
        if let Some(x) = self.exch.get_mut(xi) {
            *x = ExchSlot {
                used: true,
                info: ExchangeInfo {
                    exchange_addr,
                    s_id,
                    d_id,
                    ox_id,
                    vp_index: vp,
                    lun,
                    data_length,
                },
                handle,
                generation,
            };
        }
        Ok(exchange_addr)
    }

    /// The initiator at `s_id` aborts its exchange `ox_id` (ABTS). The ABTS goes to the
    /// response queue, or the ATIO queue when fw_options word 2 bit 11 is set. If the
    /// exchange is unknown the victim address is 0xFFFFFFFF.
    pub fn abts<M: HostMemory>(
        &mut self,
        mem: &mut M,
        vp: u8,
        s_id: PortId,
        ox_id: u16,
    ) -> Result<(), ModelError> {
        self.ready(vp)?;
        let pi = self.port_index(vp, s_id)?;
        let handle = self
            .ports
            .get(pi)
            .map(|p| p.handle)
            .ok_or(ModelError::NotLoggedIn)?;
        let victim = self
            .exch
            .iter()
            .find(|x| {
                x.used && x.info.s_id == s_id && x.info.ox_id == ox_id && x.info.vp_index == vp
            })
            .map_or(crate::iocb::EXCHANGE_ADDRESS_UNKNOWN, |x| {
                x.info.exchange_addr
            });
        let own = self.new_exchange_addr();
        let a = AbtsRecv24 {
            nport_handle: handle,
            vp_index: vp,
            sof_type: 0,
            exchange_address: own,
            fc: FcHeader {
                r_ctl: 0x81,
                d_id: self.vp_port_id(vp),
                s_id,
                ox_id,
                rx_id: 0xFFFF,
                f_ctl: 0x09_0000,
                ..FcHeader::default()
            },
            exchange_addr_to_abort: victim,
        };
        let to_atio = self.fw_options[1] & FWO2_MOVE_ASYNC_TO_ATIO != 0;
        self.push(mem, to_atio, &a.encode())
    }

    /// The N_Port handle the firmware holds for `s_id` on `vp`, if logged in.
    pub fn handle_of(&self, vp: u8, s_id: PortId) -> Option<Handle> {
        self.port_index(vp, s_id)
            .ok()
            .and_then(|i| self.ports.get(i))
            .map(|p| p.handle)
    }
}

// ==== Flash / NVRAM (FLASH_ADDR, FLASH_DATA) ================================================
// One block on purpose: everything the flash model adds to this file is below, apart from
// the `flash` field, its line in `new`, its line in `reset_in_place` and the two register
// arms in `read_reg` / `write_reg`.

use crate::nvram::{farx, NvramLocation, NVRAM_24XX_SIZE};

/// The HBA's flash as the FLASH_ADDR / FLASH_DATA registers show it: one function's NVRAM
/// image at the FLASH_ADDR values an [`NvramLocation`] gives; every other address reads as
/// erased flash (all ones). Reads complete at once (DATA_FLAG set with the address write)
/// unless the flash is made stuck; writes are not modelled (the flag clears, nothing changes).
#[derive(Clone, Copy, Debug)]
pub struct Flash {
    nvram: [u8; NVRAM_24XX_SIZE],
    location: Option<NvramLocation>,
    /// FLASH_ADDR as the chip shows it (DATA_FLAG set once a read completed).
    addr: u32,
    data: u32,
    reads: u32,
    stuck: bool,
}

impl Flash {
    /// Flash with no NVRAM image (everything erased).
    pub const fn new() -> Self {
        Flash {
            nvram: [0xFF; NVRAM_24XX_SIZE],
            location: None,
            addr: 0,
            data: 0,
            reads: 0,
            stuck: false,
        }
    }

    fn write_addr(&mut self, value: u32) {
        if value & farx::DATA_FLAG != 0 {
            // A write cycle: not modelled; the chip reports it done.
            self.addr = value & !farx::DATA_FLAG;
            return;
        }
        self.addr = value;
        if self.stuck {
            return;
        }
        self.data = self.dword(value);
        self.reads = self.reads.saturating_add(1);
        self.addr |= farx::DATA_FLAG;
    }

    /// The dword at FLASH_ADDR value `addr` (little-endian in the image).
    fn dword(&self, addr: u32) -> u32 {
        let Some(loc) = self.location else {
            return u32::MAX;
        };
        let Some(i) = addr.checked_sub(loc.first).filter(|&i| i < loc.dwords) else {
            return u32::MAX;
        };
        let at = (i as usize).saturating_mul(4);
        match self.nvram.get(at..at.saturating_add(4)) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => u32::MAX,
        }
    }
}

impl Default for Flash {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize, const X: usize, const V: usize> FwModel<P, X, V> {
    /// Puts an NVRAM image into the flash at `location` (from
    /// [`nvram_location`](crate::nvram::nvram_location)); it survives every reset.
    pub fn set_nvram(&mut self, location: NvramLocation, image: &[u8; NVRAM_24XX_SIZE]) {
        self.flash.nvram = *image;
        self.flash.location = Some(location);
    }

    /// Fault injection: flash reads never complete (DATA_FLAG stays clear).
    pub fn set_flash_stuck(&mut self, stuck: bool) {
        self.flash.stuck = stuck;
    }

    /// Flash dword reads completed so far.
    pub const fn flash_reads(&self) -> u32 {
        self.flash.reads
    }
}
// ==== end of the flash block ================================================================
