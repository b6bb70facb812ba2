//! The driver's port logic between the firmware model and the real target core: logins
//! acked (or held) by the identity rule, commands from ATIO to CTIO7 with real data, ABTS,
//! TMFs, and the NPIV slot-reuse scenarios at this layer (the seed cases of the product).

mod common;
#[path = "../../../../scst_core/tests/target_fixture/mod.rs"]
mod target_fixture;

use common::*;
use qla2x00t_proto::iocb::*;
use qla2x00t_proto::notify::els;
use qla2x00t_proto::port::*;
use qla2x00t_proto::regs::*;
use qla2x00t_proto::ring::*;
use scst_core::acl::GroupId;
use scst_core::target::{Command, Submitted};
use scst_core::tmf::TmfFunction;
use scst_core::types::{DataDirection, DeviceId, Handle, Lun, PortId, ScsiStatus, Wwpn};
use target_fixture::*;

const A: Wwpn = Wwpn(0x2100_0024_ffaa_0001);
const B: Wwpn = Wwpn(0x2100_0024_ffbb_0002);
const C: Wwpn = Wwpn(0x2100_0024_ffcc_0003);
const SLOT: PortId = PortId::new(0x0a0201);
const OTHER: PortId = PortId::new(0x0a0301);
const CHUNK: usize = 0x2000;
const SEG: usize = 512;

struct Q<'a> {
    req: &'a mut Producer,
    mem: &'a mut [u8],
}

impl RequestQueue for Q<'_> {
    fn post(&mut self, count: u16, entries: &mut dyn Iterator<Item = Entry>) -> bool {
        self.req.push_all(self.mem, entries, count).is_ok()
    }
}

/// A command the stand-in driver has received and not finished.
#[derive(Clone, Copy)]
struct Cmd {
    x: Exchange,
    atio: Atio7,
    buf: usize,
}

/// The stand-in kernel driver: firmware model + port logic + the real core.
struct Drv {
    h: Hba,
    port: Box<Port<SESSIONS, 8>>,
    fx: Fx,
    /// NPIV: the target (engine) of vp 1, when it has its own.
    fx1: Option<Fx>,
    cmds: Vec<Cmd>,
    /// Commands received while `hold` is set wait here until `release`.
    hold: bool,
    finished: Vec<(u32, bool)>,
    next_chunk: usize,
}

fn segs(off: usize, len: usize) -> std::vec::IntoIter<(u64, u32)> {
    let mut v = Vec::new();
    let mut done = 0;
    while done < len {
        let n = SEG.min(len - done);
        v.push((dma(DATA + off + done), n as u32));
        done += n;
    }
    v.into_iter()
}

impl Drv {
    /// Two RAM disks: A sees DEV0 as LUN 0, B sees DEV1 as LUN 0, C sees nothing.
    fn new() -> Drv {
        let mut h = Hba::new();
        h.bring_up();
        let mut port = Box::new(Port::new(0));
        port.set_vp(0, Some(h.fw.vp_port_id(0)));
        let mut fx = Fx::new(2, |_| {});
        fx.t.update_acl(&*fx.store, |acl| {
            let ga: GroupId = acl.add_group(b"a").unwrap();
            acl.add_initiator(ga, A).unwrap();
            acl.map_lun(ga, 0, DeviceId(0), false).unwrap();
            let gb = acl.add_group(b"b").unwrap();
            acl.add_initiator(gb, B).unwrap();
            acl.map_lun(gb, 0, DeviceId(1), false).unwrap();
        });
        Drv {
            h,
            port,
            fx,
            fx1: None,
            cmds: Vec::new(),
            hold: false,
            finished: Vec::new(),
            next_chunk: 0,
        }
    }

