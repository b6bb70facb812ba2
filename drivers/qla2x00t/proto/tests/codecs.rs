//! Codec tests: byte images are built here from the documented offsets (reference study
//! §1.3), never by calling an encoder, then decoded, checked field by field and re-encoded.

use qla2x00t_proto::iocb::*;
use qla2x00t_proto::mailbox::*;
use qla2x00t_proto::notify::{AsyncEvent, NotifyEvent, RemotePort};
use scst_core::types::{DataDirection, Handle, Lun, PortId, TaskAttr, Wwpn};

fn put(b: &mut [u8], off: usize, bytes: &[u8]) {
    b[off..off + bytes.len()].copy_from_slice(bytes);
}

const READ10: [u8; 10] = [0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0];

fn atio_read_image() -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0] = 0x06;
    b[1] = 1;
    put(&mut b, 0x02, &[0x38, 0x20]); // length 0x38, attr nibble 2
    put(&mut b, 0x04, &0x1234_5678u32.to_le_bytes());
    b[0x08] = 0x06; // r_ctl: unsolicited command
    put(&mut b, 0x09, &[0x01, 0x02, 0x03]); // d_id, wire order
    put(&mut b, 0x0D, &[0x0a, 0x0b, 0x0c]); // s_id, wire order
    b[0x10] = 0x08;
    put(&mut b, 0x11, &[0x29, 0x00, 0x00]);
    b[0x14] = 0x11;
    put(&mut b, 0x16, &[0x00, 0x01]);
    put(&mut b, 0x18, &[0x12, 0x34]); // ox_id, big-endian
    put(&mut b, 0x1A, &[0xff, 0xff]);
    put(&mut b, 0x1C, &[0, 0, 0, 7]);
    put(&mut b, 0x20, &[0x00, 0x05, 0, 0, 0, 0, 0, 0]); // LUN 5
    b[0x28] = 3;
    b[0x29] = 0x02; // ordered
    b[0x2B] = 0x02; // RDDATA, no additional CDB
    put(&mut b, 0x2C, &READ10);
    put(&mut b, 0x3C, &[0, 0, 0x10, 0]); // FCP_DL 4096, big-endian
    b
}

#[test]
fn atio7_single_entry_image() {
    let b = atio_read_image();
    let a = Atio7::decode(&b).unwrap();
    assert_eq!(a.fcp_cmnd_len, 0x38);
    assert_eq!(a.attr, 2);
    assert_eq!(a.exchange_addr, 0x1234_5678);
    assert_eq!(a.fc.r_ctl, 0x06);
    assert_eq!(a.fc.d_id, PortId::new(0x010203));
    assert_eq!(a.fc.s_id, PortId::new(0x0a0b0c));
    assert_eq!(a.fc.fc_type, 0x08);
    assert_eq!(a.fc.f_ctl, 0x290000);
    assert_eq!(a.fc.seq_id, 0x11);
    assert_eq!(a.fc.seq_cnt, 1);
    assert_eq!(a.fc.ox_id, 0x1234);
    assert_eq!(a.fc.rx_id, 0xffff);
    assert_eq!(a.fc.parameter, 7);
    assert_eq!(a.cmnd.lun, Lun::from_index(5));
    assert_eq!(a.cmnd.cmnd_ref, 3);
    assert_eq!(a.cmnd.task_attr(), Some(TaskAttr::Ordered));
    assert_eq!(a.cmnd.tmf, 0);
    assert_eq!(a.cmnd.direction(), Some(DataDirection::FromDevice));
    assert_eq!(&a.cmnd.cdb.as_slice()[..10], &READ10);
    assert_eq!(a.cmnd.cdb.as_slice().len(), 16);
    assert_eq!(a.cmnd.data_length, 4096);
    assert_eq!(a.entries(), 1);
    let mut out = [0u8; 64];
    assert_eq!(a.encode(&mut out), Ok(1));
    assert_eq!(out, b);
}

#[test]
fn atio7_task_attrs_and_directions() {
    let table = [
        (0u8, Some(TaskAttr::Simple)),
        (1, Some(TaskAttr::HeadOfQueue)),
        (2, Some(TaskAttr::Ordered)),
        (3, None),
        (4, Some(TaskAttr::Aca)),
        (5, Some(TaskAttr::Simple)),
        (0x7a, Some(TaskAttr::Ordered)), // priority bits ignored
    ];
    for (byte, want) in table {
        let mut b = atio_read_image();
        b[0x29] = byte;
        assert_eq!(
            Atio7::decode(&b).unwrap().cmnd.task_attr(),
            want,
            "task byte {byte:#x}"
        );
    }
    for (bits, want) in [
        (0u8, Some(DataDirection::None)),
        (1, Some(DataDirection::ToDevice)),
        (2, Some(DataDirection::FromDevice)),
        (3, None),
    ] {
        let mut b = atio_read_image();
        b[0x2B] = bits;
        assert_eq!(Atio7::decode(&b).unwrap().cmnd.direction(), want);
    }
    let mut b = atio_read_image();
    b[0x2A] = tmf::LUN_RESET;
    assert_eq!(Atio7::decode(&b).unwrap().cmnd.tmf, 0x10);
}

