//! Property tests: every codec round-trips arbitrary field values, and arbitrary bytes
//! either decode to a value that re-encodes to itself or give a typed error (never a panic).

use proptest::prelude::*;
use qla2x00t_proto::iocb::*;
use scst_core::types::{Handle, Lun, PortId, Wwpn};

fn pid() -> impl Strategy<Value = PortId> {
    (0u32..0x0100_0000).prop_map(PortId::new)
}

prop_compose! {
    fn fc_header()(r_ctl: u8, d_id in pid(), cs_ctl: u8, s_id in pid(), fc_type: u8,
                   f_ctl in 0u32..0x0100_0000, seq_id: u8, df_ctl: u8, seq_cnt: u16,
                   ox_id: u16, rx_id: u16, parameter: u32) -> FcHeader {
        FcHeader { r_ctl, d_id, cs_ctl, s_id, fc_type, f_ctl, seq_id, df_ctl, seq_cnt, ox_id, rx_id, parameter }
    }
}

prop_compose! {
    fn atio()(len in 0x38u16..0x1000, attr in 0u8..16, exchange_addr: u32, fc in fc_header(),
              lun: u64, cmnd_ref: u8, task_byte: u8, tmf: u8, wrdata: bool, rddata: bool,
              add in 0usize..64, seed: u8, data_length: u32) -> Atio7 {
        let cdb: Vec<u8> = (0..16 + 4 * add).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect();
        Atio7 {
            fcp_cmnd_len: len,
            attr,
            exchange_addr,
            fc,
            cmnd: FcpCmnd { lun: Lun(lun), cmnd_ref, task_byte, tmf, wrdata, rddata,
                            cdb: Cdb::new(&cdb).unwrap(), data_length },
        }
    }
}

prop_compose! {
    fn imm()(nport_handle: u16, flags: u16, srr_rx_id: u16, status: u16, status_subcode: u8,
             fw_handle: u8, exchange_address: u32, srr_rel_offs: u32, srr_ui: u16, srr_ox_id: u16,
             u: [u8; 8], port_name: u64, vp_index: u8, port_id in pid(), ox_id: u16) -> ImmNotify24 {
        ImmNotify24 { nport_handle: Handle(nport_handle), flags, srr_rx_id, status, status_subcode,
                      fw_handle, exchange_address, srr_rel_offs, srr_ui, srr_ox_id, u,
                      port_name: Wwpn(port_name), vp_index, port_id, ox_id }
    }
}

prop_compose! {
    fn dsd()(addr: u64, len: u32) -> Dsd64 { Dsd64 { addr, len } }
}

prop_compose! {
    fn ctio()(handle: u32, nh: u16, timeout: u16, dsegs in 0u16..1271, vp_index: u8, add_flags: u8,
              initiator_id in pid(), exchange_addr: u32, flags: u16, residual: u32, ox_id: u16,
              scsi_status: u16, mode1: bool, rel: u32, tl: u32, d in dsd(),
              sl in 0u16..25, rl in 0u16..25, sense: [u8; 24]) -> Ctio7 {
        let base = flags & !(ctio_flags::STATUS_MODE_1 | ctio_flags::STATUS_MODE_2);
        let (flags, body, entry_count, dseg_count) = if mode1 {
            (base | ctio_flags::STATUS_MODE_1,
             Ctio7Body::Mode1 { sense_length: sl, response_len: rl, sense }, 1, dsegs)
        } else {
            (base, Ctio7Body::Mode0 { relative_offset: rel, transfer_length: tl, dsd: d },
             ctio7_entries(usize::from(dsegs)) as u8, dsegs)
        };
        Ctio7 { entry_count, handle, nport_handle: Handle(nh), timeout, dseg_count, vp_index, add_flags,
                initiator_id, exchange_addr, flags, residual, ox_id, scsi_status, body }
    }
}

