//! Driver <-> firmware model: the init sequence through registers and mailboxes, then
//! PLOGI/PRLI notifies and their acks, a READ through CTIO7 + continuations, a WRITE,
//! ABTS, LOGO, N_Port slot reuse, NPIV ports and hostile request entries.

mod common;
use common::*;
use qla2x00t_proto::fwmodel::*;
use qla2x00t_proto::iocb::*;
use qla2x00t_proto::mailbox::*;
use qla2x00t_proto::notify::{els, NotifyEvent};
use qla2x00t_proto::regs::*;
use qla2x00t_proto::ring::*;
use scst_core::types::{DataDirection, Handle, Lun, PortId, Wwpn};

fn mode0(a: &Atio7, h: Handle, flags: u16, rel: u32) -> Ctio7 {
    let mut c = Ctio7::for_atio(a, CTIO_COMPLETION_HANDLE_MARK | 7, h, 0);
    c.flags |= flags;
    c.body = Ctio7Body::Mode0 {
        relative_offset: rel,
        transfer_length: 0,
        dsd: Dsd64::default(),
    };
    c
}

fn status_only(a: &Atio7, h: Handle, status: u8) -> Ctio7 {
    let mut c = Ctio7::for_atio(a, CTIO_COMPLETION_HANDLE_MARK | 8, h, 0);
    c.flags |= ctio_flags::SEND_STATUS;
    c.scsi_status = u16::from(status);
    c
}

#[test]
fn init_sequence_and_mailbox_errors() {
    let mut hba = Hba::new();
    assert_eq!(hba.fw.risc_state(), RiscState::Reset);
    hba.bring_up();
    assert_eq!(hba.fw.risc_state(), RiscState::Initialized);
    assert_eq!(
        hba.mbx(MailboxCmd {
            mb: [0x7777; 32],
            out_mask: 1,
            in_mask: 1
        })[0],
        mbs::INVALID_COMMAND
    );
    // Port database of a handle nobody holds.
    assert_eq!(
        hba.mbx(MailboxCmd::get_port_database(Handle(9), 0, dma(PDB)))[0],
        mbs::COMMAND_ERROR
    );
    // ICB outside mapped memory.
    assert_eq!(
        hba.mbx(MailboxCmd::initialize_firmware(0x42, false))[0],
        mbs::COMMAND_ERROR
    );
    assert!(hba.fw.stats().mailbox_errors >= 4);
    assert_eq!(hba.fw.stats().dma_errors, 1);
}

#[test]
fn resets_return_to_power_on_state_in_place() {
    // A used model: logged-in port, stats, link up. RISC reset keeps the interrupt enable;
    // ISP soft reset clears it. Both forget everything else and bring-up works again.
    for soft in [false, true] {
        let mut hba = Hba::new();
        hba.bring_up();
        hba.login(INI_A, S_ID);
        assert_eq!(
            hba.mbx(MailboxCmd::initialize_firmware(0x42, false))[0],
            mbs::COMMAND_ERROR
        );
        assert!(hba.fw.stats().mailbox_errors > 0);
        if soft {
            hba.reg_write(Reg::CtrlStatus, ctrl_status::ISP_SOFT_RESET);
        } else {
            hba.reg_write(Reg::Hccr, HccrCmd::SetRiscReset as u32);
        }
        assert_eq!(hba.fw.risc_state(), RiscState::Reset);
        assert_eq!(*hba.fw.stats(), FwStats::default());
        assert_eq!(hba.fw.open_exchanges(), 0);
        assert_eq!(hba.fw.handle_of(0, S_ID), None);
        assert_eq!(hba.fw.read_reg(Reg::HostStatus.offset()), 0);
        assert_eq!(hba.fw.read_mailbox(mailbox_offset(0).unwrap()), 0);
        assert_eq!(hba.fw.read_reg(Reg::ReqQOut.offset()), 0);
        let ictrl = hba.fw.read_reg(Reg::Ictrl.offset());
        assert_eq!(ictrl, if soft { 0 } else { ICTRL_EN_RISC_INT });
        assert!(!hba.fw.has_deferred_work());
        // The same bring-up again; ring indexes start from zero on both sides.
        let ring = Ring::new(RING_LEN).unwrap();
        hba.req = Producer::new(ring);
        hba.atio = SigConsumer::new(ring);
        hba.rsp = SigConsumer::new(ring);
        hba.bring_up();
        assert_eq!(hba.fw.risc_state(), RiscState::Initialized);
    }
}