    /// Runs `f` with the port, its core and the request queue, then rings the doorbell.
    fn with<R>(
        &mut self,
        f: impl FnOnce(&mut Port<SESSIONS, 8>, &mut dyn SessionCore, &mut Q<'_>) -> R,
    ) -> R {
        let r = {
            let mut core = TargetCore {
                target: &mut *self.fx.t,
                store: &*self.fx.store,
                tasks: &mut self.fx.ev,
            };
            let mut q = Q {
                req: &mut self.h.req,
                mem: &mut self.h.mem.0[REQ..REQ + 1024],
            };
            match &mut self.fx1 {
                Some(fx1) => {
                    let mut core1 = TargetCore {
                        target: &mut *fx1.t,
                        store: &*fx1.store,
                        tasks: &mut fx1.ev,
                    };
                    let mut m = Multi {
                        cores: [&mut core, &mut core1],
                    };
                    f(&mut self.port, &mut m, &mut q)
                }
                None => f(&mut self.port, &mut core, &mut q),
            }
        };
        let in_idx = u32::from(self.h.req.in_idx());
        self.h.reg_write(Reg::ReqQIn, in_idx);
        let out = self.h.fw.read_reg(Reg::ReqQOut.offset()) as u16;
        self.h.req.set_consumer(out);
        r
    }

    /// Handles everything on the ATIO and response queues until both stay empty.
    fn pump(&mut self) {
        loop {
            let mut got = self.h.poll_ok(true);
            got.extend(self.h.poll_ok(false));
            self.h.ack_irq();
            if got.is_empty() {
                return;
            }
            for e in got {
                self.entry(e);
            }
        }
    }

    fn entry(&mut self, e: FwEntry) {
        match e {
            FwEntry::ImmNotify(n) => self.with(|p, c, q| p.notify(c, &n, q)),
            FwEntry::Atio7(a) => match self.with(|p, c, q| p.atio(c, &a, q)) {
                AtioAction::Execute(x) => {
                    let buf = self.next_chunk;
                    self.next_chunk = (self.next_chunk + CHUNK) % 0x10000;
                    let cmd = Cmd { x, atio: a, buf };
                    if self.hold {
                        self.cmds.push(cmd);
                    } else {
                        self.start(cmd);
                    }
                }
                AtioAction::Tmf(x, f) => {
                    let o = self.fx.t.task_management(
                        &*self.fx.store,
                        x.port,
                        x.s_id,
                        x.lun,
                        f,
                        &mut self.fx.ev,
                    );
                    self.with(|p, _, q| p.tmf_response(x.id, o.response.fcp_rsp_code(), q))
                        .unwrap();
                }
                AtioAction::Handled => {}
            },
            FwEntry::CtioDone(st) => match self.with(|p, c, q| {
                let done = p.ctio_done(&st, q);
                if p.core_work_pending() {
                    p.run_core_work(c, q);
                }
                done
            }) {
                CtioDone::DataOutReady(x) => {
                    let cmd = *self.cmds.iter().find(|c| c.x.id == x.id).unwrap();
                    self.run(cmd);
                }
                CtioDone::DataOutFailed(x) => {
                    self.cmds.retain(|c| c.x.id != x.id);
                    self.finished.push((x.exchange_addr, false));
                }
                CtioDone::Finished { x, ok } => {
                    self.cmds.retain(|c| c.x.id != x.id);
                    self.finished.push((x.exchange_addr, ok));
                }
                CtioDone::Ignored => {}
            },
            FwEntry::AbtsRecv(a) => match self.with(|p, _, q| p.abts(&a, q)) {
                AbtsAction::Abort(x) => {
                    self.fx.t.task_management(
                        &*self.fx.store,
                        x.port,
                        x.s_id,
                        x.lun,
                        TmfFunction::AbortTask {
                            tag: u64::from(x.exchange_addr),
                        },
                        &mut self.fx.ev,
                    );
                    self.with(|p, _, q| p.abts_respond(&a, true, q));
                }
                AbtsAction::Handled => {}
            },
            FwEntry::NotifyAckDone(_) | FwEntry::AbtsRespDone(_) => {}
            FwEntry::Rida(r) => self.port.set_vp(r.vp_idx, Some(r.port_id)),
            other => panic!("unexpected entry {other:?}"),
        }
    }

    fn start(&mut self, cmd: Cmd) {
        if !self.cmds.iter().any(|c| c.x.id == cmd.x.id) {
            self.cmds.push(cmd);
        }
        if cmd.x.direction == DataDirection::ToDevice && cmd.x.data_length > 0 {
            let len = cmd.x.data_length as usize;
            // A dead exchange (its session went) is terminated instead: `Stale`.
            let r = self.with(|p, _, q| p.data_out(cmd.x.id, segs(cmd.buf, len), q));
            assert!(matches!(r, Ok(()) | Err(ExchangeError::Stale)), "{r:?}");
        } else {
            self.run(cmd);
        }
    }

    /// Runs a command in the core against the session it arrived on and replies.
    fn run(&mut self, cmd: Cmd) {
        // As the driver does: an exchange aborted (ABTS) before it ran is terminated, and
        // the command never reaches the core.
        if !self.port.is_live(cmd.x.id) {
            let r = self.with(|p, _, q| p.terminate(cmd.x.id, q));
            assert!(matches!(r, Ok(()) | Err(ExchangeError::Stale)), "{r:?}");
            return;
        }
        let len = cmd.x.data_length as usize;
        let off = DATA + cmd.buf;
        let mut buf = self.h.mem.0[off..off + len].to_vec();
        let c = Command {
            port: cmd.x.port,
            s_id: cmd.x.s_id,
            lun: cmd.x.lun,
            cdb: cmd.atio.cmnd.cdb.as_slice(),
            attr: cmd.x.task_attr,
            tag: u64::from(cmd.x.exchange_addr),
            session: Some(cmd.x.session),
        };
        let fx = match (&mut self.fx1, cmd.x.port.vp_index) {
            (Some(fx1), 1) => fx1,
            _ => &mut self.fx,
        };
        let r = match fx.t.execute(&*fx.store, &c, &mut buf[..], &mut fx.ev) {
            Submitted::Done(r) => r,
            other => panic!("not finished: {other:?}"),
        };
        self.h.mem.0[off..off + len].copy_from_slice(&buf);
        let mut sense = [0u8; 32];
        let n = r.write_sense(false, &mut sense);
        let data = if cmd.x.direction == DataDirection::FromDevice {
            r.data_len
        } else {
            0
        };
        let reply = Reply {
            status: r.status as u8,
            sense: &sense[..n],
            residual: r.residual,
        };
        let sent = self.with(|p, _, q| p.respond(cmd.x.id, &reply, segs(cmd.buf, data), q));
        assert!(
            matches!(sent, Ok(()) | Err(ExchangeError::Stale)),
            "{sent:?}"
        );
    }

    /// Starts every held command.
    fn release(&mut self) {
        self.hold = false;
        for cmd in self.cmds.clone() {
            self.start(cmd);
        }
        self.pump();
    }

    fn els_replies(&self, s_id: PortId, opcode: u8) -> Vec<bool> {
        self.h
            .wire
            .els
            .iter()
            .filter(|e| e.1 == s_id && e.2 == opcode)
            .map(|e| e.3)
            .collect()
    }

    /// PLOGI + PRLI from `wwpn` at `s_id`, handled by the port logic. Returns whether both
    /// were accepted.
    fn login(&mut self, wwpn: Wwpn, s_id: PortId) -> bool {
        let node = Wwpn(wwpn.0 ^ 0x0100_0000_0000_0000);
        self.h
            .fw
            .plogi(&mut self.h.mem, 0, wwpn, node, s_id)
            .unwrap();
        self.pump();
        if self.els_replies(s_id, els::PLOGI).last() != Some(&true) {
            return false;
        }
        self.h.wire.els.clear();
        self.h.fw.prli(&mut self.h.mem, 0, s_id, 0x90).unwrap();
        self.pump();
        let ok = self.els_replies(s_id, els::PRLI).last() == Some(&true);
        self.h.wire.els.clear();
        ok
    }

    /// Sends one command from `s_id`; returns its exchange address.
    fn send(&mut self, s_id: PortId, ox_id: u16, cdb: &[u8], dl: u32, dir: DataDirection) -> u32 {
        let x = self
            .h
            .fw
            .fcp_cmnd(
                &mut self.h.mem,
                0,
                s_id,
                ox_id,
                Lun::from_index(0),
                cdb,
                dl,
                dir,
            )
            .unwrap();
        self.pump();
        x
    }

    fn status_of(&self, exchange: u32) -> Option<u8> {
        self.h
            .wire
            .rsps
            .iter()
            .find(|r| r.0 == exchange)
            .map(|r| (r.1.scsi_status & 0xff) as u8)
    }

    fn data_of(&self, exchange: u32) -> Vec<u8> {
        let mut v: Vec<_> = self
            .h
            .wire
            .data_in
            .iter()
            .filter(|d| d.0 == exchange)
            .collect();
        v.sort_by_key(|d| d.1);
        v.into_iter().flat_map(|d| d.2.clone()).collect()
    }

    /// READ(10) of `blocks` blocks at LBA 0 until a unit attention no longer answers it;
    /// returns the data and the final status.
    fn read(&mut self, s_id: PortId, blocks: u16) -> (u8, Vec<u8>) {
        for ox in 0..8u16 {
            let x = self.send(
                s_id,
                0x100 + ox,
                &read10(0, blocks),
                u32::from(blocks) * BS as u32,
                DataDirection::FromDevice,
            );
            let st = self.status_of(x).expect("status sent");
            if st != ScsiStatus::CheckCondition as u8 {
                return (st, self.data_of(x));
            }
        }
        panic!("unit attentions do not stop");
    }

    fn write(&mut self, s_id: PortId, blocks: u16, byte: u8) -> u8 {
        let len = usize::from(blocks) * BS;
        self.h.wire.write_payload = vec![byte; len];
        for ox in 0..8u16 {
            let x = self.send(
                s_id,
                0x200 + ox,
                &write10(0, blocks),
                len as u32,
                DataDirection::ToDevice,
            );
            let st = self.status_of(x).expect("status sent");
            if st != ScsiStatus::CheckCondition as u8 {
                return st;
            }
        }
        panic!("unit attentions do not stop");
    }
}

#[test]
fn login_write_read_with_continuations() {
    let mut d = Drv::new();
    assert!(d.login(A, SLOT));
    assert_eq!(d.port.stats().logins_acked, 2);
    // 8 blocks = 8 segments of 512 bytes: CTIO7 + 2 continuations each way.
    assert_eq!(d.write(SLOT, 8, 0x5a), ScsiStatus::Good as u8);
    let (st, data) = d.read(SLOT, 8);
    assert_eq!(st, ScsiStatus::Good as u8);
    assert_eq!(data, vec![0x5a; 8 * BS]);
    assert_eq!(d.port.open_exchanges(), 0);
    assert!(d.finished.iter().all(|f| f.1));
    assert_eq!(d.port.stats().ctio_errors, 0);
}

#[test]
fn command_without_an_active_session_is_answered_busy() {
    let mut d = Drv::new();
    let node = Wwpn(A.0 ^ 1);
    // PLOGI acked, PRLI never sent: the model has no active login, so forge the ATIO.
    d.h.fw.plogi(&mut d.h.mem, 0, A, node, SLOT).unwrap();
    d.pump();
    let atio = Atio7 {
        fcp_cmnd_len: 0,
        attr: 0,
        exchange_addr: 0x77,
        fc: FcHeader {
            d_id: d.h.fw.vp_port_id(0),
            s_id: SLOT,
            ox_id: 9,
            ..FcHeader::default()
        },
        cmnd: FcpCmnd {
            lun: Lun::from_index(0),
            cmnd_ref: 0,
            task_byte: 0,
            tmf: 0,
            wrdata: false,
            rddata: true,
            cdb: Cdb::new(&read10(0, 1)).unwrap(),
            data_length: 512,
        },
    };
    let mut posted = Vec::new();
    struct Rec<'a>(&'a mut Vec<Entry>);
    impl RequestQueue for Rec<'_> {
        fn post(&mut self, _n: u16, e: &mut dyn Iterator<Item = Entry>) -> bool {
            self.0.extend(e);
            true
        }
    }
    let core = TargetCore {
        target: &mut *d.fx.t,
        store: &*d.fx.store,
        tasks: &mut d.fx.ev,
    };
    let act = d.port.atio(&core, &atio, &mut Rec(&mut posted));
    assert_eq!(act, AtioAction::Handled);
    assert_eq!(posted.len(), 1);
    let c = Ctio7::decode(&posted[0]).unwrap();
    assert_eq!(c.scsi_status & 0xff, 0x08, "BUSY");
    assert_eq!(c.nport_handle, Handle(CTIO7_NHANDLE_UNRECOGNIZED));
    assert_eq!(c.exchange_addr, 0x77);
    assert_eq!(d.port.stats().no_session, 1);
    assert_eq!(d.port.open_exchanges(), 0);
    // A D_ID that is no vp of this HBA is terminated, not executed.
    let mut stray = atio;
    stray.fc.d_id = PortId::new(0x0a9999);
    posted.clear();
    assert_eq!(
        d.port.atio(&core, &stray, &mut Rec(&mut posted)),
        AtioAction::Handled
    );
    let c = Ctio7::decode(&posted[0]).unwrap();
    assert_ne!(c.flags & ctio_flags::TERMINATE, 0);
    assert_eq!(d.port.stats().unknown_d_id, 1);
}