#[test]
fn atio7_two_entries_wrapping_the_ring() {
    // 32-byte CDB: add_cdb_len = 4, FCP_DL moves to byte 0x4C (entry 2, offset 0x0C).
    let mut b = [0u8; 128];
    b[..64].copy_from_slice(&atio_read_image());
    b[1] = 2;
    put(&mut b, 0x02, &[0x48, 0x00]);
    b[0x2B] = (4 << 2) | 0x01; // WRDATA
    let cdb: Vec<u8> = (0..32u8).map(|i| 0x7f ^ i).collect();
    put(&mut b, 0x2C, &cdb);
    put(&mut b, 0x4C, &[0x00, 0x01, 0x00, 0x00]); // 65536
    let (head, tail) = b.split_at(64);
    let a = Atio7::decode_split(Split { head, tail }).unwrap();
    assert_eq!(a.cmnd.cdb.as_slice(), &cdb[..]);
    assert_eq!(a.cmnd.cdb.add_cdb_len(), 4);
    assert_eq!(a.cmnd.data_length, 65536);
    assert_eq!(a.cmnd.direction(), Some(DataDirection::ToDevice));
    assert_eq!(a.entries(), 2);
    let mut out = [0u8; 128];
    assert_eq!(a.encode(&mut out), Ok(2));
    assert_eq!(out[..], b[..]);
    assert_eq!(atio7_entries(0), 1);
    assert_eq!(atio7_entries(16), 2);
    assert_eq!(atio7_entries(17), 3);
    assert_eq!(atio7_entries(63), 5);
}

#[test]
fn atio7_hostile_inputs_are_typed_errors() {
    let good = atio_read_image();
    assert_eq!(
        Atio7::decode(&good[..63]),
        Err(DecodeError::Short { need: 64, have: 63 })
    );
    let mut b = good;
    b[0] = 0x07;
    assert_eq!(Atio7::decode(&b), Err(DecodeError::UnknownType(0x07)));
    let mut b = good;
    put(&mut b, 0x02, &[0x37, 0x20]);
    assert_eq!(Atio7::decode(&b), Err(DecodeError::BadLength(0x37)));
    let mut b = good;
    b[1] = 0;
    assert_eq!(Atio7::decode(&b), Err(DecodeError::BadEntryCount(0)));
    let mut b = good;
    b[1] = 6;
    assert_eq!(Atio7::decode(&b), Err(DecodeError::BadEntryCount(6)));
    let mut b = good;
    b[0x2B] = 4 << 2; // needs two entries but says one
    assert_eq!(Atio7::decode(&b), Err(DecodeError::BadEntryCount(1)));
    b[1] = 2; // says two, only one present
    assert_eq!(
        Atio7::decode(&b),
        Err(DecodeError::Short {
            need: 128,
            have: 64
        })
    );
    assert!(Cdb::new(&[0; 17]).is_none());
    assert!(Cdb::new(&[0; 272]).is_none());
    assert_eq!(Cdb::new(&[1; 6]).unwrap().as_slice().len(), 16);
}

fn plogi_image() -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0] = 0x0D;
    b[1] = 1;
    put(&mut b, 0x08, &[0x05, 0x00]);
    put(&mut b, 0x0C, &[0x01, 0x00]);
    put(&mut b, 0x10, &[0x46, 0x00]);
    b[0x12] = 0x03;
    b[0x13] = 0x44;
    put(&mut b, 0x14, &0xaabb_ccddu32.to_le_bytes());
    put(&mut b, 0x20, &[0x20, 0, 0, 0x24, 0xff, 1, 2, 3]);
    put(&mut b, 0x28, &[0x21, 0, 0, 0x24, 0xff, 1, 2, 3]);
    b[0x33] = 2;
    put(&mut b, 0x38, &[0xef, 0x01, 0x0a]); // al_pa, area, domain
    put(&mut b, 0x3E, &[0x34, 0x12]);
    b
}