#[test]
fn plogi_prli_read_with_continuations_then_logo() {
    let mut hba = Hba::new();
    hba.bring_up();
    let h = hba.login(INI_A, S_ID);
    assert_eq!(h, Handle(0));
    assert_eq!(hba.fw.handle_of(0, S_ID), Some(h));

    // The port database names the WWPN that owns the handle.
    let mb = hba.mbx(MailboxCmd::get_port_database(h, 0, dma(PDB)));
    assert_eq!(mb[0], mbs::COMMAND_COMPLETE);
    let pd = PortDb24::decode(&hba.mem.0[PDB..PDB + 64]);
    assert_eq!(
        (pd.port_name, pd.port_id, pd.nport_handle),
        (INI_A, S_ID, h)
    );
    assert_eq!(pd.current_login_state, PDS_PRLI_COMPLETE);
    let mb = hba.mbx(MailboxCmd::get_id_list(0, dma(PDB), 64));
    assert_eq!(mb[1], 1);
    assert_eq!(
        GidEntry::decode(&hba.mem.0[PDB..PDB + 8]),
        GidEntry {
            port_id: S_ID,
            handle: h
        }
    );

    // READ(10) of 4096 bytes.
    let a = hba.command(
        S_ID,
        0x1234,
        &[0x28, 0, 0, 0, 0, 0x10, 0, 0, 8, 0],
        4096,
        DataDirection::FromDevice,
    );
    assert_eq!(
        (a.fc.s_id, a.fc.d_id, a.fc.ox_id),
        (S_ID, PortId::new(0x0a0100), 0x1234)
    );
    assert_eq!(a.cmnd.lun, Lun::from_index(1));
    assert_eq!(a.cmnd.data_length, 4096);
    assert_eq!(a.cmnd.direction(), Some(DataDirection::FromDevice));
    assert_eq!(a.cmnd.cdb.as_slice()[0], 0x28);

    // Eight scattered 512-byte buffers: CTIO7 + 2 continuations.
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i ^ (i >> 8)) as u8).collect();
    let mut segs = Vec::new();
    for i in 0..8usize {
        let off = DATA + (7 - i) * 0x1000 + 0x40; // reverse order in memory
        hba.mem.0[off..off + 512].copy_from_slice(&pattern[i * 512..(i + 1) * 512]);
        segs.push((dma(off), 512u32));
    }
    let ctio = mode0(&a, h, ctio_flags::DATA_IN | ctio_flags::SEND_STATUS, 0);
    let ds = DataSegments::new(&ctio, segs.iter().copied()).unwrap();
    assert_eq!(ds.entries(), 3);
    let n = ds.entries();
    hba.submit(ds, n);
    let mut got = Vec::new();
    for (x, off, data) in &hba.wire.data_in {
        assert_eq!(*x, a.exchange_addr);
        assert_eq!(*off as usize, got.len());
        got.extend_from_slice(data);
    }
    assert_eq!(got, pattern);
    assert_eq!(hba.wire.rsps.len(), 1);
    assert_eq!(hba.wire.rsps[0].0, a.exchange_addr);
    assert_eq!(hba.wire.rsps[0].1.scsi_status, 0);
    assert_eq!(
        hba.host_status().intr_type(),
        Some(IntrType::RspQueueUpdate)
    );
    let s = hba.ctio_done();
    assert_eq!(s.status, ctio_status::OK);
    assert_eq!(s.handle, CTIO_COMPLETION_HANDLE_MARK | 7);
    assert_eq!(s.exchange_address, a.exchange_addr);
    assert_eq!(s.relative_offset, 4096);
    assert_eq!(hba.fw.open_exchanges(), 0);

    // A second CTIO on the finished exchange is refused.
    hba.submit([status_only(&a, h, 0).encode()], 1);
    assert_eq!(hba.ctio_done().status, ctio_status::INVALID_RX_ID);
    assert_eq!(hba.fw.stats().ctio_unknown_exchange, 1);

    // LOGO: notify, ack (LS_ACC), login gone.
    hba.fw.logo(&mut hba.mem, 0, S_ID).unwrap();
    let n = match &hba.poll_ok(true)[..] {
        [FwEntry::ImmNotify(n)] => *n,
        other => panic!("{other:?}"),
    };
    hba.ack_irq();
    assert!(
        matches!(NotifyEvent::from_notify(&n), NotifyEvent::Logo(p) if p.wwpn == INI_A && p.handle == h)
    );
    hba.ack_notify(&n, false);
    assert_eq!(hba.wire.els.last(), Some(&(0, S_ID, els::LOGO, true)));
    assert_eq!(hba.fw.handle_of(0, S_ID), None);
    assert_eq!(
        hba.fw.fcp_cmnd(
            &mut hba.mem,
            0,
            S_ID,
            1,
            Lun(0),
            &[0; 6],
            0,
            DataDirection::None
        ),
        Err(ModelError::NotLoggedIn)
    );
}