/// Seed case 1 at the driver layer: A writes its disk and goes; B arrives on A's N_Port ID
/// and handle; B sees only B's disk.
#[test]
fn seed1_new_wwpn_on_reused_slot_sees_only_its_own_lun() {
    let mut d = Drv::new();
    assert!(d.login(A, SLOT));
    let handle_a = d.h.fw.handle_of(0, SLOT).unwrap();
    assert_eq!(d.write(SLOT, 4, 0xa1), ScsiStatus::Good as u8);
    d.h.fw.logo(&mut d.h.mem, 0, SLOT).unwrap();
    d.pump();
    assert!(d.login(B, SLOT));
    assert_eq!(d.h.fw.handle_of(0, SLOT), Some(handle_a), "slot reused");
    let (st, data) = d.read(SLOT, 4);
    assert_eq!(st, ScsiStatus::Good as u8);
    assert_eq!(data, vec![0xd1; 4 * BS], "B reads DEV1, never A's pattern");
    // A's data is intact on DEV0 for A's return.
    d.h.fw.logo(&mut d.h.mem, 0, SLOT).unwrap();
    d.pump();
    assert!(d.login(A, OTHER));
    assert_eq!(d.read(OTHER, 4).1, vec![0xa1; 4 * BS]);
}

/// The slot is taken over while A still has a command in the driver: B's PLOGI ack waits
/// until A's exchange is gone; A's command never gets status, and never runs on B's map.
#[test]
fn login_ack_held_until_the_old_sessions_exchanges_are_gone() {
    let mut d = Drv::new();
    assert!(d.login(A, SLOT));
    assert_eq!(d.write(SLOT, 1, 0xa1), ScsiStatus::Good as u8);
    d.hold = true;
    let xa = d.send(
        SLOT,
        0x300,
        &write10(1, 1),
        BS as u32,
        DataDirection::ToDevice,
    );
    assert_eq!(d.port.open_exchanges(), 1);
    // B on A's N_Port ID: A is torn down, B's PLOGI ack is held.
    d.h.fw
        .plogi(&mut d.h.mem, 0, B, Wwpn(B.0 ^ 1), SLOT)
        .unwrap();
    d.pump();
    assert!(d.els_replies(SLOT, els::PLOGI).is_empty(), "ack held");
    assert_eq!(d.port.held_logins(), 1);
    assert_eq!(d.port.sessions_tearing_down(), 1);
    // The driver finishes A's command: it is terminated, the ack goes out.
    d.h.wire.write_payload = vec![0xee; BS];
    d.release();
    assert_eq!(d.els_replies(SLOT, els::PLOGI), vec![true]);
    assert_eq!(d.status_of(xa), None, "no status for the dead exchange");
    assert_eq!(d.port.open_exchanges(), 0);
    assert_eq!(d.port.held_logins(), 0);
    assert!(d.port.stats().terminated >= 1);
    d.h.wire.els.clear();
    d.h.fw.prli(&mut d.h.mem, 0, SLOT, 0x90).unwrap();
    d.pump();
    assert_eq!(d.els_replies(SLOT, els::PRLI), vec![true]);
    // Neither disk got the 0xee payload; B sees DEV1.
    assert_eq!(d.read(SLOT, 2).1, vec![0xd1; 2 * BS]);
    d.h.fw.logo(&mut d.h.mem, 0, SLOT).unwrap();
    d.pump();
    assert!(d.login(A, OTHER));
    let (_, a) = d.read(OTHER, 2);
    assert_eq!(&a[..BS], &vec![0xa1; BS][..]);
    assert_eq!(&a[BS..], &vec![0xd0; BS][..], "A's held write never landed");
}