#[test]
fn immediate_notify_plogi_image() {
    let b = plogi_image();
    let n = ImmNotify24::decode(&b).unwrap();
    assert_eq!(n.nport_handle, Handle(5));
    assert_eq!(n.flags, 1);
    assert_eq!(n.status, 0x46);
    assert_eq!(n.status_subcode, 0x03);
    assert_eq!(n.fw_handle, 0x44);
    assert_eq!(n.exchange_address, 0xaabb_ccdd);
    assert_eq!(n.port_name, Wwpn(0x2100_0024_ff01_0203));
    assert_eq!(n.node_name(), Wwpn(0x2000_0024_ff01_0203));
    assert_eq!(n.vp_index, 2);
    assert_eq!(n.port_id, PortId::from_parts(0x0a, 0x01, 0xef));
    assert_eq!(n.ox_id, 0x1234);
    assert_eq!(n.encode(), b);
    let port = RemotePort {
        wwpn: Wwpn(0x2100_0024_ff01_0203),
        port_id: PortId::new(0x0a01ef),
        handle: Handle(5),
        vp_index: 2,
    };
    assert_eq!(
        NotifyEvent::from_notify(&n),
        NotifyEvent::Plogi {
            port,
            node_name: Wwpn(0x2000_0024_ff01_0203)
        }
    );
}