#[test]
fn write_then_status_with_sense() {
    let mut hba = Hba::new();
    hba.bring_up();
    let h = hba.login(INI_A, S_ID);
    let a = hba.command(
        S_ID,
        0x77,
        &[0x2a, 0, 0, 0, 0, 0, 0, 0, 2, 0],
        1024,
        DataDirection::ToDevice,
    );
    hba.wire.write_payload = (0..1024u32).map(|i| (i * 13) as u8).collect();
    let segs = [(dma(DATA), 600u32), (dma(DATA + 0x8000), 424u32)];
    let c = mode0(&a, h, ctio_flags::DATA_OUT, 0);
    let ds = DataSegments::new(&c, segs.iter().copied()).unwrap();
    let n = ds.entries();
    hba.submit(ds, n);
    let s = hba.ctio_done();
    assert_eq!((s.status, s.relative_offset), (ctio_status::OK, 1024));
    assert!(hba.wire.rsps.is_empty(), "no SEND_STATUS: no FCP_RSP yet");
    assert_eq!(&hba.mem.0[DATA..DATA + 600], &hba.wire.write_payload[..600]);
    assert_eq!(
        &hba.mem.0[DATA + 0x8000..DATA + 0x8000 + 424],
        &hba.wire.write_payload[600..]
    );

    // CHECK CONDITION with fixed-format sense in a status-mode-1 CTIO.
    let mut st = Ctio7::for_atio(&a, 9, h, 0);
    st.flags |= ctio_flags::SEND_STATUS;
    st.scsi_status = 0x02 | ss::SENSE_LEN_VALID;
    let mut sense = [0u8; 24];
    sense[..8].copy_from_slice(&[0x70, 0, 0x03, 0, 0, 0, 0, 0x0a]);
    sense[12] = 0x0c;
    st.body = Ctio7Body::Mode1 {
        sense_length: 18,
        response_len: 0,
        sense,
    };
    hba.submit([st.encode()], 1);
    assert_eq!(hba.ctio_done().status, ctio_status::OK);
    let (x, rsp) = hba.wire.rsps[0];
    assert_eq!(x, a.exchange_addr);
    assert_eq!(rsp.scsi_status, 0x0202);
    assert_eq!(rsp.sense_length, 18);
    assert_eq!(rsp.sense, sense);
    assert_eq!(hba.fw.open_exchanges(), 0);
}