#[test]
fn abts_aborts_the_task_and_is_accepted() {
    let mut d = Drv::new();
    assert!(d.login(A, SLOT));
    d.read(SLOT, 1);
    d.hold = true;
    let x = d.send(
        SLOT,
        0x400,
        &read10(0, 1),
        BS as u32,
        DataDirection::FromDevice,
    );
    d.h.fw.abts(&mut d.h.mem, 0, SLOT, 0x400).unwrap();
    d.pump();
    // The driver still holds the command: no BA_ACC until it has finished with it.
    assert!(d.h.wire.abts.is_empty(), "{:?}", d.h.wire.abts);
    assert_eq!(d.port.stats().abts, 1);
    assert_eq!(d.port.stats().abts_deferred, 1);
    d.release();
    assert_eq!(d.h.wire.abts.last(), Some(&(SLOT, 0x400, true)));
    assert_eq!(d.status_of(x), None);
    assert!(d.data_of(x).is_empty());
    assert_eq!(d.port.open_exchanges(), 0);
    // ABTS for an exchange the target no longer has: accepted, nothing else.
    d.h.fw.abts(&mut d.h.mem, 0, SLOT, 0x999).unwrap();
    d.pump();
    assert_eq!(d.h.wire.abts.last(), Some(&(SLOT, 0x999, false)));
}