prop_compose! {
    fn abts_resp()(handle: u32, nh: u16, control_flags: u16, vp_index: u8, sof in 0u8..16,
                   exchange_address: u32, fc in fc_header(), acc: bool, a: u8, b: u8, c: u16, d: u16,
                   e: u16, f: u16, victim: u32) -> AbtsResp24 {
        let payload = if acc {
            BaPayload::Acc { seq_id_valid: a, seq_id_last: b, ox_id: c, rx_id: d, low_seq_cnt: e, high_seq_cnt: f }
        } else {
            BaPayload::Rjt { reason_code: a, reason_expl: b, vendor_uniq: (c & 0xff) as u8 }
        };
        let fc = FcHeader { r_ctl: if acc { R_CTL_BA_ACC } else { R_CTL_BA_RJT }, ..fc };
        AbtsResp24 { handle, nport_handle: Handle(nh), control_flags, vp_index, sof_type: sof,
                     exchange_address, fc, payload, exchange_addr_to_abort: victim }
    }
}

fn reencode_fw(e: &FwEntry) -> Vec<u8> {
    match e {
        FwEntry::Atio7(a) => {
            let mut out = vec![0u8; a.entries() * 64];
            a.encode(&mut out).unwrap();
            out
        }
        FwEntry::ImmNotify(n) => n.encode().to_vec(),
        FwEntry::NotifyAckDone(n) => n.encode().to_vec(),
        FwEntry::CtioDone(c) => c.encode().to_vec(),
        FwEntry::AbtsRecv(a) => a.encode().to_vec(),
        FwEntry::AbtsRespDone(a) => a.encode().to_vec(),
        FwEntry::Rida(r) => r.encode().to_vec(),
        FwEntry::VpCtrlDone(v) => v.encode().to_vec(),
        FwEntry::VpConfigDone(v) => v.encode().to_vec(),
    }
}

fn reencode_host(e: &HostEntry) -> Vec<u8> {
    match e {
        HostEntry::Ctio7(c) => c.encode().to_vec(),
        HostEntry::Cont(c) => c.encode().to_vec(),
        HostEntry::NotifyAck(n) => n.encode().to_vec(),
        HostEntry::AbtsResp(a) => a.encode().to_vec(),
        HostEntry::Marker(m) => m.encode().to_vec(),
        HostEntry::VpCtrl(v) => v.encode().to_vec(),
        HostEntry::VpConfig(v) => v.encode().to_vec(),
    }
}