#[test]
fn immediate_notify_status_table() {
    let port = |b: &[u8; 64]| {
        let n = ImmNotify24::decode(b).unwrap();
        RemotePort {
            wwpn: n.port_name,
            port_id: n.port_id,
            handle: n.nport_handle,
            vp_index: n.vp_index,
        }
    };
    let base = plogi_image();
    let p = port(&base);
    let cases: [(u16, u8, NotifyEvent); 17] = [
        (0x46, 0x05, NotifyEvent::Logo(p)),
        (0x46, 0x21, NotifyEvent::Prlo(p)),
        (0x46, 0x24, NotifyEvent::Tprlo(p)),
        (0x46, 0x52, NotifyEvent::Adisc(p)),
        (0x46, 0x50, NotifyEvent::Pdisc(p)),
        (
            0x46,
            0x04,
            NotifyEvent::OtherEls {
                opcode: 0x04,
                port: p,
            },
        ),
        (0x29, 0, NotifyEvent::PortLogout(p)),
        (
            0x20,
            0,
            NotifyEvent::AbortTask {
                port: p,
                exchange_address: 0xaabb_ccdd,
            },
        ),
        (0x0E, 0, NotifyEvent::LipReset),
        (0x0F, 0, NotifyEvent::LinkReinit),
        (0x2A, 0, NotifyEvent::PortConfigChanged),
        (0x2D, 0, NotifyEvent::GlobalTprlo),
        (0x2E, 0, NotifyEvent::GlobalLogo),
        (0x16, 0, NotifyEvent::IocbOverflow),
        (0x34, 0, NotifyEvent::Resource),
        (0x45, 0, NotifyEvent::Srr),
        (0x99, 0, NotifyEvent::Unknown(0x99)),
    ];
    for (status, sub, want) in cases {
        let mut b = base;
        put(&mut b, 0x10, &status.to_le_bytes());
        b[0x12] = sub;
        assert_eq!(
            NotifyEvent::from_notify(&ImmNotify24::decode(&b).unwrap()),
            want,
            "{status:#x}/{sub:#x}"
        );
    }
    // PRLI: word 3 low half lives at 0x20, little-endian.
    let mut b = base;
    b[0x12] = 0x20;
    put(&mut b, 0x20, &[0x90, 0x00, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        NotifyEvent::from_notify(&ImmNotify24::decode(&b).unwrap()),
        NotifyEvent::Prli {
            port: p,
            wd3: 0x0090
        }
    );
    assert!(NotifyEvent::Logo(p).ends_sessions());
    assert!(!NotifyEvent::Adisc(p).ends_sessions());
    let mut g = ImmNotify24::decode(&base).unwrap();
    assert!(!NotifyEvent::is_global(&g));
    g.nport_handle = Handle(0xffff);
    assert!(NotifyEvent::is_global(&g));
}

#[test]
fn async_events() {
    assert_eq!(
        AsyncEvent::from_mailboxes([0x8011, 4, 0, 0]),
        AsyncEvent::LinkUp { speed: 4 }
    );
    assert_eq!(
        AsyncEvent::from_mailboxes([0x8012, 0, 0, 0]),
        AsyncEvent::LinkDown
    );
    assert_eq!(
        AsyncEvent::from_mailboxes([0x8014, 0x0007, 0x0006, 0]),
        AsyncEvent::PortDatabaseChanged {
            handle: Handle(7),
            reason: 6
        }
    );
    assert_eq!(
        AsyncEvent::from_mailboxes([0x8015, 0x000a, 0x01ef, 0]),
        AsyncEvent::Rscn {
            port_id: PortId::new(0x0a01ef),
            format: 0
        }
    );
    assert_eq!(
        AsyncEvent::from_mailboxes([0x8002, 0, 0, 0]),
        AsyncEvent::SystemError
    );
    assert_eq!(
        AsyncEvent::from_mailboxes([0x8fff, 0, 0, 0]),
        AsyncEvent::Unknown(0x8fff)
    );
}

#[test]
fn notify_ack_built_from_notify() {
    let n = ImmNotify24::decode(&plogi_image()).unwrap();
    let e = NotifyAck24::for_notify(&n, 0x0102_0304, true).encode();
    let mut want = [0u8; 64];
    want[0] = 0x0E;
    want[1] = 1;
    put(&mut want, 0x04, &[0x04, 0x03, 0x02, 0x01]);
    put(&mut want, 0x08, &[0x05, 0x00]);
    put(&mut want, 0x0C, &[0x09, 0x00]); // PUREX copied + TERMINATE (bit 3)
    put(&mut want, 0x10, &[0x46, 0x00]);
    want[0x12] = 0x03;
    want[0x13] = 0x44;
    put(&mut want, 0x14, &0xaabb_ccddu32.to_le_bytes());
    want[0x33] = 2;
    put(&mut want, 0x3E, &[0x34, 0x12]);
    assert_eq!(e, want);
    let back = NotifyAck24::decode(&e).unwrap();
    assert!(back.terminates());
    assert_eq!(back.exchange_address, 0xaabb_ccdd);
    // Completion image: status 1 at 0x10.
    let mut c = want;
    put(&mut c, 0x10, &[0x01, 0x00]);
    assert_eq!(NotifyAck24::decode(&c).unwrap().status, NOTIFY_ACK_SUCCESS);
}

#[test]
fn ctio7_mode0_image() {
    let mut b = [0u8; 64];
    b[0] = 0x12;
    b[1] = 2; // CTIO + one continuation
    put(&mut b, 0x04, &0x2000_0011u32.to_le_bytes());
    put(&mut b, 0x08, &[0x05, 0x00]);
    put(&mut b, 0x0A, &[10, 0]);
    put(&mut b, 0x0C, &[6, 0]); // 1 inline + 5 in the continuation
    b[0x0E] = 2;
    put(&mut b, 0x10, &[0x0c, 0x0b, 0x0a]); // initiator id LE
    put(&mut b, 0x14, &0x1234_5678u32.to_le_bytes());
    put(&mut b, 0x1A, &(0x8002u16 | (2 << 9)).to_le_bytes()); // SEND_STATUS|DATA_IN|attr
    put(&mut b, 0x1C, &[0, 0, 0, 0]);
    put(&mut b, 0x20, &[0x34, 0x12]); // ox_id LE
    put(&mut b, 0x22, &[0, 0]);
    put(&mut b, 0x24, &512u32.to_le_bytes());
    put(&mut b, 0x2C, &4096u32.to_le_bytes());
    put(&mut b, 0x34, &0x0000_0001_8000_0000u64.to_le_bytes());
    put(&mut b, 0x3C, &1024u32.to_le_bytes());
    let c = Ctio7::decode(&b).unwrap();
    assert_eq!(c.handle, 0x2000_0011);
    assert_eq!(c.nport_handle, Handle(5));
    assert_eq!(c.timeout, 10);
    assert_eq!(c.dseg_count, 6);
    assert_eq!(c.vp_index, 2);
    assert_eq!(c.initiator_id, PortId::new(0x0a0b0c));
    assert_eq!(c.exchange_addr, 0x1234_5678);
    assert_eq!(
        c.flags,
        ctio_flags::SEND_STATUS | ctio_flags::DATA_IN | (2 << 9)
    );
    assert_eq!(c.ox_id, 0x1234);
    assert_eq!(
        c.body,
        Ctio7Body::Mode0 {
            relative_offset: 512,
            transfer_length: 4096,
            dsd: Dsd64 {
                addr: 0x1_8000_0000,
                len: 1024
            }
        }
    );
    assert_eq!(c.encode(), b);
    // Entry count must match the segment count.
    let mut bad = b;
    bad[1] = 1;
    assert_eq!(Ctio7::decode(&bad), Err(DecodeError::BadEntryCount(1)));
    let mut m2 = b;
    put(&mut m2, 0x1A, &0x0080u16.to_le_bytes());
    assert_eq!(Ctio7::decode(&m2), Err(DecodeError::BadField(0x1A)));
}

#[test]
fn ctio7_mode1_sense_is_dword_swapped() {
    let sense: [u8; 24] = [
        0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut b = [0u8; 64];
    b[0] = 0x12;
    b[1] = 1;
    put(&mut b, 0x04, &7u32.to_le_bytes());
    put(&mut b, 0x08, &[0xff, 0xff]);
    put(&mut b, 0x14, &0x99u32.to_le_bytes());
    put(&mut b, 0x18, &[18, 0]);
    put(&mut b, 0x1A, &0x8040u16.to_le_bytes()); // SEND_STATUS|STATUS_MODE_1
    put(&mut b, 0x22, &0x0202u16.to_le_bytes()); // CHECK CONDITION + SENSE_LEN_VALID
    put(
        &mut b,
        0x28,
        &[
            0x00, 0x05, 0x00, 0x70, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x24,
        ],
    );
    let c = Ctio7::decode(&b).unwrap();
    assert_eq!(c.scsi_status, 0x02 | ss::SENSE_LEN_VALID);
    assert_eq!(
        c.body,
        Ctio7Body::Mode1 {
            sense_length: 18,
            response_len: 0,
            sense
        }
    );
    assert_eq!(c.encode(), b);
    let mut bad = b;
    put(&mut bad, 0x18, &[25, 0]);
    assert_eq!(Ctio7::decode(&bad), Err(DecodeError::BadLength(25)));
}

#[test]
fn ctio7_status_and_continuation_images() {
    let mut b = [0u8; 64];
    b[0] = 0x12;
    b[1] = 1;
    b[3] = 0x04;
    put(&mut b, 0x04, &0x2000_0011u32.to_le_bytes());
    put(&mut b, 0x08, &[0x29, 0x00]);
    b[0x0E] = 3;
    put(&mut b, 0x14, &0x55u32.to_le_bytes());
    put(&mut b, 0x1A, &[0x02, 0x80]);
    put(&mut b, 0x1C, &100u32.to_le_bytes());
    put(&mut b, 0x20, &[0x34, 0x12]);
    put(&mut b, 0x24, &4096u32.to_le_bytes());
    let s = Ctio7Status::decode(&b).unwrap();
    assert_eq!(s.status, ctio_status::PORT_LOGGED_OUT);
    assert_eq!(s.entry_status, 4);
    assert_eq!(s.combined_status(), 0x0004_0029);
    assert_eq!(
        (
            s.vp_index,
            s.exchange_address,
            s.residual,
            s.ox_id,
            s.relative_offset
        ),
        (3, 0x55, 100, 0x1234, 4096)
    );
    assert_eq!(s.encode(), b);

    let mut c = [0u8; 64];
    c[0] = 0x0A;
    c[1] = 1;
    for i in 0..5u64 {
        let off = 4 + 12 * i as usize;
        put(&mut c, off, &(0x1000 * (i + 1)).to_le_bytes());
        put(&mut c, off + 8, &(512 * (i as u32 + 1)).to_le_bytes());
    }
    let cont = ContA64::decode(&c).unwrap();
    for (i, d) in cont.dsds.iter().enumerate() {
        assert_eq!(
            *d,
            Dsd64 {
                addr: 0x1000 * (i as u64 + 1),
                len: 512 * (i as u32 + 1)
            }
        );
    }
    assert_eq!(cont.encode(), c);
}

fn abts_image() -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0] = 0x54;
    b[1] = 1;
    put(&mut b, 0x0A, &[0x05, 0x00]);
    b[0x0E] = 1;
    b[0x0F] = 0x30;
    put(&mut b, 0x10, &0x0000_2222u32.to_le_bytes());
    put(&mut b, 0x14, &[0x03, 0x02, 0x01]); // d_id LE
    b[0x17] = 0x81;
    put(&mut b, 0x18, &[0x0c, 0x0b, 0x0a]); // s_id LE
    put(&mut b, 0x1C, &[0x00, 0x00, 0x09]);
    put(&mut b, 0x24, &[0xff, 0xff]); // rx_id
    put(&mut b, 0x26, &[0x34, 0x12]); // ox_id LE
    put(&mut b, 0x3C, &0x1234_5678u32.to_le_bytes());
    b
}