/// An ABTS for a WRITE the driver has not run yet: the write never lands, and the BA_ACC
/// goes out only after the driver has terminated the exchange (never while the command
/// could still touch the medium: a retried newer write could otherwise be overwritten).
#[test]
fn abts_on_a_write_the_driver_holds_never_lands_and_is_answered_after() {
    let mut d = Drv::new();
    assert!(d.login(A, SLOT));
    assert_eq!(d.write(SLOT, 1, 0xa1), ScsiStatus::Good as u8);
    d.hold = true;
    let x = d.send(
        SLOT,
        0x410,
        &write10(0, 1),
        BS as u32,
        DataDirection::ToDevice,
    );
    d.h.fw.abts(&mut d.h.mem, 0, SLOT, 0x410).unwrap();
    d.pump();
    assert!(d.h.wire.abts.is_empty(), "BA_ACC before the driver let go");
    assert_eq!(d.port.stats().abts_deferred, 1);
    d.h.wire.write_payload = vec![0xee; BS];
    d.release();
    assert_eq!(d.h.wire.abts, vec![(SLOT, 0x410, true)]);
    assert_eq!(d.status_of(x), None, "no status for the aborted exchange");
    assert_eq!(d.port.open_exchanges(), 0);
    assert_eq!(
        d.read(SLOT, 1).1,
        vec![0xa1; BS],
        "the aborted write never landed"
    );
    // An ABTS for an exchange already with the firmware is answered at once.
    let before = d.port.stats().abts_deferred;
    d.h.fw.abts(&mut d.h.mem, 0, SLOT, 0x777).unwrap();
    d.pump();
    assert_eq!(d.h.wire.abts.last(), Some(&(SLOT, 0x777, false)));
    assert_eq!(d.port.stats().abts_deferred, before);
}

