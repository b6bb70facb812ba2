//! The command entry point: decode with the opcode table, run the engine's checks through
//! [`Hooks`] (unit attention, then reservation conflict), then dispatch to the SPC/SBC
//! emulation.
//!
//! Order inside [`execute`]:
//! 1. opcode lookup (an unknown opcode still gets a pending unit attention first);
//! 2. **HOOK 1** [`Hooks::unit_attention`] for every command without `NO_UA`;
//! 3. unsupported opcode / service action, CDB length and reserved-bit validation;
//! 4. **HOOK 2** [`Hooks::reservation_conflict`];
//! 5. NOT READY when stopped (media commands), DATA PROTECT when write protected;
//! 6. dispatch; PERSISTENT RESERVE IN/OUT and RESERVE/RELEASE go to **HOOK 3**
//!    ([`Hooks::persistent_reserve_in`], [`Hooks::persistent_reserve_out`],
//!    [`Hooks::reserve_release`]).
//!
//! For the fabric: the buffer passed in is the command's whole data buffer (FCP_DL bytes).
//! [`CmdResult::residual`] is relative to it: a data-in command that wants less is an
//! underrun, one that wants more transfers what fits and reports an overrun (not an error).
//! A data-out buffer shorter than the CDB needs is refused (CHECK CONDITION, INVALID FIELD
//! IN COMMAND INFORMATION UNIT, overrun residual) rather than executed partially. Sense is
//! formatted with [`CmdResult::write_sense`], descriptor format when [`LuState::d_sense`].
//! LUNs without a logical unit go to [`execute_no_lu`].

use crate::backend::{Backend, DataBuffer, IoError};
use crate::cdb::{self, flags, Handler, OpInfo};
use crate::device::{DeviceConfig, LuState};
use crate::sense;
use crate::types::{Asc, LocalPort, Lun, PortId, ScsiStatus, Sense, SenseKey, TaskAttr, Wwpn};
use crate::{mode, sbc, spc};

/// Everything exec needs to know about the nexus and port a command arrived on.
#[derive(Clone, Copy, Debug)]
pub struct CmdContext<'a> {
    /// Initiator port WWPN (the session's identity).
    pub initiator: Wwpn,
    /// Initiator N_Port ID.
    pub initiator_port_id: PortId,
    /// Local port (target, vp_index) the command arrived on.
    pub local_port: LocalPort,
    /// The addressed LUN.
    pub lun: Lun,
    /// WWPN of the target port (VPD 83h target port designator).
    pub target_wwpn: Wwpn,
    /// Relative target port identifier of the local port (1-based).
    pub rel_port_id: u16,
    /// Target port group of the local port.
    pub tpg_id: u16,
    /// Relative port ids of every port in that group (REPORT TARGET PORT GROUPS); empty
    /// means just `rel_port_id`.
    pub tpg_ports: &'a [u16],
    /// The LUNs this nexus may see (REPORT LUNS), from its access map.
    pub luns: &'a [Lun],
    /// Sense data pending for this nexus (REQUEST SENSE returns it).
    pub pending_sense: Option<Sense>,
    /// Task attribute.
    pub attr: TaskAttr,
}

impl<'a> CmdContext<'a> {
    /// A context with the given visible LUNs, relative port 1 in group 0 and zero identities
    /// elsewhere (tests, benchmarks, loopback).
    pub const fn simple(luns: &'a [Lun]) -> Self {
        CmdContext {
            initiator: Wwpn(0),
            initiator_port_id: PortId::new(0),
            local_port: LocalPort {
                target: 0,
                vp_index: 0,
            },
            lun: Lun(0),
            target_wwpn: Wwpn(0),
            rel_port_id: 1,
            tpg_id: 0,
            tpg_ports: &[],
            luns,
            pending_sense: None,
            attr: TaskAttr::Simple,
        }
    }
}

/// The logical unit a command addresses: its attributes, shared state and backend.
#[derive(Debug)]
pub struct Lu<'a, B: ?Sized> {
    /// Static attributes.
    pub config: &'a DeviceConfig,
    /// Mutable LU state (mode values, stopped).
    pub state: &'a LuState,
    /// Storage.
    pub backend: &'a B,
}

impl<B: ?Sized> Clone for Lu<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<B: ?Sized> Copy for Lu<'_, B> {}