#[test]
fn abts_received_and_response_images() {
    let b = abts_image();
    let a = AbtsRecv24::decode(&b).unwrap();
    assert_eq!(a.nport_handle, Handle(5));
    assert_eq!(a.vp_index, 1);
    assert_eq!(a.sof_type, 3);
    assert_eq!(a.exchange_address, 0x2222);
    assert_eq!(a.fc.d_id, PortId::new(0x010203));
    assert_eq!(a.fc.s_id, PortId::new(0x0a0b0c));
    assert_eq!(a.fc.r_ctl, 0x81);
    assert_eq!(a.fc.f_ctl, 0x090000);
    assert_eq!(a.fc.ox_id, 0x1234);
    assert_eq!(a.fc.rx_id, 0xffff);
    assert!(!a.is_abort_sequence());
    assert_eq!(a.exchange_addr_to_abort, 0x1234_5678);
    assert_eq!(a.encode(), b);

    let r = AbtsResp24::for_abts(&a, 0x0FFF_FFFF, true).encode();
    let mut want = [0u8; 64];
    want[0] = 0x55;
    want[1] = 1;
    put(&mut want, 0x04, &0x0FFF_FFFFu32.to_le_bytes());
    put(&mut want, 0x0A, &[0x05, 0x00]);
    want[0x0E] = 1;
    want[0x0F] = 0x30;
    put(&mut want, 0x10, &0x2222u32.to_le_bytes());
    put(&mut want, 0x14, &[0x0c, 0x0b, 0x0a]); // d_id = ABTS s_id
    want[0x17] = 0x84; // BA_ACC
    put(&mut want, 0x18, &[0x03, 0x02, 0x01]); // s_id = ABTS d_id
    put(&mut want, 0x1C, &[0x00, 0x00, 0x99]); // EXCH_CONTEXT|LAST_SEQ|END_SEQ|SEQ_INIT
    put(&mut want, 0x24, &[0xff, 0xff]);
    put(&mut want, 0x26, &[0x34, 0x12]);
    put(&mut want, 0x30, &[0xff, 0xff]); // BA_ACC rx_id
    put(&mut want, 0x32, &[0x34, 0x12]); // BA_ACC ox_id
    put(&mut want, 0x34, &[0xff, 0xff]); // high_seq_cnt
    put(&mut want, 0x3C, &0x1234_5678u32.to_le_bytes());
    assert_eq!(r, want);
    assert_eq!(
        AbtsResp24::decode(&r).unwrap(),
        AbtsResp24::for_abts(&a, 0x0FFF_FFFF, true)
    );

    let rj = AbtsResp24::for_abts(&a, 1, false).encode();
    assert_eq!(rj[0x17], 0x85);
    assert_eq!(rj[0x2E], 0x09);
    assert_eq!(&rj[0x30..0x38], &[0u8; 8]);
    let mut unknown = rj;
    unknown[0x17] = 0x86;
    assert_eq!(
        AbtsResp24::decode(&unknown),
        Err(DecodeError::BadField(0x17))
    );

    let mut c = [0u8; 64];
    c[0] = 0x55;
    c[1] = 1;
    put(&mut c, 0x04, &9u32.to_le_bytes());
    put(&mut c, 0x08, &[0x31, 0x00]);
    put(&mut c, 0x0A, &[0x05, 0x00]);
    put(&mut c, 0x10, &0x2222u32.to_le_bytes());
    put(&mut c, 0x34, &0x1Eu32.to_le_bytes());
    put(&mut c, 0x38, &3u32.to_le_bytes());
    put(&mut c, 0x3C, &0x1234_5678u32.to_le_bytes());
    let s = AbtsRespStatus::decode(&c).unwrap();
    assert_eq!(
        (s.handle, s.compl_status, s.nport_handle),
        (9, 0x31, Handle(5))
    );
    assert_eq!(
        (s.error_subcode1, s.error_subcode2, s.exchange_addr_to_abort),
        (0x1E, 3, 0x1234_5678)
    );
    assert_eq!(s.encode(), c);
}