#[test]
fn link_down_ends_every_session_and_commands_are_refused_until_relogin() {
    let mut d = Drv::new();
    assert!(d.login(A, SLOT));
    assert!(d.login(B, OTHER));
    d.with(|p, c, q| p.async_event(c, qla2x00t_proto::notify::AsyncEvent::LinkDown, q));
    assert_eq!(d.port.stats().teardowns, 2);
    assert_eq!(d.fx.t.sessions().iter().count(), 0);
    assert_eq!(d.port.sessions_tearing_down(), 0);
}

/// Random logins, logouts, slot takeovers and I/O from three initiators over two N_Port
/// IDs: every read returns the pattern last written by the *same WWPN* to *its* disk.
#[test]
fn churn_never_crosses_initiators() {
    let mut d = Drv::new();
    // C gets its own disk too.
    d.fx.t.update_acl(&*d.fx.store, |acl| {
        let g = acl.add_group(b"c").unwrap();
        acl.add_initiator(g, C).unwrap();
        acl.map_lun(g, 0, DeviceId(1), false).unwrap();
    });
    let who = [A, B, C];
    let disk = |w: Wwpn| if w == A { 0 } else { 1 };
    let mut last = [0xd0u8, 0xd1];
    let mut at: [Option<Wwpn>; 2] = [None, None];
    let slots = [SLOT, OTHER];
    let mut seed = 0x1234_5678u32;
    let mut rnd = |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed % n
    };
    let mut ios = 0;
    for step in 0..300 {
        let s = rnd(2) as usize;
        match (rnd(4), at[s]) {
            (0, _) => {
                // Someone (maybe another WWPN) logs in on slot s, taking it over.
                // The same WWPN showing up on the other slot is a migration.
                let w = who[rnd(3) as usize];
                assert!(d.login(w, slots[s]), "step {step}");
                for x in at.iter_mut() {
                    if *x == Some(w) {
                        *x = None;
                    }
                }
                at[s] = Some(w);
            }
            (1, Some(_)) => {
                d.h.fw.logo(&mut d.h.mem, 0, slots[s]).unwrap();
                d.pump();
                at[s] = None;
            }
            (_, Some(w)) => {
                let dk = disk(w);
                if rnd(2) == 0 {
                    let b = (step as u8) | 1;
                    assert_eq!(d.write(slots[s], 2, b), ScsiStatus::Good as u8);
                    last[dk] = b;
                } else {
                    let (st, data) = d.read(slots[s], 2);
                    assert_eq!(st, ScsiStatus::Good as u8);
                    assert_eq!(data, vec![last[dk]; 2 * BS], "step {step}: {w:?}");
                }
                ios += 1;
            }
            (_, None) => {}
        }
        assert_eq!(d.port.open_exchanges(), 0);
    }
    assert!(ios > 50, "{ios}");
    assert_eq!(d.port.lost_events(), 0);
}