/// Residual of the data transfer relative to the buffer length (FCP_DL).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Residual {
    /// Exactly the buffer length was transferred.
    None,
    /// Fewer bytes than the buffer holds were transferred (FCP_RESID_UNDER).
    Underrun(usize),
    /// The command wanted this many bytes more than the buffer holds (FCP_RESID_OVER).
    Overrun(usize),
}

/// Outcome of a command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CmdResult {
    /// SCSI status.
    pub status: ScsiStatus,
    /// Sense data for CHECK CONDITION.
    pub sense: Option<Sense>,
    /// Bytes moved between the buffer and the device (data-in written or data-out consumed).
    pub data_len: usize,
    /// Transfer residual to report to the fabric.
    pub residual: Residual,
}

impl CmdResult {
    /// Formats the sense data (fixed, or descriptor when `descriptor`, normally
    /// [`LuState::d_sense`]); 0 when there is none.
    pub fn write_sense(&self, descriptor: bool, out: &mut [u8]) -> usize {
        match &self.sense {
            Some(s) => sense::format(s, descriptor, out),
            None => 0,
        }
    }
}

/// Why a handler did not complete with GOOD.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fail {
    /// CHECK CONDITION with this sense.
    Check(Sense),
    /// Another status without sense (RESERVATION CONFLICT, BUSY, ...).
    Status(ScsiStatus),
    /// The data-out buffer holds fewer than the `need` bytes the CDB requires: CHECK
    /// CONDITION, INVALID FIELD IN COMMAND INFORMATION UNIT, with an overrun residual.
    ShortDataOut {
        /// Bytes the command needed.
        need: u64,
    },
}

impl From<Sense> for Fail {
    fn from(s: Sense) -> Self {
        Fail::Check(s)
    }
}

impl From<IoError> for Fail {
    fn from(e: IoError) -> Self {
        Fail::Check(io_sense(e))
    }
}

/// Sense for a backend error.
pub fn io_sense(e: IoError) -> Sense {
    match e {
        IoError::Read(lba) => Sense {
            key: SenseKey::MediumError,
            asc: Asc::UNRECOVERED_READ_ERROR,
            field: None,
            information: lba,
        },
        IoError::Write(lba) => Sense {
            key: SenseKey::MediumError,
            asc: Asc::WRITE_ERROR,
            field: None,
            information: lba,
        },
        IoError::NoSpace => Sense::new(SenseKey::DataProtect, sense::SPACE_ALLOCATION_FAILED),
        IoError::Failed => Sense::new(SenseKey::HardwareError, Asc::INTERNAL_TARGET_FAILURE),
    }
}

/// What a handler transferred.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Xfer {
    /// Bytes the command would transfer with an unlimited buffer.
    pub wanted: u64,
    /// Bytes actually moved.
    pub moved: usize,
}

impl Xfer {
    /// No data phase.
    pub const NONE: Xfer = Xfer {
        wanted: 0,
        moved: 0,
    };
}

/// A data-in stream into a command buffer, cut at the allocation length and the buffer's
/// end, that still counts what a full response would hold (for residuals and length fields).
pub struct DataIn<'b, D: DataBuffer + ?Sized> {
    buf: &'b mut D,
    alloc: usize,
    limit: usize,
    pos: usize,
}

impl<'b, D: DataBuffer + ?Sized> DataIn<'b, D> {
    /// Starts at offset 0 with the CDB's allocation length.
    pub fn new(buf: &'b mut D, alloc_len: usize) -> Self {
        let limit = alloc_len.min(buf.len());
        DataIn {
            buf,
            alloc: alloc_len,
            limit,
            pos: 0,
        }
    }
    /// Appends `bytes` (the part under the limit reaches the buffer).
    pub fn put(&mut self, bytes: &[u8]) {
        self.put_at(self.pos, bytes);
        self.pos = self.pos.saturating_add(bytes.len());
    }
    /// Writes `bytes` at `off` without moving the append position (patching headers).
    pub fn put_at(&mut self, off: usize, bytes: &[u8]) {
        if off < self.limit {
            let room = self.limit - off;
            if let Some(part) = bytes.get(..room.min(bytes.len())) {
                self.buf.write_at(off, part);
            }
        }
    }
    /// Moves the append position to `off` (skipping bytes, which are left as they were).
    pub fn seek(&mut self, off: usize) {
        self.pos = off;
    }
    /// Current append position (length of the full response so far).
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// True once further bytes would be cut off.
    pub fn full(&self) -> bool {
        self.pos >= self.limit
    }
    /// The transfer this stream amounts to.
    pub fn done(&self) -> Xfer {
        let wanted = self.pos.min(self.alloc);
        Xfer {
            wanted: wanted as u64,
            moved: wanted.min(self.limit),
        }
    }
}