#[test]
fn marker_vp_and_rida_images() {
    let mut m = [0u8; 64];
    m[0] = 0x04;
    m[1] = 1;
    put(&mut m, 0x04, &1u32.to_le_bytes());
    put(&mut m, 0x08, &[0x05, 0x00]);
    m[0x0A] = 2;
    m[0x0D] = 4;
    put(&mut m, 0x10, &[0x00, 0x07, 0, 0, 0, 0, 0, 0]);
    let mk = Marker24::decode(&m).unwrap();
    assert_eq!(
        (mk.handle, mk.nport_handle, mk.modifier, mk.vp_index, mk.lun),
        (1, Handle(5), 2, 4, Lun::from_index(7))
    );
    assert_eq!(mk.encode(), m);
    let mut bad = m;
    bad[0x0A] = 3;
    assert_eq!(Marker24::decode(&bad), Err(DecodeError::BadField(0x0A)));

    let mut v = [0u8; 64];
    v[0] = 0x30;
    v[1] = 1;
    put(&mut v, 0x04, &2u32.to_le_bytes());
    put(&mut v, 0x0C, &[0x0B, 0x00]);
    put(&mut v, 0x0E, &[0x01, 0x00]);
    v[0x10 + 1] = 0x04; // vp_index 11 -> bit 10
    let c = VpCtrl24::decode(&v).unwrap();
    assert_eq!(c.command, vce_command::DISABLE_VPS_LOGO_ALL);
    assert!(c.selects(11));
    assert!(!c.selects(10));
    assert!(!c.selects(0));
    assert_eq!(VpCtrl24::single(2, 0x0B, 11).unwrap().encode(), v);
    assert!(VpCtrl24::single(2, 0, 0).is_none());
    assert!(VpCtrl24::single(2, 0, 129).is_none());

    let mut cfg = [0u8; 64];
    cfg[0] = 0x31;
    cfg[1] = 1;
    put(&mut cfg, 0x04, &3u32.to_le_bytes());
    cfg[0x0C] = 1;
    cfg[0x0D] = 1;
    cfg[0x0E] = 5;
    cfg[0x10] = 0x08;
    put(&mut cfg, 0x14, &[0x50, 0, 0, 0, 0, 0, 0, 5]);
    put(&mut cfg, 0x1C, &[0x51, 0, 0, 0, 0, 0, 0, 5]);
    let vc = VpConfig24::decode(&cfg).unwrap();
    assert_eq!(
        (vc.command, vc.vp_count, vc.vp_index1, vc.options_idx1),
        (1, 1, 5, VP_OPT_ENABLE)
    );
    assert_eq!(vc.port_name_idx1, Wwpn(0x5000_0000_0000_0005));
    assert_eq!(vc.node_name_idx1, Wwpn(0x5100_0000_0000_0005));
    assert_eq!(vc.encode(), cfg);

    let mut r = [0u8; 64];
    r[0] = 0x32;
    r[1] = 1;
    r[0x08] = 1;
    r[0x09] = 1;
    r[0x0A] = 5;
    r[0x0B] = 2;
    put(&mut r, 0x0C, &[0x05, 0x01, 0x0a]);
    r[0x0F] = 1;
    r[0x11] = 0x06;
    put(&mut r, 0x28, &[0x20, 0, 0, 0, 0, 0, 0, 1]);
    put(&mut r, 0x30, &[0x10, 0, 0, 0, 0, 0, 0, 1]);
    let rida = Rida24::decode(&r).unwrap();
    assert_eq!(rida.vp_idx, 5);
    assert_eq!(rida.vp_status, 2);
    assert_eq!(rida.port_id, PortId::new(0x0a0105));
    assert_eq!(rida.format, RidaFormat::Fabric);
    assert_eq!(rida.flags, 6);
    assert_eq!(rida.port_name, Wwpn(0x2000_0000_0000_0001));
    assert_eq!(rida.encode(), r);
    r[0x0F] = 3;
    assert_eq!(Rida24::decode(&r), Err(DecodeError::BadField(0x0F)));
}