/// One engine per virtual port (NPIV: each vp is its own configfs target).
struct Multi<'a> {
    cores: [&'a mut dyn SessionCore; 2],
}

impl Multi<'_> {
    fn core(&mut self, vp: u16) -> &mut dyn SessionCore {
        let i = usize::from(vp).min(1);
        &mut *self.cores[i]
    }
}

impl SessionLookup for Multi<'_> {
    fn lookup(
        &self,
        port: scst_core::types::LocalPort,
        s_id: PortId,
    ) -> Option<(scst_core::identity::SessionRef, Handle)> {
        self.cores
            .get(usize::from(port.vp_index))?
            .lookup(port, s_id)
    }
}

impl SessionCore for Multi<'_> {
    fn plogi(
        &mut self,
        n: scst_core::identity::Nexus,
        sink: &mut dyn SessionSink,
    ) -> Result<scst_core::identity::Login, scst_core::target::LoginRefused> {
        self.core(n.port.vp_index).plogi(n, sink)
    }
    fn prli(
        &mut self,
        n: scst_core::identity::Nexus,
        sink: &mut dyn SessionSink,
    ) -> Result<scst_core::identity::Login, scst_core::target::LoginRefused> {
        self.core(n.port.vp_index).prli(n, sink)
    }
    fn activate(
        &mut self,
        vp: u8,
        r: scst_core::identity::SessionRef,
    ) -> Result<(), scst_core::identity::ActivateError> {
        self.core(u16::from(vp)).activate(vp, r)
    }
    fn teardown_done(
        &mut self,
        vp: u8,
        r: scst_core::identity::SessionRef,
        sink: &mut dyn SessionSink,
    ) -> Result<(), scst_core::identity::TeardownDoneError> {
        self.core(u16::from(vp)).teardown_done(vp, r, sink)
    }
    fn logout(
        &mut self,
        port: scst_core::types::LocalPort,
        port_id: PortId,
        wwpn: Option<Wwpn>,
        sink: &mut dyn SessionSink,
    ) -> usize {
        self.core(port.vp_index).logout(port, port_id, wwpn, sink)
    }
    fn logout_handle(
        &mut self,
        port: scst_core::types::LocalPort,
        handle: Handle,
        sink: &mut dyn SessionSink,
    ) -> usize {
        self.core(port.vp_index).logout_handle(port, handle, sink)
    }
    fn hba_down(&mut self, target: u16, sink: &mut dyn SessionSink) -> usize {
        self.cores
            .iter_mut()
            .map(|c| c.hba_down(target, sink))
            .sum()
    }
    fn port_down(
        &mut self,
        port: scst_core::types::LocalPort,
        sink: &mut dyn SessionSink,
    ) -> usize {
        self.core(port.vp_index).port_down(port, sink)
    }
}