#[test]
fn abts_terminate_and_ba_acc() {
    let mut hba = Hba::new();
    hba.bring_up();
    let h = hba.login(INI_A, S_ID);
    let a = hba.command(
        S_ID,
        0x99,
        &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        512,
        DataDirection::FromDevice,
    );
    hba.fw.abts(&mut hba.mem, 0, S_ID, 0x99).unwrap();
    let abts = match &hba.poll_ok(false)[..] {
        [FwEntry::AbtsRecv(x)] => *x,
        other => panic!("{other:?}"),
    };
    hba.ack_irq();
    assert_eq!(abts.exchange_addr_to_abort, a.exchange_addr);
    assert_eq!(
        (abts.fc.s_id, abts.fc.ox_id, abts.nport_handle),
        (S_ID, 0x99, h)
    );

    // BA_ACC while the victim is still open and not terminated: firmware refuses (0x1E).
    hba.submit([AbtsResp24::for_abts(&abts, 5, true).encode()], 1);
    match &hba.poll_ok(false)[..] {
        [FwEntry::AbtsRespDone(s)] => {
            assert_eq!(
                (s.compl_status, s.error_subcode1),
                (0x31, ABTS_RESP_SUBCODE_NOT_TERMINATED)
            );
        }
        other => panic!("{other:?}"),
    }
    hba.ack_irq();
    assert!(hba.wire.abts.is_empty());

    // Terminate the victim, then BA_ACC goes out.
    let mut term = Ctio7::for_atio(&a, SKIP_HANDLE | CTIO_COMPLETION_HANDLE_MARK, h, 0);
    term.flags |= ctio_flags::TERMINATE;
    hba.submit([term.encode()], 1);
    assert_eq!(hba.ctio_done().status, ctio_status::OK);
    hba.submit([AbtsResp24::for_abts(&abts, 6, true).encode()], 1);
    match &hba.poll_ok(false)[..] {
        [FwEntry::AbtsRespDone(s)] => assert_eq!((s.handle, s.compl_status), (6, 0)),
        other => panic!("{other:?}"),
    }
    hba.ack_irq();
    assert_eq!(hba.wire.abts, vec![(S_ID, 0x99, true)]);
    assert!(hba.wire.rsps.is_empty());
    assert_eq!(hba.fw.open_exchanges(), 0);

    // ABTS for an exchange the firmware never saw: victim address unknown.
    hba.fw.abts(&mut hba.mem, 0, S_ID, 0x4242).unwrap();
    match &hba.poll_ok(false)[..] {
        [FwEntry::AbtsRecv(x)] => assert_eq!(x.exchange_addr_to_abort, EXCHANGE_ADDRESS_UNKNOWN),
        other => panic!("{other:?}"),
    }
}

#[test]
fn slot_reuse_never_serves_the_old_login() {
    // The NPIV seed scenario at the firmware boundary: a new WWPN logs in at the same
    // N_Port ID and gets the same handle; the old login's open exchange is stale.
    let mut hba = Hba::new();
    hba.bring_up();
    let h_a = hba.login(INI_A, S_ID);
    let a = hba.command(
        S_ID,
        0x10,
        &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        512,
        DataDirection::FromDevice,
    );
    let h_b = hba.login(INI_B, S_ID);
    assert_eq!(h_b, h_a, "firmware re-binds the slot");
    let mb = hba.mbx(MailboxCmd::get_port_database(h_b, 0, dma(PDB)));
    assert_eq!(mb[0], mbs::COMMAND_COMPLETE);
    assert_eq!(PortDb24::decode(&hba.mem.0[PDB..PDB + 64]).port_name, INI_B);
    // Data for A's READ must never reach the wire now.
    hba.mem.0[DATA..DATA + 512].fill(0xAA);
    let c = mode0(&a, h_a, ctio_flags::DATA_IN | ctio_flags::SEND_STATUS, 0);
    let ds = DataSegments::new(&c, [(dma(DATA), 512u32)].into_iter()).unwrap();
    hba.submit(ds, 1);
    assert_eq!(hba.ctio_done().status, ctio_status::PORT_LOGGED_OUT);
    assert!(hba.wire.data_in.is_empty());
    assert!(hba.wire.rsps.is_empty());
    assert_eq!(hba.fw.open_exchanges(), 0);

    // Firmware-initiated logout (status 0x29) of B.
    let b = hba.command(S_ID, 0x11, &[0, 0, 0, 0, 0, 0], 0, DataDirection::None);
    hba.fw.port_logout(&mut hba.mem, 0, S_ID).unwrap();
    match &hba.poll_ok(true)[..] {
        [FwEntry::ImmNotify(n)] => {
            assert!(
                matches!(NotifyEvent::from_notify(n), NotifyEvent::PortLogout(p) if p.wwpn == INI_B)
            )
        }
        other => panic!("{other:?}"),
    }
    hba.ack_irq();
    hba.submit([status_only(&b, h_b, 0).encode()], 1);
    assert_eq!(hba.ctio_done().status, ctio_status::PORT_LOGGED_OUT);
}

