//! SPC-4 command emulation and the exec framework (decode, hooks, errors, residuals).
mod common;

use common::*;
use scst_core::exec::{execute_no_lu, CmdContext, Residual};
use scst_core::sense::INVALID_FIELD_IN_COMMAND_IU;
use scst_core::types::{Asc, FieldPointer, Lun, ScsiStatus, Sense, SenseKey, Wwpn};

fn inquiry(evpd: bool, page: u8, alloc: u16) -> [u8; 6] {
    let a = alloc.to_be_bytes();
    [0x12, u8::from(evpd), page, a[0], a[1], 0]
}

#[test]
fn inquiry_standard_data() {
    let mut fx = Fx::disk(100);
    let (r, d) = fx.data_in(&inquiry(false, 0, 255), 255);
    good(&r);
    assert_eq!(d.len(), 74);
    assert_eq!(r.residual, Residual::Underrun(255 - 74));
    assert_eq!(d[..8], [0x00, 0x00, 0x06, 0x12, 69, 0x10, 0x00, 0x02]);
    assert_eq!(&d[8..16], b"FERRULE ");
    assert_eq!(&d[16..32], b"VDISK           ");
    assert_eq!(&d[32..36], b"0001");
    assert_eq!(d[36..58], [0; 22]);
    assert_eq!(d[58..66], [0x00, 0xa0, 0x04, 0x60, 0x04, 0xc0, 0x0a, 0x40]);
}

#[test]
fn inquiry_allocation_length_truncates() {
    let mut fx = Fx::disk(100);
    let (r, d) = fx.data_in(&inquiry(false, 0, 5), 5);
    good(&r);
    assert_eq!(d, [0x00, 0x00, 0x06, 0x12, 69]);
    assert_eq!(r.residual, Residual::None);
    // Buffer smaller than the allocation length: the rest is an overrun.
    let (r, d) = fx.data_in(&inquiry(false, 0, 36), 20);
    assert_eq!(d.len(), 20);
    assert_eq!(r.residual, Residual::Overrun(16));
    // Zero allocation length: nothing transferred, still GOOD.
    let (r, d) = fx.data_in(&inquiry(false, 0, 0), 0);
    good(&r);
    assert!(d.is_empty());
}

#[test]
fn inquiry_field_errors() {
    let mut fx = Fx::disk(100);
    let r = fx.run(&inquiry(false, 0x80, 255), &mut [0; 255]);
    assert_invalid_cdb(&r, 2, Some(7));
    let r = fx.run(&[0x12, 0x02, 0, 0, 255, 0], &mut [0; 255]); // CMDDT
    assert_invalid_cdb(&r, 1, Some(1));
    let r = fx.run(&inquiry(true, 0x86, 255), &mut [0; 255]);
    assert_invalid_cdb(&r, 2, Some(7));
    let r = fx.run(&inquiry(true, 0xb2, 255), &mut [0; 255]); // thick: no B2
    assert_invalid_cdb(&r, 2, Some(7));
}