#[test]
fn dispatchers_reject_unknown_and_bad_counts() {
    let mut b = [0u8; 64];
    b[0] = 0x03; // status type 0 (initiator-mode entry): not ours
    b[1] = 1;
    assert_eq!(
        FwEntry::decode(Split::one(&b)),
        Err(DecodeError::UnknownType(0x03))
    );
    assert_eq!(HostEntry::decode(&b), Err(DecodeError::UnknownType(0x03)));
    let mut n = plogi_image();
    n[1] = 2;
    assert_eq!(
        FwEntry::decode(Split::one(&n)),
        Err(DecodeError::BadEntryCount(2))
    );
    assert_eq!(
        FwEntry::decode(Split::one(&n[..10])),
        Err(DecodeError::Short { need: 64, have: 10 })
    );
    assert!(matches!(
        FwEntry::decode(Split::one(&plogi_image())),
        Ok(FwEntry::ImmNotify(_))
    ));
    assert!(matches!(
        FwEntry::decode(Split::one(&atio_read_image())),
        Ok(FwEntry::Atio7(_))
    ));
    assert!(matches!(
        FwEntry::decode(Split::one(&abts_image())),
        Ok(FwEntry::AbtsRecv(_))
    ));
    // Counted-and-dropped: a batch of garbage entries yields only typed errors.
    let mut errors = 0;
    for t in 0u8..=255 {
        let mut e = [0u8; 64];
        e[0] = t;
        e[1] = 1;
        if FwEntry::decode(Split::one(&e)).is_err() {
            errors += 1;
        }
    }
    // Only types 0x0D, 0x0E, 0x12, 0x54, 0x55, 0x30, 0x31 decode from an all-zero body
    // (ATIO needs a length, RIDA format 0 is valid too).
    assert_eq!(errors, 256 - 8);
}

#[test]
fn mailbox_builders_place_parameters() {
    let c = MailboxCmd::load_risc_ram_extended(0x0010_0000, 0x1122_3344_5566_7788, 0x0001_0002);
    assert_eq!(c.mb[0], 0x0B);
    assert_eq!((c.mb[1], c.mb[8]), (0x0000, 0x0010));
    assert_eq!(
        (c.mb[2], c.mb[3], c.mb[6], c.mb[7]),
        (0x5566, 0x7788, 0x1122, 0x3344)
    );
    assert_eq!((c.mb[4], c.mb[5]), (1, 2));
    assert_eq!(c.out_mask, 0x1ff);
    assert_eq!(dma_from_mailboxes(&c.mb), 0x1122_3344_5566_7788);
    let v = MailboxCmd::verify_checksum(0x0010_0000);
    assert_eq!((v.mb[0], v.mb[1], v.mb[2]), (0x07, 0x0010, 0x0000));
    let x = MailboxCmd::execute_firmware(0x0010_0000);
    assert_eq!((x.mb[0], x.mb[1], x.mb[2]), (0x02, 0x0010, 0x0000));
    assert_eq!(MailboxCmd::get_firmware_state().mb[0], 0x69);
    assert_eq!(MailboxCmd::initialize_firmware(0, false).mb[0], 0x60);
    assert_eq!(MailboxCmd::initialize_firmware(0, true).mb[0], 0x48);
    let g = MailboxCmd::get_adapter_id(3);
    assert_eq!((g.mb[0], g.mb[9]), (0x20, 3));
    let p = MailboxCmd::get_port_database(Handle(0x81), 2, 0xdead_0000);
    assert_eq!(
        (p.mb[0], p.mb[1], p.mb[9], p.mb[2], p.mb[3]),
        (0x64, 0x81, 2, 0xdead, 0)
    );
    let l = MailboxCmd::get_id_list(1, 0x10_0000, 256);
    assert_eq!((l.mb[0], l.mb[8], l.mb[9]), (0x7C, 256, 1));
    assert_eq!(MailboxCmd::iocb_command_a64(0).mb[0], 0x54);
    let o = MailboxCmd::set_firmware_options([1, 0x0810, 3]);
    assert_eq!((o.mb[0], o.mb[1], o.mb[2], o.mb[3]), (0x38, 1, 0x0810, 3));
    assert_eq!(FwState::from_u16(3), Some(FwState::Ready));
    assert_eq!(FwState::from_u16(8), None);
}