/// The engine's integration points. Every method has a default that makes exec work alone
/// (no unit attentions, no reservations, PR commands unsupported).
pub trait Hooks {
    /// HOOK 1: a pending unit attention for this nexus, to be reported (and cleared) now.
    /// Not called for INQUIRY, REPORT LUNS and REQUEST SENSE (`flags::NO_UA`); `op` is
    /// `None` for unknown opcodes.
    fn unit_attention(
        &mut self,
        ctx: &CmdContext<'_>,
        op: Option<&'static OpInfo>,
    ) -> Option<Sense> {
        let _ = (ctx, op);
        None
    }
    /// HOOK 2: true when the command conflicts with a reservation held by another nexus
    /// (the command then ends with RESERVATION CONFLICT). Called for every valid command.
    fn reservation_conflict(
        &mut self,
        ctx: &CmdContext<'_>,
        op: &'static OpInfo,
        cdb: &[u8],
    ) -> bool {
        let _ = (ctx, op, cdb);
        false
    }
    /// True once the reservation module is wired: rows with `flags::RESERVATION` are then
    /// supported (and reported by REPORT SUPPORTED OPERATION CODES).
    fn reservations_wired(&self) -> bool {
        false
    }
    /// HOOK 3: PERSISTENT RESERVE IN; write the parameter data to `out`.
    fn persistent_reserve_in<D: DataBuffer + ?Sized>(
        &mut self,
        ctx: &CmdContext<'_>,
        cdb: &[u8],
        out: &mut DataIn<'_, D>,
    ) -> Result<(), Fail> {
        let _ = (ctx, cdb, out);
        Err(Fail::Check(Sense::invalid_opcode()))
    }
    /// HOOK 3: PERSISTENT RESERVE OUT with its parameter list (`param`, already checked to
    /// hold the CDB's PARAMETER LIST LENGTH bytes).
    fn persistent_reserve_out<D: DataBuffer + ?Sized>(
        &mut self,
        ctx: &CmdContext<'_>,
        cdb: &[u8],
        param: &D,
    ) -> Result<(), Fail> {
        let _ = (ctx, cdb, param);
        Err(Fail::Check(Sense::invalid_opcode()))
    }
    /// HOOK 3: RESERVE(6)/(10) and RELEASE(6)/(10) (`op.handler` tells which).
    fn reserve_release(
        &mut self,
        ctx: &CmdContext<'_>,
        op: &'static OpInfo,
        cdb: &[u8],
    ) -> Result<(), Fail> {
        let _ = (ctx, op, cdb);
        Err(Fail::Check(Sense::invalid_opcode()))
    }
    /// MODE SELECT changed mode parameters: establish MODE PARAMETERS CHANGED for every
    /// other I_T nexus of this LU.
    fn mode_parameters_changed(&mut self, ctx: &CmdContext<'_>) {
        let _ = ctx;
    }
    /// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS bytes 0 and 1 (default: ABORT TASK,
    /// ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET).
    fn supported_tmfs(&self) -> [u8; 2] {
        [0xd8, 0x00]
    }
}

/// Hooks that do nothing: exec standalone.
#[derive(Clone, Copy, Default, Debug)]
pub struct NoHooks;
impl Hooks for NoHooks {}

/// Whether a table row is available on this LU with these hooks.
pub fn supported<H: Hooks>(op: &OpInfo, cfg: &DeviceConfig, hooks: &H) -> bool {
    (!op.has(flags::RESERVATION) || hooks.reservations_wired())
        && (!op.has(flags::THIN) || cfg.thin)
        && (!op.has(flags::CAW) || cfg.max_caw_blocks > 0)
}

/// Executes one command against `lu`. `buf` is the command's data buffer, sized by the
/// fabric's expected transfer length; data-in is written to it and data-out read from it.
pub fn execute<B: Backend + ?Sized, H: Hooks>(
    lu: &Lu<'_, B>,
    ctx: &CmdContext<'_>,
    cdb: &[u8],
    buf: &mut B::Buf,
    hooks: &mut H,
) -> CmdResult {
    let len = buf.len();
    let r = check(lu, ctx, cdb, hooks).and_then(|op| dispatch(lu, ctx, op, cdb, buf, hooks));
    finish(r, len)
}