proptest! {
    // PROPTEST_CASES raises the count (scripts/fuzz-smoke.sh); 512 by default.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn atio7_round_trip_with_any_wrap(a in atio(), cut in 0usize..5) {
        let mut buf = vec![0u8; a.entries() * 64];
        prop_assert_eq!(a.encode(&mut buf), Ok(a.entries()));
        let cut = (cut.min(a.entries() - 1) + 1) * 64;
        let (head, tail) = buf.split_at(cut);
        prop_assert_eq!(Atio7::decode_split(Split { head, tail }), Ok(a));
    }

    #[test]
    fn notify_and_ack_round_trip(n in imm(), handle: u32, term: bool, es: u8) {
        prop_assert_eq!(ImmNotify24::decode(&n.encode()), Ok(n));
        let mut ack = NotifyAck24::for_notify(&n, handle, term);
        ack.entry_status = es;
        prop_assert_eq!(NotifyAck24::decode(&ack.encode()), Ok(ack));
        prop_assert_eq!(ack.terminates(), term);
    }

    #[test]
    fn ctio7_round_trip(c in ctio()) {
        prop_assert_eq!(Ctio7::decode(&c.encode()), Ok(c));
    }

    #[test]
    fn completions_round_trip(es: u8, handle: u32, status: u16, vp: u8, x: u32, flags: u16, res: u32,
                              ox: u16, rel: u32, s1: u32, s2: u32, nh: u16) {
        let s = Ctio7Status { entry_status: es, handle, status, vp_index: vp, exchange_address: x,
                              flags, residual: res, ox_id: ox, relative_offset: rel };
        prop_assert_eq!(Ctio7Status::decode(&s.encode()), Ok(s));
        let a = AbtsRespStatus { entry_status: es, handle, compl_status: status, nport_handle: Handle(nh),
                                 vp_index: vp, exchange_address: x, error_subcode1: s1, error_subcode2: s2,
                                 exchange_addr_to_abort: rel };
        prop_assert_eq!(AbtsRespStatus::decode(&a.encode()), Ok(a));
    }

    #[test]
    fn abts_round_trip(nh: u16, vp: u8, sof in 0u8..16, x: u32, fc in fc_header(), victim: u32, r in abts_resp()) {
        let a = AbtsRecv24 { nport_handle: Handle(nh), vp_index: vp, sof_type: sof, exchange_address: x,
                             fc, exchange_addr_to_abort: victim };
        prop_assert_eq!(AbtsRecv24::decode(&a.encode()), Ok(a));
        prop_assert_eq!(AbtsResp24::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn small_entries_round_trip(d in proptest::array::uniform5(dsd()), handle: u32, nh: u16, m in 0u8..3,
                                vp: u8, lun: u64, cmd: u16, cnt: u16, map: [u8; 16], es: u8, w1: u64, w2: u64,
                                opt: u8, fmt in 0u8..3, pid in pid(), flags: u8) {
        let c = ContA64 { dsds: d };
        prop_assert_eq!(ContA64::decode(&c.encode()), Ok(c));
        let mk = Marker24 { handle, nport_handle: Handle(nh), modifier: m, vp_index: vp, lun: Lun(lun) };
        prop_assert_eq!(Marker24::decode(&mk.encode()), Ok(mk));
        let v = VpCtrl24 { entry_status: es, handle, vp_idx_failed: nh, comp_status: cnt, command: cmd,
                           vp_count: cnt, vp_idx_map: map };
        prop_assert_eq!(VpCtrl24::decode(&v.encode()), Ok(v));
        let vc = VpConfig24 { entry_status: es, handle, comp_status: cmd, command: opt, vp_count: flags,
                              vp_index1: vp, options_idx1: opt, port_name_idx1: Wwpn(w1), node_name_idx1: Wwpn(w2) };
        prop_assert_eq!(VpConfig24::decode(&vc.encode()), Ok(vc));
        let format = [RidaFormat::Loop, RidaFormat::Fabric, RidaFormat::N2n][usize::from(fmt)];
        let r = Rida24 { vp_acquired: opt, vp_setup: flags, vp_idx: vp, vp_status: es, port_id: pid, format,
                         flags, port_name: Wwpn(w1), node_name: Wwpn(w2) };
        prop_assert_eq!(Rida24::decode(&r.encode()), Ok(r));
    }

    #[test]
    fn arbitrary_firmware_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..320),
                                                       cut in 0usize..6, ty in prop::sample::select(vec![
                                                           0x06u8, 0x0D, 0x0E, 0x12, 0x30, 0x31, 0x32, 0x54, 0x55, 0x0A, 0x04, 0x99]),
                                                       force_type: bool) {
        let mut bytes = bytes;
        if force_type && !bytes.is_empty() { bytes[0] = ty; }
        let cut = (cut * 64).min(bytes.len()).max(bytes.len().min(64));
        let (head, tail) = bytes.split_at(cut);
        if let Ok(e) = FwEntry::decode(Split { head, tail }) {
            let again = reencode_fw(&e);
            prop_assert_eq!(FwEntry::decode(Split::one(&again)), Ok(e));
        }
        if let Ok(e) = HostEntry::decode(&bytes) {
            let again = reencode_host(&e);
            prop_assert_eq!(HostEntry::decode(&again), Ok(e));
        }
    }
}