#[test]
fn vpd_supported_pages_and_serial() {
    let mut fx = Fx::disk(100);
    let (r, d) = fx.data_in(&inquiry(true, 0, 255), 255);
    good(&r);
    assert_eq!(d, [0, 0, 0, 5, 0x00, 0x80, 0x83, 0xb0, 0xb1]);
    let mut fx = Fx::thin(100);
    let (_, d) = fx.data_in(&inquiry(true, 0, 255), 255);
    assert_eq!(d, [0, 0, 0, 6, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
    let (_, d) = fx.data_in(&inquiry(true, 0x80, 255), 255);
    assert_eq!(d, b"\x00\x80\x00\x07FRL0001");
}

#[test]
fn vpd_device_identification() {
    let mut fx = Fx::disk(100);
    fx.ctx_patch = Some(Box::new(|c: &mut CmdContext<'_>| {
        c.target_wwpn = Wwpn(0x5001_4050_0000_0001);
        c.rel_port_id = 2;
        c.tpg_id = 7;
    }));
    let (r, d) = fx.data_in(&inquiry(true, 0x83, 255), 255);
    good(&r);
    let mut want = vec![0x00, 0x83, 0x00, 67];
    want.extend([
        0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x51, 0x23, 0x45, 0x67, 0x89,
    ]);
    want.extend([0, 0, 0, 0, 0, 0, 0xab, 0xcd]);
    want.extend([0x02, 0x01, 0x00, 15]);
    want.extend(b"FERRULE FRL0001");
    want.extend([0x01, 0x94, 0x00, 0x04, 0, 0, 0, 2]);
    want.extend([0x01, 0x93, 0x00, 0x08, 0x50, 0x01, 0x40, 0x50, 0, 0, 0, 1]);
    want.extend([0x01, 0x95, 0x00, 0x04, 0, 0, 0, 7]);
    assert_eq!(d, want);
}

#[test]
fn vpd_block_limits_characteristics_provisioning() {
    let mut c = std_cfg(1000);
    c.thin = true;
    c.max_caw_blocks = 4;
    c.physical_block_exp = 3;
    c.opt_xfer_blocks = 128;
    c.max_unmap_blocks = 0x1000;
    c.max_unmap_descriptors = 16;
    c.unmap_granularity = 8;
    c.max_write_same_blocks = 0x2000;
    let mut fx = Fx::new(c);
    let (r, d) = fx.data_in(&inquiry(true, 0xb0, 255), 255);
    good(&r);
    assert_eq!(d.len(), 64);
    assert_eq!(d[..8], [0, 0xb0, 0, 0x3c, 0x01, 4, 0, 8]);
    assert_eq!(d[8..16], [0, 0, 0x04, 0x00, 0, 0, 0, 128]);
    assert_eq!(d[20..32], [0, 0, 0x10, 0, 0, 0, 0, 16, 0, 0, 0, 8]);
    assert_eq!(d[36..44], [0, 0, 0, 0, 0, 0, 0x20, 0]);
    let (_, d) = fx.data_in(&inquiry(true, 0xb1, 255), 255);
    assert_eq!(d.len(), 64);
    assert_eq!(d[..8], [0, 0xb1, 0, 0x3c, 0, 1, 0, 0]);
    let (_, d) = fx.data_in(&inquiry(true, 0xb2, 255), 255);
    assert_eq!(d, [0, 0xb2, 0, 4, 0, 0xe4, 0x02, 0]);
}

fn report_luns(select: u8, alloc: u32) -> [u8; 12] {
    let a = alloc.to_be_bytes();
    [0xa0, 0, select, 0, 0, 0, a[0], a[1], a[2], a[3], 0, 0]
}

#[test]
fn report_luns_lists_the_nexus_map() {
    let mut fx = Fx::disk(10);
    fx.luns = vec![Lun::from_index(0), Lun::from_index(5), Lun::from_index(300)];
    for select in [0, 2] {
        let (r, d) = fx.data_in(&report_luns(select, 1024), 1024);
        good(&r);
        let mut want = vec![0, 0, 0, 24, 0, 0, 0, 0];
        want.extend([0, 0, 0, 0, 0, 0, 0, 0]);
        want.extend([0, 5, 0, 0, 0, 0, 0, 0]);
        want.extend([0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
        assert_eq!(d, want);
    }
    // Truncated: the header still tells the full length.
    let (r, d) = fx.data_in(&report_luns(0, 16), 16);
    good(&r);
    assert_eq!(d, [0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(r.residual, Residual::None);
    // Well-known LUs only: none.
    let (_, d) = fx.data_in(&report_luns(1, 64), 64);
    assert_eq!(d, [0; 8]);
    assert_invalid_cdb(&fx.run(&report_luns(3, 64), &mut [0; 64]), 2, None);
    assert_invalid_cdb(&fx.run(&report_luns(0, 15), &mut [0; 64]), 6, None);
}

#[test]
fn request_sense_formats() {
    let mut fx = Fx::disk(10);
    let (r, d) = fx.data_in(&[0x03, 0, 0, 0, 252, 0], 252);
    good(&r);
    assert_eq!(
        d,
        [0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    fx.ctx_patch = Some(Box::new(|c: &mut CmdContext<'_>| {
        c.pending_sense = Some(Sense::unit_attention(Asc::POWER_ON_RESET));
    }));
    let (_, d) = fx.data_in(&[0x03, 0, 0, 0, 252, 0], 252);
    assert_eq!(d[..3], [0x70, 0, 0x06]);
    assert_eq!(d[12..14], [0x29, 0x00]);
    let (_, d) = fx.data_in(&[0x03, 1, 0, 0, 252, 0], 252);
    assert_eq!(d, [0x72, 0x06, 0x29, 0x00, 0, 0, 0, 0]);
    let (_, d) = fx.data_in(&[0x03, 0, 0, 0, 4, 0], 252);
    assert_eq!(d, [0x70, 0, 0x06, 0]);
    // Stopped LU without pending sense reports NOT READY.
    fx.ctx_patch = None;
    fx.state.set_stopped(true);
    let (r, d) = fx.data_in(&[0x03, 0, 0, 0, 18, 0], 18);
    good(&r);
    assert_eq!((d[2], d[12], d[13]), (0x02, 0x04, 0x02));
}

#[test]
fn test_unit_ready_and_stop() {
    let mut fx = Fx::disk(10);
    good(&fx.run(&[0, 0, 0, 0, 0, 0], &mut []));
    good(&fx.run(&[0x1b, 0, 0, 0, 0x00, 0], &mut []));
    assert_eq!(fx.be.flushes.get(), 1);
    assert_sense(
        &fx.run(&[0, 0, 0, 0, 0, 0], &mut []),
        SenseKey::NotReady,
        Asc::LU_NOT_READY_STOPPED,
    );
    assert_sense(
        &fx.run(&rw10(0x28, 0, 1), &mut [0; 512]),
        SenseKey::NotReady,
        Asc::LU_NOT_READY_STOPPED,
    );
    // Non-media commands still work while stopped.
    good(&fx.run(&inquiry(false, 0, 36), &mut [0; 36]));
    good(&fx.run(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut [0; 8]));
    good(&fx.run(&[0x1b, 1, 0, 0, 0x01, 0], &mut []));
    good(&fx.run(&[0, 0, 0, 0, 0, 0], &mut []));
    // NO_FLUSH.
    good(&fx.run(&[0x1b, 0, 0, 0, 0x04, 0], &mut []));
    assert_eq!(fx.be.flushes.get(), 1);
    // Power conditions are not supported.
    assert_invalid_cdb(&fx.run(&[0x1b, 0, 0, 0, 0x11, 0], &mut []), 4, Some(4));
}

#[test]
fn unknown_opcodes_and_reserved_bits() {
    let mut fx = Fx::disk(10);
    let r = fx.run(&[0xc0, 0, 0, 0, 0, 0], &mut []);
    let s = check(&r);
    assert_eq!(s, Sense::invalid_opcode());
    assert_eq!(
        s.field,
        Some(FieldPointer {
            in_cdb: true,
            byte: 0,
            bit: Some(7)
        })
    );
    // Unknown service action of a known opcode.
    assert_invalid_cdb(
        &fx.run(
            &[0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0],
            &mut [],
        ),
        1,
        Some(4),
    );
    // PR and RESERVE are invalid opcodes until the module is wired.
    assert_eq!(
        check(&fx.run(&[0x5e, 0, 0, 0, 0, 0, 0, 0, 8, 0], &mut [0; 8])),
        Sense::invalid_opcode()
    );
    assert_eq!(
        check(&fx.run(&[0x16, 0, 0, 0, 0, 0], &mut [])),
        Sense::invalid_opcode()
    );
    // Reserved bit in TEST UNIT READY byte 1, NACA in the control byte.
    assert_invalid_cdb(&fx.run(&[0, 0x01, 0, 0, 0, 0], &mut []), 1, Some(0));
    assert_invalid_cdb(&fx.run(&[0, 0, 0, 0, 0, 0x04], &mut []), 5, Some(2));
    // RDPROTECT (no protection information).
    let mut c = rw10(0x28, 0, 1);
    c[1] = 0x60;
    assert_invalid_cdb(&fx.run(&c, &mut [0; 512]), 1, Some(6));
    // CDB shorter than its opcode needs.
    assert_invalid_cdb(&fx.run(&[0x28, 0, 0, 0], &mut []), 4, None);
    // Empty CDB.
    assert_eq!(check(&fx.run(&[], &mut [])), Sense::invalid_opcode());
}

#[test]
fn hooks_order_ua_then_pr() {
    let mut fx = Fx::disk(10);
    let ua = Sense::unit_attention(Asc::REPORTED_LUNS_DATA_CHANGED);
    // INQUIRY does not consume the UA.
    fx.hooks.ua = Some(ua);
    good(&fx.run(&inquiry(false, 0, 36), &mut [0; 36]));
    good(&fx.run(&report_luns(0, 64), &mut [0; 64]));
    assert_eq!(fx.hooks.ua_calls, 0);
    // An unknown opcode gets the UA first.
    assert_eq!(check(&fx.run(&[0xc0, 0, 0, 0, 0, 0], &mut [])), ua);
    assert_eq!(fx.hooks.ua_calls, 1);
    assert_eq!(
        check(&fx.run(&[0xc0, 0, 0, 0, 0, 0], &mut [])),
        Sense::invalid_opcode()
    );
    // Reservation conflict: status without sense, after CDB validation.
    fx.hooks.conflict = true;
    let r = fx.run(&rw10(0x2a, 0, 1), &mut [0; 512]);
    assert_eq!(
        (r.status, r.sense, r.data_len),
        (ScsiStatus::ReservationConflict, None, 0)
    );
    assert_invalid_cdb(&fx.run(&[0, 0x01, 0, 0, 0, 0], &mut []), 1, Some(0));
    // UA beats the conflict.
    fx.hooks.ua = Some(ua);
    assert_eq!(check(&fx.run(&rw10(0x2a, 0, 1), &mut [0; 512])), ua);
}

#[test]
fn persistent_reserve_dispatch_when_wired() {
    let mut fx = Fx::disk(10);
    fx.hooks.wired = true;
    let (r, d) = fx.data_in(&[0x5e, 0x00, 0, 0, 0, 0, 0, 0, 4, 0], 16);
    good(&r);
    assert_eq!(d, [0, 0, 0, 1]);
    assert_eq!(r.residual, Residual::Underrun(12));
    assert_eq!(fx.hooks.pr_in_calls, 1);
    let mut param = vec![0u8; 24];
    param[7] = 0x11;
    let r = fx.run(&[0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0], &mut param);
    good(&r);
    assert_eq!(fx.hooks.pr_out_param, param);
    // Parameter list longer than the data-out buffer.
    let r = fx.run(&[0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0], &mut [0; 10]);
    assert_sense(&r, SenseKey::IllegalRequest, INVALID_FIELD_IN_COMMAND_IU);
    good(&fx.run(&[0x16, 0, 0, 0, 0, 0], &mut []));
    good(&fx.run(&[0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut []));
    assert_eq!(fx.hooks.reserve_calls, 2);
}

#[test]
fn no_lu_answers() {
    let luns = [Lun::from_index(1)];
    let ctx = CmdContext::simple(&luns);
    let mut buf = [0u8; 96];
    let r = execute_no_lu(&ctx, &inquiry(false, 0, 96), &mut buf[..]);
    good(&r);
    assert_eq!(r.data_len, 74);
    assert_eq!(buf[0], 0x7f);
    let r = execute_no_lu(&ctx, &report_luns(0, 96), &mut buf[..]);
    good(&r);
    assert_eq!(buf[..16], [0, 0, 0, 8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let r = execute_no_lu(&ctx, &rw10(0x28, 0, 1), &mut buf[..]);
    assert_sense(&r, SenseKey::IllegalRequest, Asc::LU_NOT_SUPPORTED);
    let r = execute_no_lu(&ctx, &[0x03, 0, 0, 0, 18, 0], &mut buf[..]);
    good(&r);
    assert_eq!((buf[2], buf[12], buf[13]), (0x05, 0x25, 0x00));
}

#[test]
fn report_supported_opcodes_all() {
    let mut fx = Fx::disk(10);
    let (r, d) = fx.data_in(&maint_in(0x0c, 0, 0, 0, 4096), 4096);
    good(&r);
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
    assert_eq!(d.len(), 4 + n);
    let descs: Vec<&[u8]> = d[4..].chunks(8).collect();
    // Thick, PR unwired: no PR rows, no UNMAP, no GET LBA STATUS; COMPARE AND WRITE yes.
    assert_eq!(descs.len(), 49 - 12 - 4 - 1 - 1);
    assert!(descs
        .iter()
        .all(|x| x[0] != 0x5e && x[0] != 0x42 && x[0] != 0x16));
    let rc16 = descs.iter().find(|x| x[0] == 0x9e).unwrap();
    assert_eq!(rc16, &[0x9e, 0, 0, 0x10, 0, 0x01, 0, 16]);
    let r10 = descs.iter().find(|x| x[0] == 0x28).unwrap();
    assert_eq!(r10, &[0x28, 0, 0, 0, 0, 0, 0, 10]);
    // With RCTD each descriptor carries a timeouts descriptor.
    fx.hooks.wired = true;
    let (_, d) = fx.data_in(&maint_in(0x0c, 0x80, 0, 0, 4096), 4096);
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
    assert_eq!(n, (49 - 2) * 20);
    assert_eq!(
        d[4..24],
        [0x00, 0, 0, 0, 0, 0x02, 0, 6, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn report_supported_opcodes_one() {
    let mut fx = Fx::disk(10);
    let (r, d) = fx.data_in(&maint_in(0x0c, 1, 0x28, 0, 64), 64);
    good(&r);
    assert_eq!(
        d,
        [0, 0x03, 0, 10, 0x28, 0x1e, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0]
    );
    // RCTD adds CTDP and the timeouts descriptor.
    let (_, d) = fx.data_in(&maint_in(0x0c, 0x81, 0x00, 0, 64), 64);
    assert_eq!(d[..2], [0, 0x83]);
    assert_eq!(d.len(), 4 + 6 + 12);
    // Opcode with service actions in option 1 is an error; option 2 and 3 work.
    assert_invalid_cdb(
        &fx.run(&maint_in(0x0c, 1, 0x9e, 0, 64), &mut [0; 64]),
        3,
        None,
    );
    let (_, d) = fx.data_in(&maint_in(0x0c, 2, 0x9e, 0x10, 64), 64);
    assert_eq!(d[..6], [0, 0x03, 0, 16, 0x9e, 0x10]);
    let (_, d) = fx.data_in(&maint_in(0x0c, 3, 0xa3, 0x0c, 64), 64);
    assert_eq!(d[..7], [0, 0x03, 0, 12, 0xa3, 0x0c, 0x87]);
    let (_, d) = fx.data_in(&maint_in(0x0c, 3, 0x2a, 0, 64), 64);
    assert_eq!(d[..4], [0, 0x03, 0, 10]);
    // Option 2 on an opcode without service actions is an error.
    assert_invalid_cdb(
        &fx.run(&maint_in(0x0c, 2, 0x28, 0, 64), &mut [0; 64]),
        3,
        None,
    );
    // Unsupported: SUPPORT 001b.
    for cdb in [
        maint_in(0x0c, 1, 0xc0, 0, 64),
        maint_in(0x0c, 1, 0x42, 0, 64),
        maint_in(0x0c, 2, 0x9e, 0x13, 64),
    ] {
        let (r, d) = fx.data_in(&cdb, 64);
        good(&r);
        assert_eq!(d, [0, 0x01, 0, 0]);
    }
    assert_invalid_cdb(
        &fx.run(&maint_in(0x0c, 4, 0x28, 0, 64), &mut [0; 64]),
        2,
        Some(2),
    );
}

#[test]
fn report_supported_tmfs_formats() {
    let mut fx = Fx::disk(10);
    let (r, d) = fx.data_in(&maint_in(0x0d, 0, 0, 0, 64), 64);
    good(&r);
    assert_eq!(d, [0xd8, 0, 0, 0]);
    let (_, d) = fx.data_in(&maint_in(0x0d, 0x80, 0, 0, 64), 64);
    assert_eq!(d, [0xd8, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn report_target_port_groups() {
    let mut fx = Fx::disk(10);
    fx.ctx_patch = Some(Box::new(|c: &mut CmdContext<'_>| {
        c.tpg_id = 3;
        c.rel_port_id = 1;
        c.tpg_ports = &[1, 2];
    }));
    let (r, d) = fx.data_in(&maint_in(0x0a, 0, 0, 0, 256), 256);
    good(&r);
    assert_eq!(
        d,
        [0, 0, 0, 16, 0x00, 0x01, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]
    );
    let (_, d) = fx.data_in(&maint_in(0x2a, 0, 0, 0, 256), 256);
    assert_eq!(d[..8], [0, 0, 0, 20, 0x10, 0, 0, 0]);
    assert_eq!(d.len(), 24);
    assert_invalid_cdb(
        &fx.run(&maint_in(0x4a, 0, 0, 0, 256), &mut [0; 256]),
        1,
        Some(6),
    );
}

#[test]
fn sense_format_follows_d_sense() {
    let mut fx = Fx::disk(10);
    let r = fx.run(&[0xc0, 0, 0, 0, 0, 0], &mut []);
    let mut out = [0u8; 32];
    assert_eq!(r.write_sense(fx.state.d_sense(), &mut out), 18);
    fx.state.set_d_sense(true);
    assert_eq!(r.write_sense(fx.state.d_sense(), &mut out), 16);
    assert_eq!(
        out[..16],
        [0x72, 0x05, 0x20, 0x00, 0, 0, 0, 8, 0x02, 0x06, 0, 0, 0xcf, 0, 0, 0]
    );
}