#[test]
fn rejected_plogi_and_unknown_nack() {
    let mut hba = Hba::new();
    hba.bring_up();
    hba.fw.plogi(&mut hba.mem, 0, INI_A, Wwpn(1), S_ID).unwrap();
    let n = match &hba.poll_ok(true)[..] {
        [FwEntry::ImmNotify(n)] => *n,
        other => panic!("{other:?}"),
    };
    hba.ack_irq();
    hba.ack_notify(&n, true);
    assert_eq!(hba.wire.els.last(), Some(&(0, S_ID, els::PLOGI, false)));
    assert_eq!(hba.fw.handle_of(0, S_ID), None);
    // Ack of a notify the firmware no longer has.
    hba.submit([NotifyAck24::for_notify(&n, 1, false).encode()], 1);
    match &hba.poll_ok(false)[..] {
        [FwEntry::NotifyAckDone(d)] => assert_eq!(d.entry_status, entry_status::INVALID_PARAM),
        other => panic!("{other:?}"),
    }
    assert_eq!(hba.fw.stats().nack_unknown, 1);
}

#[test]
fn hostile_request_entries_are_returned_and_counted() {
    let mut hba = Hba::new();
    hba.bring_up();
    let mut junk = [0u8; 64];
    junk[0] = 0x77;
    junk[1] = 1;
    let mut stray = ContA64::default().encode();
    stray[2] = 1;
    let mut zero_count = [0u8; 64];
    zero_count[0] = 0x12;
    let mut bad_ctio = [0u8; 64];
    bad_ctio[0] = 0x12;
    bad_ctio[1] = 1;
    bad_ctio[0x0C] = 9; // 9 segments need 3 entries
    hba.submit([junk, stray, zero_count, bad_ctio], 4);
    let got = hba.poll(false);
    // The junk entry comes back with INVALID_TYPE set; the driver's dispatcher can only
    // count it as unknown. The stray continuation is dropped by the firmware.
    assert_eq!(got[0], Err(DecodeError::UnknownType(0x77)));
    assert_eq!(hba.mem.0[RSP + 3], entry_status::INVALID_TYPE);
    let statuses: Vec<u8> = got[1..]
        .iter()
        .map(|e| match e {
            Ok(FwEntry::CtioDone(s)) => s.entry_status,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        statuses,
        vec![entry_status::INVALID_COUNT, entry_status::INVALID_COUNT]
    );
    let st = hba.fw.stats();
    assert_eq!((st.bad_request_entries, st.stray_continuations), (3, 1));
    assert_eq!(
        hba.fw.read_reg(Reg::ReqQOut.offset()),
        4,
        "all four entries consumed"
    );
}

#[test]
fn npiv_port_gets_its_id_and_routes_by_d_id() {
    let mut hba = Hba::new();
    hba.bring_up();
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
    hba.mem.0[SCRATCH..SCRATCH + 64].copy_from_slice(&cfg.encode());
    assert_eq!(
        hba.mbx(MailboxCmd::iocb_command_a64(dma(SCRATCH)))[0],
        mbs::COMMAND_COMPLETE
    );
    assert_eq!(
        VpConfig24::decode(&hba.mem.0[SCRATCH..SCRATCH + 64])
            .unwrap()
            .comp_status,
        0
    );
    match &hba.poll_ok(false)[..] {
        [FwEntry::Rida(r)] => {
            assert_eq!(
                (r.vp_idx, r.port_id, r.format),
                (1, PortId::new(0x0a0101), RidaFormat::Fabric)
            );
        }
        other => panic!("{other:?}"),
    }
    hba.ack_irq();
    let h = hba.fw.plogi(&mut hba.mem, 1, INI_A, Wwpn(2), S_ID).unwrap();
    let n = match &hba.poll_ok(true)[..] {
        [FwEntry::ImmNotify(n)] => *n,
        other => panic!("{other:?}"),
    };
    assert_eq!((n.vp_index, n.nport_handle), (1, h));
    hba.ack_irq();
    hba.ack_notify(&n, false);
    assert_eq!(hba.wire.els.last(), Some(&(1, S_ID, els::PLOGI, true)));
    hba.fw.prli(&mut hba.mem, 1, S_ID, 0x90).unwrap();
    let n = match &hba.poll_ok(true)[..] {
        [FwEntry::ImmNotify(n)] => *n,
        other => panic!("{other:?}"),
    };
    hba.ack_irq();
    hba.ack_notify(&n, false);
    // ATIO type 7 has no vp_index: the driver routes it by D_ID = the VP's N_Port ID.
    hba.fw
        .fcp_cmnd(
            &mut hba.mem,
            1,
            S_ID,
            5,
            Lun(0),
            &[0; 6],
            0,
            DataDirection::None,
        )
        .unwrap();
    match &hba.poll_ok(true)[..] {
        [FwEntry::Atio7(a)] => assert_eq!((a.fc.d_id, a.fc.s_id), (PortId::new(0x0a0101), S_ID)),
        other => panic!("{other:?}"),
    }
    hba.ack_irq();
    assert_eq!(hba.fw.open_exchanges(), 1);

    // Disable VP 1 through the request ring: its logins are gone.
    hba.submit(
        [VpCtrl24::single(2, vce_command::DISABLE_VPS_LOGO_ALL, 1)
            .unwrap()
            .encode()],
        1,
    );
    match &hba.poll_ok(false)[..] {
        [FwEntry::VpCtrlDone(c)] => assert_eq!((c.handle, c.comp_status), (2, 0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(hba.fw.handle_of(1, S_ID), None);
    assert_eq!(hba.fw.open_exchanges(), 0);
    assert_eq!(
        hba.fw.plogi(&mut hba.mem, 1, INI_A, Wwpn(2), S_ID),
        Err(ModelError::BadVp)
    );
    assert_eq!(
        hba.fw.plogi(&mut hba.mem, 3, INI_A, Wwpn(2), S_ID),
        Err(ModelError::BadVp)
    );
}

#[test]
fn full_atio_ring_pushes_back_and_link_down_clears() {
    let mut hba = Hba::new();
    hba.bring_up();
    hba.login(INI_A, S_ID);
    let mut accepted = 0;
    for ox in 0..40u16 {
        match hba.fw.fcp_cmnd(
            &mut hba.mem,
            0,
            S_ID,
            ox,
            Lun(0),
            &[0; 6],
            0,
            DataDirection::None,
        ) {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert!(
                    matches!(e, ModelError::RingFull | ModelError::NoResources),
                    "{e:?}"
                );
                break;
            }
        }
    }
    assert_eq!(accepted, 15, "16-entry ring holds 15");
    assert_eq!(hba.poll(true).len(), 15);
    hba.fw.link_down();
    assert_eq!(hba.fw.open_exchanges(), 0);
    assert_eq!(hba.fw.handle_of(0, S_ID), None);
    assert_eq!(
        hba.fw.plogi(&mut hba.mem, 0, INI_A, Wwpn(2), S_ID),
        Err(ModelError::NotReady)
    );
}

#[test]
fn interrupts_are_presented_one_at_a_time() {
    let mut hba = Hba::new();
    hba.bring_up();
    hba.login(INI_A, S_ID);
    assert_eq!(hba.host_status(), HostStatus(0));
    hba.fw
        .fcp_cmnd(
            &mut hba.mem,
            0,
            S_ID,
            1,
            Lun(0),
            &[0; 6],
            0,
            DataDirection::None,
        )
        .unwrap();
    assert_eq!(
        hba.host_status().intr_type(),
        Some(IntrType::AtioQueueUpdate)
    );
    hba.fw.abts(&mut hba.mem, 0, S_ID, 1).unwrap();
    assert_eq!(
        hba.host_status().intr_type(),
        Some(IntrType::AtioQueueUpdate),
        "no overwrite"
    );
    hba.ack_irq();
    assert_eq!(
        hba.host_status().intr_type(),
        Some(IntrType::RspQueueUpdate)
    );
    assert!(hba.fw.irq_asserted());
    hba.ack_irq();
    assert_eq!(hba.host_status(), HostStatus(0));
    assert!(!hba.fw.irq_asserted());
    // Interrupts masked: status still visible, line not asserted.
    hba.reg_write(Reg::Ictrl, 0);
    hba.fw.link_down();
    assert_eq!(hba.host_status().intr_type(), Some(IntrType::AsyncEvent));
    assert_eq!(hba.host_status().mailbox0(), 0x8012);
    assert!(!hba.fw.irq_asserted());
}

#[test]
fn deferred_doorbells_wait_for_run_deferred() {
    let mut hba = Hba::with(FwConfig {
        defer_doorbells: true,
        ..CFG
    });
    hba.bring_up();
    let h = hba.login(INI_A, S_ID);
    let a = hba.command(S_ID, 3, &[0; 6], 0, DataDirection::None);
    hba.req
        .push(
            &mut hba.mem.0[REQ..REQ + 1024],
            &status_only(&a, h, 0).encode(),
        )
        .unwrap();
    let in_idx = u32::from(hba.req.in_idx());
    hba.reg_write(Reg::ReqQIn, in_idx);
    assert!(hba.fw.has_deferred_work());
    assert!(
        hba.wire.rsps.is_empty(),
        "nothing ran in the register write"
    );
    assert_eq!(hba.fw.read_reg(Reg::ReqQOut.offset()), in_idx - 1);
    hba.fw.run_deferred(&mut hba.mem, &mut hba.wire);
    assert!(!hba.fw.has_deferred_work());
    assert_eq!(hba.wire.rsps.len(), 1);
    assert_eq!(hba.fw.read_reg(Reg::ReqQOut.offset()), in_idx);
    assert_eq!(hba.ctio_done().status, ctio_status::OK);
}

/// Logs `s_id` out with LOGO and acks it.
fn logo_acked(hba: &mut Hba, s_id: PortId) {
    hba.fw.logo(&mut hba.mem, 0, s_id).unwrap();
    let n = match &hba.poll_ok(true)[..] {
        [FwEntry::ImmNotify(n)] => *n,
        other => panic!("{other:?}"),
    };
    hba.ack_irq();
    hba.ack_notify(&n, false);
}

#[test]
fn freed_handles_are_reused_lowest_first() {
    // As real firmware does: after a LOGO the next PLOGI from a new port ID takes the lowest
    // free N_Port handle, which is the logged-out port's (the NPIV slot-reuse precondition).
    let mut hba = Hba::new();
    hba.bring_up();
    let ids = [0x0a2001, 0x0a2002, 0x0a2003].map(PortId::new);
    let wwpns = [0x11, 0x12, 0x13].map(|n| Wwpn(0x2100_0024_ff00_0000 | n));
    for k in 0..3 {
        assert_eq!(hba.login(wwpns[k], ids[k]), Handle(k as u16));
    }
    logo_acked(&mut hba, ids[2]);
    logo_acked(&mut hba, ids[0]);
    assert_eq!(hba.fw.handle_of(0, ids[0]), None);
    let b = Wwpn(0x2100_0024_ff00_00bb);
    assert_eq!(hba.login(b, PortId::new(0x0a2004)), Handle(0));
    assert_eq!(hba.login(wwpns[0], ids[0]), Handle(2));
    assert_eq!(hba.login(wwpns[2], ids[2]), Handle(3));
}