/// Steps 1-5 of [`execute`] (everything before dispatch): decodes and validates `cdb` and
/// runs HOOK 1 and HOOK 2. The engine calls this under the logical unit's lock, then
/// [`dispatch`] (without the lock for media commands).
pub fn check<B: Backend + ?Sized, H: Hooks>(
    lu: &Lu<'_, B>,
    ctx: &CmdContext<'_>,
    cdb: &[u8],
    hooks: &mut H,
) -> Result<&'static OpInfo, Fail> {
    let found = cdb::lookup(cdb);
    let op_for_ua = found.ok();
    if !op_for_ua.is_some_and(|op| op.has(flags::NO_UA)) {
        // HOOK 1: unit attention.
        if let Some(ua) = hooks.unit_attention(ctx, op_for_ua) {
            return Err(Fail::Check(ua));
        }
    }
    let op = found?;
    if !supported(op, lu.config, hooks) {
        // A service action of an otherwise available opcode is an invalid field.
        let sibling =
            cdb::all_ops().any(|o| o.opcode == op.opcode && supported(o, lu.config, hooks));
        return Err(Fail::Check(if sibling {
            Sense::invalid_cdb_field(1, Some(4))
        } else {
            Sense::invalid_opcode()
        }));
    }
    cdb::validate(op, cdb)?;
    // HOOK 2: reservation conflict.
    if hooks.reservation_conflict(ctx, op, cdb) {
        return Err(Fail::Status(ScsiStatus::ReservationConflict));
    }
    if op.has(flags::MEDIUM) && lu.state.stopped() {
        return Err(Fail::Check(Sense::new(
            SenseKey::NotReady,
            Asc::LU_NOT_READY_STOPPED,
        )));
    }
    if op.has(flags::WRITES) {
        if lu.config.read_only {
            return Err(Fail::Check(Sense::new(
                SenseKey::DataProtect,
                Asc::WRITE_PROTECTED,
            )));
        }
        if lu.state.swp() {
            return Err(Fail::Check(Sense::new(
                SenseKey::DataProtect,
                sense::SOFTWARE_WRITE_PROTECTED,
            )));
        }
    }
    Ok(op)
}

/// Step 6 of [`execute`]: runs a command [`check`] accepted.
pub fn dispatch<B: Backend + ?Sized, H: Hooks>(
    lu: &Lu<'_, B>,
    ctx: &CmdContext<'_>,
    op: &'static OpInfo,
    cdb: &[u8],
    buf: &mut B::Buf,
    hooks: &mut H,
) -> Result<Xfer, Fail> {
    match op.handler {
        Handler::Read => sbc::read(lu, op, cdb, buf),
        Handler::Write => sbc::write(lu, op, cdb, buf, false),
        Handler::WriteAndVerify => sbc::write(lu, op, cdb, buf, true),
        Handler::Verify => sbc::verify(lu, op, cdb, buf),
        Handler::TestUnitReady => Ok(Xfer::NONE),
        Handler::RequestSense => spc::request_sense(Some(lu.state), ctx, cdb, buf),
        Handler::Inquiry => spc::inquiry(lu.config, ctx, cdb, buf),
        Handler::ReportLuns => spc::report_luns(ctx, cdb, buf),
        Handler::ModeSense => mode::mode_sense(lu.config, lu.state, op, cdb, buf),
        Handler::ModeSelect => mode::mode_select(lu.config, lu.state, ctx, op, cdb, buf, hooks),
        Handler::StartStopUnit => sbc::start_stop_unit(lu, cdb),
        Handler::ReadCapacity10 => sbc::read_capacity10(lu.config, cdb, buf),
        Handler::ReadCapacity16 => sbc::read_capacity16(lu.config, cdb, buf),
        Handler::GetLbaStatus => sbc::get_lba_status(lu, cdb, buf),
        Handler::SynchronizeCache => sbc::synchronize_cache(lu, op, cdb),
        Handler::WriteSame => sbc::write_same(lu, op, cdb, buf),
        Handler::Unmap => sbc::unmap(lu, cdb, buf),
        Handler::CompareAndWrite => sbc::compare_and_write(lu, cdb, buf),
        Handler::ReportTargetPortGroups => spc::report_target_port_groups(ctx, cdb, buf),
        Handler::ReportSupportedOpcodes => {
            spc::report_supported_opcodes(lu.config, hooks, cdb, buf)
        }
        Handler::ReportSupportedTmfs => spc::report_supported_tmfs(hooks, cdb, buf),
        Handler::PersistentReserveIn => {
            let mut out = DataIn::new(buf, usize::from(cdb::be16(cdb, 7)));
            hooks.persistent_reserve_in(ctx, cdb, &mut out)?;
            Ok(out.done())
        }
        Handler::PersistentReserveOut => {
            let plen = cdb::be32(cdb, 5);
            let x = data_out(buf.len(), u64::from(plen))?;
            hooks.persistent_reserve_out(ctx, cdb, &*buf)?;
            Ok(x)
        }
        Handler::Reserve | Handler::Release => {
            hooks.reserve_release(ctx, op, cdb)?;
            Ok(Xfer::NONE)
        }
    }
}