#[test]
fn init_cb_image() {
    let mut b = [0u8; 128];
    put(&mut b, 0x00, &[1, 0]);
    put(&mut b, 0x04, &2048u16.to_le_bytes());
    put(&mut b, 0x08, &[0xff, 0xff]);
    put(&mut b, 0x0C, &[0x21, 0, 0, 0x24, 0xff, 0, 0, 1]);
    put(&mut b, 0x14, &[0x20, 0, 0, 0x24, 0xff, 0, 0, 1]);
    put(&mut b, 0x24, &128u16.to_le_bytes());
    put(&mut b, 0x26, &256u16.to_le_bytes());
    put(&mut b, 0x2C, &0x1_0000_0000u64.to_le_bytes());
    put(&mut b, 0x34, &0x1_0001_0000u64.to_le_bytes());
    put(&mut b, 0x46, &[2, 0]);
    put(&mut b, 0x4E, &64u16.to_le_bytes());
    put(&mut b, 0x50, &0x1_0002_0000u64.to_le_bytes());
    put(&mut b, 0x5C, &0x30u32.to_le_bytes());
    put(&mut b, 0x60, &(1u32 << 14).to_le_bytes());
    let icb = InitCb24::decode(&b);
    assert_eq!(icb.version, 1);
    assert_eq!(icb.frame_payload_size, 2048);
    assert_eq!(icb.exchange_count, 0xffff);
    assert_eq!(icb.port_name, Wwpn(0x2100_0024_ff00_0001));
    assert_eq!(
        (
            icb.response_q_length,
            icb.request_q_length,
            icb.atio_q_length
        ),
        (128, 256, 64)
    );
    assert_eq!(icb.request_q_address, 0x1_0000_0000);
    assert_eq!(icb.response_q_address, 0x1_0001_0000);
    assert_eq!(icb.atio_q_address, 0x1_0002_0000);
    assert_eq!(icb.msix_atio, 2);
    assert!(icb.target_mode());
    assert_eq!(
        icb.firmware_options_1 & fo1::DISABLE_INITIATOR_MODE,
        fo1::DISABLE_INITIATOR_MODE
    );
    assert_eq!(icb.firmware_options_2, fo2::TARGET_PRLI_CONTROL);
    assert_eq!(icb.encode(), b);
}

#[test]
fn port_database_and_id_list_images() {
    let mut b = [0u8; 64];
    b[2] = 0x06;
    b[3] = 0x06;
    put(&mut b, 0x08, &[0x0a, 0x01, 0xef]); // domain, area, al_pa
    put(&mut b, 0x0E, &[0x05, 0x00]);
    put(&mut b, 0x16, &[0x00, 0x90]); // word 3, big-endian
    put(&mut b, 0x18, &[0x21, 0, 0, 0x24, 0xff, 1, 2, 3]);
    put(&mut b, 0x20, &[0x20, 0, 0, 0x24, 0xff, 1, 2, 3]);
    let p = PortDb24::decode(&b);
    assert_eq!(p.current_login_state, PDS_PRLI_COMPLETE);
    assert_eq!(p.port_id, PortId::new(0x0a01ef));
    assert_eq!(p.nport_handle, Handle(5));
    assert_eq!(p.prli_word3, 0x0090);
    assert_eq!(p.port_name, Wwpn(0x2100_0024_ff01_0203));
    assert_eq!(p.encode(), b);
    let g = [0xef, 0x01, 0x0a, 0, 0x05, 0x00, 0, 0];
    assert_eq!(
        GidEntry::decode(&g),
        GidEntry {
            port_id: PortId::new(0x0a01ef),
            handle: Handle(5)
        }
    );
    assert_eq!(GidEntry::decode(&g).encode(), g);
}