/// NPIV: vp 1 has its own target. A's sessions on vp 0 and vp 1 carry equal session
/// references (each is the first of its engine); a slot takeover on vp 0 must neither hold
/// up nor kill vp 1's exchange, and each vp serves its own target's disk.
#[test]
fn npiv_vps_with_their_own_targets_keep_apart() {
    let mut d = Drv::new();
    let mut fx1 = Fx::new(2, |_| {});
    fx1.t.update_acl(&*fx1.store, |acl| {
        let g = acl.add_group(b"a1").unwrap();
        acl.add_initiator(g, A).unwrap();
        acl.map_lun(g, 0, DeviceId(1), false).unwrap();
    });
    d.fx1 = Some(fx1);
    // Enable vp 1 (VP CONFIG through the mailbox IOCB); its Report ID routes it.
    let cfg = VpConfig24 {
        handle: 1,
        command: VCT_COMMAND_MOD_ENABLE_VPS,
        vp_count: 1,
        vp_index1: 1,
        options_idx1: VP_OPT_ENABLE,
        port_name_idx1: Wwpn(0x2100_0024_ff00_0101),
        node_name_idx1: Wwpn(0x2000_0024_ff00_0101),
        ..Default::default()
    };
    d.h.mem.0[SCRATCH..SCRATCH + 64].copy_from_slice(&cfg.encode());
    d.h.mbx(qla2x00t_proto::mailbox::MailboxCmd::iocb_command_a64(dma(
        SCRATCH,
    )));
    d.pump();
    // A on vp 0 and on vp 1, same N_Port ID.
    assert!(d.login(A, SLOT));
    let node = Wwpn(A.0 ^ 1);
    d.h.fw.plogi(&mut d.h.mem, 1, A, node, SLOT).unwrap();
    d.pump();
    d.h.fw.prli(&mut d.h.mem, 1, SLOT, 0x90).unwrap();
    d.pump();
    let s0 = d.fx.t.sessions().lookup_sid(P0, SLOT).unwrap();
    let s1 = d
        .fx1
        .as_ref()
        .unwrap()
        .t
        .sessions()
        .lookup_sid(P1, SLOT)
        .unwrap();
    assert_eq!(s0, s1, "equal references in the two engines");
    // vp 1 reads its own target's disk (DEV1 = 0xd1) until the UA is gone.
    let read_vp1 = |d: &mut Drv, ox: u16| {
        let x =
            d.h.fw
                .fcp_cmnd(
                    &mut d.h.mem,
                    1,
                    SLOT,
                    ox,
                    Lun::from_index(0),
                    &read10(0, 1),
                    BS as u32,
                    DataDirection::FromDevice,
                )
                .unwrap();
        d.pump();
        x
    };
    let mut x = read_vp1(&mut d, 0x500);
    for ox in 0x501..0x508 {
        if d.status_of(x) == Some(ScsiStatus::Good as u8) {
            break;
        }
        x = read_vp1(&mut d, ox);
    }
    assert_eq!(d.data_of(x), vec![0xd1; BS]);
    assert_eq!(d.fx.t.sessions().len(), 1);
    // Hold one command on each vp, then B takes A's slot on vp 0 only.
    d.hold = true;
    let x0 = d.send(
        SLOT,
        0x600,
        &read10(0, 1),
        BS as u32,
        DataDirection::FromDevice,
    );
    let x1 = read_vp1(&mut d, 0x601);
    assert_eq!(d.port.open_exchanges(), 2);
    d.h.fw
        .plogi(&mut d.h.mem, 0, B, Wwpn(B.0 ^ 1), SLOT)
        .unwrap();
    d.pump();
    assert_eq!(d.port.held_logins(), 1);
    d.release();
    assert_eq!(d.status_of(x0), None, "vp 0's old session: terminated");
    assert_eq!(
        d.status_of(x1),
        Some(ScsiStatus::Good as u8),
        "vp 1 unaffected"
    );
    assert_eq!(d.data_of(x1), vec![0xd1; BS]);
    assert_eq!(
        d.h.wire
            .els
            .iter()
            .filter(|e| e.0 == 0 && e.1 == SLOT && e.2 == els::PLOGI && e.3)
            .count(),
        1,
        "B's PLOGI acked once its slot was free"
    );
    assert_eq!(d.port.open_exchanges(), 0);
}