/// Checks that a data-out buffer of `have` bytes holds the `need` bytes a command
/// requires; returns the transfer. A short buffer (FCP_DL below the CDB's transfer length)
/// is refused rather than executed partially: writing part of what the CDB names and
/// answering GOOD would hide the initiator's error (LIO refuses too).
pub fn data_out(have: usize, need: u64) -> Result<Xfer, Fail> {
    match usize::try_from(need) {
        Ok(n) if n <= have => Ok(Xfer {
            wanted: need,
            moved: n,
        }),
        _ => Err(Fail::ShortDataOut { need }),
    }
}

/// Turns a handler's outcome into the command result for a buffer of `len` bytes
/// (residuals, sense, status).
pub fn finish(r: Result<Xfer, Fail>, len: usize) -> CmdResult {
    let underrun = |moved: usize| match len.saturating_sub(moved) {
        0 => Residual::None,
        n => Residual::Underrun(n),
    };
    match r {
        Ok(x) => {
            let moved = x.moved.min(len);
            let residual = match usize::try_from(x.wanted) {
                Ok(w) if w <= len => underrun(moved),
                Ok(w) => Residual::Overrun(w - len),
                Err(_) => Residual::Overrun(usize::MAX),
            };
            CmdResult {
                status: ScsiStatus::Good,
                sense: None,
                data_len: moved,
                residual,
            }
        }
        Err(Fail::Check(s)) => CmdResult {
            status: ScsiStatus::CheckCondition,
            sense: Some(s),
            data_len: 0,
            residual: underrun(0),
        },
        Err(Fail::ShortDataOut { need }) => CmdResult {
            status: ScsiStatus::CheckCondition,
            sense: Some(Sense::new(
                SenseKey::IllegalRequest,
                sense::INVALID_FIELD_IN_COMMAND_IU,
            )),
            data_len: 0,
            residual: Residual::Overrun(
                usize::try_from(need).map_or(usize::MAX, |n| n.saturating_sub(len)),
            ),
        },
        Err(Fail::Status(status)) => CmdResult {
            status,
            sense: None,
            data_len: 0,
            residual: underrun(0),
        },
    }
}

/// Executes a command addressed to a LUN with no logical unit behind it (not in the
/// nexus's map): INQUIRY answers peripheral qualifier 011b, REPORT LUNS and REQUEST SENSE
/// work, everything else gets LOGICAL UNIT NOT SUPPORTED (SPC-4 4.5.6 / SAM-5 5.8.4).
pub fn execute_no_lu<D: DataBuffer + ?Sized>(
    ctx: &CmdContext<'_>,
    cdb: &[u8],
    buf: &mut D,
) -> CmdResult {
    let len = buf.len();
    let r = (|| {
        let op = cdb::lookup(cdb)?;
        match op.handler {
            Handler::Inquiry | Handler::ReportLuns | Handler::RequestSense => {
                cdb::validate(op, cdb)?
            }
            _ => {
                return Err(Fail::Check(Sense::new(
                    SenseKey::IllegalRequest,
                    Asc::LU_NOT_SUPPORTED,
                )))
            }
        }
        match op.handler {
            Handler::Inquiry => spc::inquiry_no_lu(cdb, buf),
            Handler::ReportLuns => spc::report_luns(ctx, cdb, buf),
            _ => {
                let pending = ctx.pending_sense.or(Some(Sense::new(
                    SenseKey::IllegalRequest,
                    Asc::LU_NOT_SUPPORTED,
                )));
                spc::request_sense(
                    None,
                    &CmdContext {
                        pending_sense: pending,
                        ..*ctx
                    },
                    cdb,
                    buf,
                )
            }
        }
    })();
    finish(r, len)
}
