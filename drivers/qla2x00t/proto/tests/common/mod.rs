//! Host test harness shared by the driver-side tests: host memory, a wire recorder and
//! a stand-in HBA (rings, mailboxes, bring-up) around the firmware model.
#![allow(dead_code)]

use qla2x00t_proto::fwmodel::*;
use qla2x00t_proto::iocb::*;
use qla2x00t_proto::mailbox::*;
use qla2x00t_proto::notify::{els, AsyncEvent, NotifyEvent};
use qla2x00t_proto::regs::*;
use qla2x00t_proto::ring::*;
use scst_core::types::{DataDirection, Handle, Lun, PortId, Wwpn};

pub const BASE: u64 = 0x1_0000_0000;
pub const FW_IMAGE: usize = 0x0000;
pub const ICB: usize = 0x1000;
pub const REQ: usize = 0x2000;
pub const RSP: usize = 0x3000;
pub const ATIO: usize = 0x4000;
pub const SCRATCH: usize = 0x5000;
pub const PDB: usize = 0x6000;
pub const DATA: usize = 0x10000;
pub const RING_LEN: u16 = 16;

pub struct Mem(pub Vec<u8>);

impl HostMemory for Mem {
    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        let Some(off) = addr.checked_sub(BASE).map(|o| o as usize) else {
            return false;
        };
        match self.0.get(off..off + out.len()) {
            Some(s) => {
                out.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
    fn write(&mut self, addr: u64, data: &[u8]) -> bool {
        let Some(off) = addr.checked_sub(BASE).map(|o| o as usize) else {
            return false;
        };
        match self.0.get_mut(off..off + data.len()) {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

#[derive(Default)]
pub struct TestWire {
    pub data_in: Vec<(u32, u32, Vec<u8>)>,
    pub write_payload: Vec<u8>,
    pub rsps: Vec<(u32, FcpRsp)>,
    pub els: Vec<(u8, PortId, u8, bool)>,
    pub abts: Vec<(PortId, u16, bool)>,
}

impl Wire for TestWire {
    fn data_in(&mut self, x: &ExchangeInfo, rel_off: u32, data: &[u8]) {
        self.data_in.push((x.exchange_addr, rel_off, data.to_vec()));
    }
    fn data_out(&mut self, _x: &ExchangeInfo, rel_off: u32, buf: &mut [u8]) {
        let o = rel_off as usize;
        buf.copy_from_slice(&self.write_payload[o..o + buf.len()]);
    }
    fn fcp_rsp(&mut self, x: &ExchangeInfo, rsp: &FcpRsp) {
        self.rsps.push((x.exchange_addr, *rsp));
    }
    fn els_reply(&mut self, vp: u8, s_id: PortId, opcode: u8, accepted: bool) {
        self.els.push((vp, s_id, opcode, accepted));
    }
    fn abts_reply(&mut self, s_id: PortId, ox_id: u16, accepted: bool) {
        self.abts.push((s_id, ox_id, accepted));
    }
}

pub type Model = FwModel<8, 16, 4>;

/// Stand-in for the kernel driver: owns host memory and the driver side of the rings.
pub struct Hba {
    pub fw: Box<Model>,
    pub mem: Mem,
    pub wire: TestWire,
    pub req: Producer,
    pub atio: SigConsumer,
    pub rsp: SigConsumer,
}

pub const CFG: FwConfig = FwConfig {
    base_port_id: PortId::new(0x0a0100),
    fw_version: [9, 10, 3],
    max_handle: 0x7ff,
    defer_doorbells: false,
};
pub const LOCAL_WWPN: Wwpn = Wwpn(0x2100_0024_ff00_0001);
pub const INI_A: Wwpn = Wwpn(0x2100_0024_ffaa_0001);
pub const INI_B: Wwpn = Wwpn(0x2100_0024_ffbb_0002);
pub const S_ID: PortId = PortId::new(0x0a0201);

pub fn dma(off: usize) -> u64 {
    BASE + off as u64
}

impl Hba {
    pub fn new() -> Hba {
        Self::with(CFG)
    }

    pub fn with(cfg: FwConfig) -> Hba {
        let ring = Ring::new(RING_LEN).unwrap();
        Hba {
            fw: Box::new(Model::new(cfg)),
            mem: Mem(vec![0; 0x20000]),
            wire: TestWire::default(),
            req: Producer::new(ring),
            atio: SigConsumer::new(ring),
            rsp: SigConsumer::new(ring),
        }
    }

    pub fn reg_write(&mut self, r: Reg, v: u32) {
        self.fw
            .write_reg(&mut self.mem, &mut self.wire, r.offset(), v);
    }

    pub fn host_status(&self) -> HostStatus {
        HostStatus(self.fw.read_reg(Reg::HostStatus.offset()))
    }

    pub fn ack_irq(&mut self) {
        self.reg_write(Reg::Hccr, HccrCmd::ClrRiscInt as u32);
    }

    /// Runs one mailbox command the way the driver does; returns all mailboxes.
    pub fn mbx(&mut self, c: MailboxCmd) -> [u16; 32] {
        for n in 0..MAILBOX_COUNT {
            if c.out_mask & (1 << n) != 0 {
                self.fw.write_mailbox(mailbox_offset(n).unwrap(), c.mb[n]);
            }
        }
        self.reg_write(Reg::Hccr, HccrCmd::SetHostInt as u32);
        let hs = self.host_status();
        assert!(hs.risc_int(), "mailbox completion raises an interrupt");
        assert!(hs.intr_type().unwrap().is_mailbox(), "{hs:?}");
        let mut mb = [0u16; 32];
        for (n, v) in mb.iter_mut().enumerate() {
            *v = self.fw.read_mailbox(mailbox_offset(n).unwrap());
        }
        assert_eq!(hs.mailbox0(), mb[0]);
        self.ack_irq();
        mb
    }

    pub fn submit(&mut self, entries: impl IntoIterator<Item = Entry>, count: u16) {
        self.req
            .push_all(&mut self.mem.0[REQ..REQ + 1024], entries, count)
            .unwrap();
        let in_idx = u32::from(self.req.in_idx());
        self.reg_write(Reg::ReqQIn, in_idx);
        let out = self.fw.read_reg(Reg::ReqQOut.offset()) as u16;
        self.req.set_consumer(out);
    }

    pub fn poll(&mut self, atio: bool) -> Vec<Result<FwEntry, DecodeError>> {
        let (c, off, reg) = if atio {
            (&mut self.atio, ATIO, Reg::AtioQOut)
        } else {
            (&mut self.rsp, RSP, Reg::RspQOut)
        };
        let mut got = Vec::new();
        let b = c
            .process(&mut self.mem.0[off..off + 1024], 64, |e| {
                got.push(
                    e.map_err(|_| DecodeError::BadEntryCount(0))
                        .and_then(FwEntry::decode),
                )
            })
            .unwrap();
        if let Some(out) = b.new_out {
            self.reg_write(reg, u32::from(out));
        }
        got
    }

    pub fn poll_ok(&mut self, atio: bool) -> Vec<FwEntry> {
        self.poll(atio).into_iter().map(|e| e.unwrap()).collect()
    }

    /// Reset, firmware load, init in target mode, link up.
    pub fn bring_up(&mut self) {
        self.reg_write(Reg::Ictrl, ICTRL_EN_RISC_INT);
        self.reg_write(Reg::Hccr, HccrCmd::SetRiscReset as u32);
        assert_eq!(
            self.fw.read_reg(Reg::Hccr.offset()) & HCCR_RISC_RESET,
            HCCR_RISC_RESET
        );
        assert_eq!(
            self.mbx(MailboxCmd::get_firmware_state())[0],
            mbs::COMMAND_ERROR
        );
        self.reg_write(Reg::Hccr, HccrCmd::ClrRiscReset as u32);
        assert_eq!(self.fw.risc_state(), RiscState::Rom);

        let image: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
        self.mem.0[FW_IMAGE..FW_IMAGE + 1024].copy_from_slice(&image);
        let sum = image.chunks(4).fold(0u32, |s, w| {
            s.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        });
        assert_eq!(
            self.mbx(MailboxCmd::execute_firmware(0x10_0000))[0],
            mbs::COMMAND_ERROR
        );
        assert_eq!(
            self.mbx(MailboxCmd::load_risc_ram_extended(
                0x10_0000,
                dma(FW_IMAGE),
                256
            ))[0],
            mbs::COMMAND_COMPLETE
        );
        let v = self.mbx(MailboxCmd::verify_checksum(0x10_0000));
        assert_eq!(v[0], mbs::COMMAND_COMPLETE);
        assert_eq!((u32::from(v[1]) << 16) | u32::from(v[2]), sum);
        assert_eq!(
            self.mbx(MailboxCmd::execute_firmware(0x10_0000))[0],
            mbs::COMMAND_COMPLETE
        );
        assert_eq!(
            self.mbx(MailboxCmd::get_firmware_version())[1..4],
            [9, 10, 3]
        );
        assert_eq!(
            self.mbx(MailboxCmd::get_firmware_state())[1],
            FwState::ConfigWait as u16
        );
        assert_eq!(
            self.mbx(MailboxCmd::set_firmware_options([0, 1 << 4, 0]))[0],
            mbs::COMMAND_COMPLETE
        );

        let ring = Ring::new(RING_LEN).unwrap();
        init_signatures(&ring, &mut self.mem.0[ATIO..ATIO + 1024]).unwrap();
        init_signatures(&ring, &mut self.mem.0[RSP..RSP + 1024]).unwrap();
        let icb = InitCb24 {
            version: 1,
            frame_payload_size: 2048,
            exchange_count: 0xffff,
            port_name: LOCAL_WWPN,
            node_name: Wwpn(0x2000_0024_ff00_0001),
            request_q_length: RING_LEN,
            response_q_length: RING_LEN,
            atio_q_length: RING_LEN,
            request_q_address: dma(REQ),
            response_q_address: dma(RSP),
            atio_q_address: dma(ATIO),
            firmware_options_1: fo1::ENABLE_TARGET_MODE | fo1::DISABLE_INITIATOR_MODE,
            firmware_options_2: fo2::TARGET_PRLI_CONTROL,
            ..Default::default()
        };
        self.mem.0[ICB..ICB + ICB_SIZE].copy_from_slice(&icb.encode());
        assert_eq!(
            self.mbx(MailboxCmd::initialize_firmware(dma(ICB), false))[0],
            mbs::COMMAND_COMPLETE
        );
        assert_eq!(
            self.mbx(MailboxCmd::get_firmware_state())[1],
            FwState::LossOfSync as u16
        );
        assert_eq!(
            self.mbx(MailboxCmd::get_adapter_id(0))[0],
            mbs::COMMAND_ERROR
        );

        self.fw.link_up(&mut self.mem);
        let hs = self.host_status();
        assert_eq!(hs.intr_type(), Some(IntrType::AsyncEvent));
        assert!(self.fw.irq_asserted());
        let mb: [u16; 4] =
            core::array::from_fn(|n| self.fw.read_mailbox(mailbox_offset(n).unwrap()));
        assert_eq!(
            AsyncEvent::from_mailboxes(mb),
            AsyncEvent::LinkUp { speed: 0 }
        );
        self.ack_irq();
        assert!(!self.fw.irq_asserted());
        assert_eq!(
            self.mbx(MailboxCmd::get_firmware_state())[1],
            FwState::Ready as u16
        );
        let id = self.mbx(MailboxCmd::get_adapter_id(0));
        assert_eq!(
            (id[0], id[2], id[3], id[6]),
            (mbs::COMMAND_COMPLETE, 0x0100, 0x000a, topology::F_PORT)
        );
    }

    pub fn ack_notify(&mut self, n: &ImmNotify24, terminate: bool) {
        let e = NotifyAck24::for_notify(n, SKIP_HANDLE, terminate).encode();
        self.submit([e], 1);
        self.fw.run_deferred(&mut self.mem, &mut self.wire);
        match &self.poll_ok(false)[..] {
            [FwEntry::NotifyAckDone(d)] => {
                assert_eq!(d.status, NOTIFY_ACK_SUCCESS);
                assert_eq!(d.exchange_address, n.exchange_address);
                assert_eq!(d.entry_status, 0);
            }
            other => panic!("expected one NACK completion, got {other:?}"),
        }
        self.ack_irq();
    }

    /// PLOGI + PRLI from `wwpn` at `s_id`, both accepted. Returns the handle.
    pub fn login(&mut self, wwpn: Wwpn, s_id: PortId) -> Handle {
        let h = self
            .fw
            .plogi(
                &mut self.mem,
                0,
                wwpn,
                Wwpn(wwpn.0 ^ 0x0100_0000_0000_0000),
                s_id,
            )
            .unwrap();
        assert_eq!(
            self.host_status().intr_type(),
            Some(IntrType::AtioQueueUpdate)
        );
        let n = match &self.poll_ok(true)[..] {
            [FwEntry::ImmNotify(n)] => *n,
            other => panic!("expected PLOGI notify, got {other:?}"),
        };
        self.ack_irq();
        match NotifyEvent::from_notify(&n) {
            NotifyEvent::Plogi { port, .. } => {
                assert_eq!(
                    (port.wwpn, port.port_id, port.handle, port.vp_index),
                    (wwpn, s_id, h, 0)
                );
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(
            self.fw.prli(&mut self.mem, 0, s_id, 0x90),
            Err(ModelError::NotLoggedIn),
            "PRLI before PLOGI ack"
        );
        self.ack_notify(&n, false);
        assert_eq!(self.wire.els.last(), Some(&(0, s_id, els::PLOGI, true)));
        self.fw.prli(&mut self.mem, 0, s_id, 0x90).unwrap();
        let n = match &self.poll_ok(true)[..] {
            [FwEntry::ImmNotify(n)] => *n,
            other => panic!("expected PRLI notify, got {other:?}"),
        };
        self.ack_irq();
        assert!(matches!(
            NotifyEvent::from_notify(&n),
            NotifyEvent::Prli { wd3: 0x90, .. }
        ));
        self.ack_notify(&n, false);
        assert_eq!(self.wire.els.last(), Some(&(0, s_id, els::PRLI, true)));
        h
    }

    pub fn command(
        &mut self,
        s_id: PortId,
        ox_id: u16,
        cdb: &[u8],
        dl: u32,
        dir: DataDirection,
    ) -> Atio7 {
        let x = self
            .fw
            .fcp_cmnd(
                &mut self.mem,
                0,
                s_id,
                ox_id,
                Lun::from_index(1),
                cdb,
                dl,
                dir,
            )
            .unwrap();
        let a = match &self.poll_ok(true)[..] {
            [FwEntry::Atio7(a)] => *a,
            other => panic!("expected ATIO, got {other:?}"),
        };
        self.ack_irq();
        assert_eq!(a.exchange_addr, x);
        a
    }

    pub fn ctio_done(&mut self) -> Ctio7Status {
        let e = self.poll_ok(false);
        self.ack_irq();
        match &e[..] {
            [FwEntry::CtioDone(s)] => *s,
            other => panic!("expected one CTIO completion, got {other:?}"),
        }
    }
}
