//! SBC-3 command emulation against the RAM disk.
mod common;

use common::*;
use scst_core::backend::IoError;
use scst_core::exec::Residual;
use scst_core::sense::{
    INVALID_FIELD_IN_COMMAND_IU, MISCOMPARE_DURING_VERIFY, SOFTWARE_WRITE_PROTECTED,
    SPACE_ALLOCATION_FAILED,
};
use scst_core::types::{Asc, SenseKey};

#[test]
fn read_capacity_10_and_16() {
    let mut fx = Fx::disk(1000);
    let (r, d) = fx.data_in(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8);
    good(&r);
    assert_eq!(d, [0, 0, 0x03, 0xe7, 0, 0, 0x02, 0x00]);
    // LBA without PMI is invalid; with PMI accepted.
    assert_invalid_cdb(
        &fx.run(&[0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0], &mut [0; 8]),
        2,
        None,
    );
    good(&fx.run(&[0x25, 0, 0, 0, 0, 1, 0, 0, 1, 0], &mut [0; 8]));
    let mut c16 = [0u8; 16];
    c16[0] = 0x9e;
    c16[1] = 0x10;
    c16[13] = 32;
    let (r, d) = fx.data_in(&c16, 32);
    good(&r);
    let mut want = [0u8; 32];
    want[6..8].copy_from_slice(&[0x03, 0xe7]);
    want[10] = 0x02;
    assert_eq!(d, want);
    c16[13] = 12;
    let (r, d) = fx.data_in(&c16, 32);
    assert_eq!(d.len(), 12);
    assert_eq!(r.residual, Residual::Underrun(20));
}

#[test]
fn read_capacity_large_and_thin() {
    let mut c = std_cfg(0x1_0000_0001);
    c.thin = true;
    c.block_size = 4096;
    c.physical_block_exp = 0;
    // A huge capacity: skip Fx (it allocates), exercise READ CAPACITY directly.
    let state = scst_core::device::LuState::new(&c);
    let be = scst_core::backend::NullBackend;
    let lu = scst_core::exec::Lu {
        config: &c,
        state: &state,
        backend: &be,
    };
    let ctx = scst_core::exec::CmdContext::simple(&[]);
    let mut h = scst_core::exec::NoHooks;
    let mut d = [0u8; 32];
    let r = scst_core::exec::execute(
        &lu,
        &ctx,
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &mut d[..8],
        &mut h,
    );
    good(&r);
    assert_eq!(d[..8], [0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0]);
    let mut c16 = [0u8; 16];
    c16[0] = 0x9e;
    c16[1] = 0x10;
    c16[13] = 32;
    good(&scst_core::exec::execute(
        &lu,
        &ctx,
        &c16,
        &mut d[..],
        &mut h,
    ));
    assert_eq!(
        d[..16],
        [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0xc0, 0]
    );
}

#[test]
fn write_then_read_every_cdb_size() {
    let mut fx = Fx::disk(1000);
    let data = pattern(4 * 512, 7);
    let cases: [(Vec<u8>, Vec<u8>); 4] = [
        (rw6(0x0a, 10, 4).to_vec(), rw6(0x08, 10, 4).to_vec()),
        (rw10(0x2a, 20, 4).to_vec(), rw10(0x28, 20, 4).to_vec()),
        (rw12(0xaa, 30, 4).to_vec(), rw12(0xa8, 30, 4).to_vec()),
        (rw16(0x8a, 40, 4).to_vec(), rw16(0x88, 40, 4).to_vec()),
    ];
    for (w, rd) in cases {
        let mut buf = data.clone();
        let r = fx.run(&w, &mut buf);
        good(&r);
        assert_eq!((r.data_len, r.residual), (2048, Residual::None));
        let (r, back) = fx.data_in(&rd, 2048);
        good(&r);
        assert_eq!(back, data);
    }
    assert_eq!(fx.block(21), data[512..1024]);
}

#[test]
fn six_byte_zero_length_means_256() {
    let mut fx = Fx::disk(1000);
    let mut buf = pattern(256 * 512, 1);
    good(&fx.run(&rw6(0x0a, 0, 0), &mut buf));
    assert_eq!(fx.block(255), buf[255 * 512..]);
    let (r, d) = fx.data_in(&rw6(0x08, 0, 0), 256 * 512);
    good(&r);
    assert_eq!(d, buf);
    // 256 blocks from LBA 800 passes the end.
    assert_oor(&fx.run(&rw6(0x08, 800, 0), &mut vec![0; 256 * 512]));
}

#[test]
fn boundary_lbas() {
    let mut fx = Fx::disk(1000);
    // Last block.
    good(&fx.run(&rw10(0x2a, 999, 1), &mut [9u8; 512]));
    assert_eq!(fx.block(999), vec![9u8; 512]);
    // One past the end, and a range crossing it.
    assert_oor(&fx.run(&rw10(0x2a, 1000, 1), &mut [0; 512]));
    assert_oor(&fx.run(&rw10(0x28, 998, 3), &mut [0; 1536]));
    // lba + len overflowing u64.
    assert_oor(&fx.run(&rw16(0x88, u64::MAX, 2), &mut [0; 1024]));
    assert_oor(&fx.run(&rw16(0x8a, u64::MAX - 1, 4), &mut [0; 2048]));
    // Zero length: GOOD without transfer, but the LBA must exist.
    let r = fx.run(&rw10(0x28, 999, 0), &mut [0; 512]);
    good(&r);
    assert_eq!((r.data_len, r.residual), (0, Residual::Underrun(512)));
    assert_oor(&fx.run(&rw10(0x28, 1000, 0), &mut []));
    // Maximum transfer length (1024 blocks in std_cfg).
    assert_invalid_cdb(&fx.run(&rw10(0x28, 0, 1025), &mut []), 7, None);
    assert_invalid_cdb(&fx.run(&rw16(0x88, 0, 1025), &mut []), 10, None);
    assert_invalid_cdb(&fx.run(&rw12(0xa8, 0, 1025), &mut []), 6, None);
}

#[test]
fn residuals_against_the_buffer() {
    let mut fx = Fx::disk(100);
    let data = pattern(8 * 512, 3);
    good(&fx.run(&rw10(0x2a, 0, 8), &mut data.clone()));
    // Short read buffer: the blocks that fit, overrun residual.
    let (r, d) = fx.data_in(&rw10(0x28, 0, 8), 3 * 512 + 100);
    good(&r);
    assert_eq!(d, data[..3 * 512]);
    assert_eq!(r.residual, Residual::Overrun(8 * 512 - (3 * 512 + 100)));
    // Long buffer: underrun.
    let (r, d) = fx.data_in(&rw10(0x28, 0, 2), 4096);
    assert_eq!(d, data[..1024]);
    assert_eq!(r.residual, Residual::Underrun(4096 - 1024));
    // Short write buffer: refused, nothing written.
    let r = fx.run(&rw10(0x2a, 0, 4), &mut vec![0xaa; 1024]);
    assert_sense(&r, SenseKey::IllegalRequest, INVALID_FIELD_IN_COMMAND_IU);
    assert_eq!(r.residual, Residual::Overrun(1024));
    assert_eq!(fx.block(0), data[..512]);
    // Long write buffer: writes the CDB's blocks, underrun.
    let r = fx.run(&rw10(0x2a, 50, 1), &mut vec![0xbb; 2048]);
    good(&r);
    assert_eq!(r.residual, Residual::Underrun(1536));
    assert_eq!(fx.block(51), vec![0; 512]);
}

#[test]
fn fua_and_write_cache() {
    let mut fx = Fx::disk(100);
    good(&fx.run(&rw10(0x2a, 0, 1), &mut [0; 512]));
    assert_eq!(fx.be.last_fua.get(), Some(false));
    let mut c = rw10(0x2a, 0, 1);
    c[1] = 0x08;
    good(&fx.run(&c, &mut [0; 512]));
    assert_eq!(fx.be.last_fua.get(), Some(true));
    // WRITE AND VERIFY writes through.
    good(&fx.run(&rw10(0x2e, 0, 1), &mut [0; 512]));
    assert_eq!(fx.be.last_fua.get(), Some(true));
    // WCE off: every write is FUA.
    fx.state.set_wce(false);
    good(&fx.run(&rw10(0x2a, 0, 1), &mut [0; 512]));
    assert_eq!(fx.be.last_fua.get(), Some(true));
    // WRITE(6) has no FUA bit.
    fx.state.set_wce(true);
    good(&fx.run(&rw6(0x0a, 1, 1), &mut [0; 512]));
    assert_eq!(fx.be.last_fua.get(), Some(false));
}

#[test]
fn write_protection() {
    let mut c = std_cfg(100);
    c.read_only = true;
    let mut fx = Fx::new(c);
    for cdb in [
        &rw10(0x2a, 0, 1)[..],
        &rw16(0x8a, 0, 1)[..],
        &rw10(0x41, 0, 1)[..],
        &rw10(0x2e, 0, 1)[..],
    ] {
        assert_sense(
            &fx.run(cdb, &mut [0; 512]),
            SenseKey::DataProtect,
            Asc::WRITE_PROTECTED,
        );
    }
    good(&fx.run(&rw10(0x28, 0, 1), &mut [0; 512]));
    let mut fx = Fx::disk(100);
    fx.state.set_swp(true);
    assert_sense(
        &fx.run(&rw10(0x2a, 0, 1), &mut [0; 512]),
        SenseKey::DataProtect,
        SOFTWARE_WRITE_PROTECTED,
    );
}

#[test]
fn verify_bytchk() {
    let mut fx = Fx::disk(100);
    let data = pattern(1024, 5);
    good(&fx.run(&rw10(0x2a, 10, 2), &mut data.clone()));
    good(&fx.run(&rw10(0x2f, 10, 2), &mut []));
    let mut c = rw10(0x2f, 10, 2);
    c[1] = 0x02;
    good(&fx.run(&c, &mut data.clone()));
    let mut bad = data.clone();
    bad[700] ^= 1;
    let s = check(&fx.run(&c, &mut bad));
    assert_eq!(
        (s.key, s.asc, s.information),
        (SenseKey::Miscompare, MISCOMPARE_DURING_VERIFY, Some(700))
    );
    let mut c16 = rw16(0x8f, 10, 2);
    c16[1] = 0x02;
    good(&fx.run(&c16, &mut data.clone()));
    c16[1] = 0x06; // BYTCHK 11b
    assert_invalid_cdb(&fx.run(&c16, &mut data.clone()), 1, Some(2));
    assert_oor(&fx.run(&rw10(0x2f, 99, 2), &mut []));
}

#[test]
fn synchronize_cache() {
    let mut fx = Fx::disk(100);
    good(&fx.run(&rw10(0x35, 0, 0), &mut []));
    good(&fx.run(&rw16(0x91, 50, 50), &mut []));
    assert_eq!(fx.be.flushes.get(), 2);
    assert_oor(&fx.run(&rw10(0x35, 50, 51), &mut []));
    assert_oor(&fx.run(&rw16(0x91, 100, 0), &mut []));
}

#[test]
fn backend_errors_map_to_sense() {
    let mut fx = Fx::disk(100);
    fx.be.disk.fail_next(IoError::Read(Some(7)));
    let s = check(&fx.run(&rw10(0x28, 7, 1), &mut [0; 512]));
    assert_eq!(
        (s.key, s.asc, s.information),
        (SenseKey::MediumError, Asc::UNRECOVERED_READ_ERROR, Some(7))
    );
    fx.be.disk.fail_next(IoError::Write(None));
    assert_sense(
        &fx.run(&rw10(0x2a, 7, 1), &mut [0; 512]),
        SenseKey::MediumError,
        Asc::WRITE_ERROR,
    );
    fx.be.disk.fail_next(IoError::NoSpace);
    assert_sense(
        &fx.run(&rw10(0x2a, 7, 1), &mut [0; 512]),
        SenseKey::DataProtect,
        SPACE_ALLOCATION_FAILED,
    );
    fx.be.disk.fail_next(IoError::Failed);
    assert_sense(
        &fx.run(&rw10(0x35, 0, 0), &mut []),
        SenseKey::HardwareError,
        Asc::INTERNAL_TARGET_FAILURE,
    );
}

fn unmap_list(descs: &[(u64, u32)]) -> Vec<u8> {
    let bd = 16 * descs.len();
    let mut v = vec![0u8; 8];
    v[0..2].copy_from_slice(&((bd + 6) as u16).to_be_bytes());
    v[2..4].copy_from_slice(&(bd as u16).to_be_bytes());
    for (lba, n) in descs {
        v.extend(lba.to_be_bytes());
        v.extend(n.to_be_bytes());
        v.extend([0; 4]);
    }
    v
}

fn unmap_cdb(len: usize) -> [u8; 10] {
    let l = (len as u16).to_be_bytes();
    [0x42, 0, 0, 0, 0, 0, 0, l[0], l[1], 0]
}

#[test]
fn unmap_thin() {
    let mut fx = Fx::thin(100);
    good(&fx.run(&rw10(0x2a, 0, 20), &mut vec![1; 20 * 512]));
    let mut list = unmap_list(&[(2, 3), (10, 0), (15, 5)]);
    let r = fx.run(&unmap_cdb(list.len()), &mut list);
    good(&r);
    let mapped: Vec<bool> = (0..21).map(|l| fx.be.disk.is_mapped(l)).collect();
    let want: Vec<bool> = (0..21)
        .map(|l| l < 20 && !(2..5).contains(&l) && !(15..20).contains(&l))
        .collect();
    assert_eq!(mapped, want);
    assert_eq!(fx.block(3), vec![0; 512]);
    // Zero parameter length: nothing.
    good(&fx.run(&unmap_cdb(0), &mut []));
    // An out-of-range descriptor fails the whole command before anything is unmapped.
    let mut list = unmap_list(&[(0, 1), (99, 2)]);
    assert_oor(&fx.run(&unmap_cdb(list.len()), &mut list));
    assert!(fx.be.disk.is_mapped(0));
    // Header-only list shorter than 8 bytes.
    let r = fx.run(&unmap_cdb(6), &mut [0; 6]);
    assert_sense(
        &r,
        SenseKey::IllegalRequest,
        Asc::PARAMETER_LIST_LENGTH_ERROR,
    );
    // Block descriptor length past the list.
    let mut list = unmap_list(&[(0, 1)]);
    list[3] = 32;
    let r = fx.run(&unmap_cdb(24), &mut list);
    assert_sense(
        &r,
        SenseKey::IllegalRequest,
        Asc::PARAMETER_LIST_LENGTH_ERROR,
    );
    // ANCHOR is not supported.
    let mut c = unmap_cdb(24);
    c[1] = 1;
    assert_invalid_cdb(&fx.run(&c, &mut unmap_list(&[(0, 1)])), 1, Some(0));
}

#[test]
fn unmap_limits() {
    let mut c = std_cfg(100);
    c.thin = true;
    c.max_unmap_descriptors = 2;
    c.max_unmap_blocks = 4;
    let mut fx = Fx::new(c);
    let mut list = unmap_list(&[(0, 1), (1, 1), (2, 1)]);
    assert_invalid_param(&fx.run(&unmap_cdb(list.len()), &mut list), 2, None);
    let mut list = unmap_list(&[(0, 1), (10, 5)]);
    assert_invalid_param(&fx.run(&unmap_cdb(list.len()), &mut list), 8 + 16 + 8, None);
    // Thick devices do not have UNMAP.
    let mut fx = Fx::disk(100);
    let mut list = unmap_list(&[(0, 1)]);
    let s = check(&fx.run(&unmap_cdb(list.len()), &mut list));
    assert_eq!(s.asc, Asc::INVALID_COMMAND_OPCODE);
}

#[test]
fn write_same_variants() {
    let mut fx = Fx::thin(100);
    let block = pattern(512, 9);
    let r = fx.run(&rw10(0x41, 10, 5), &mut block.clone());
    good(&r);
    assert_eq!(r.data_len, 512);
    for l in 10..15 {
        assert_eq!(fx.block(l), block);
        assert!(fx.be.disk.is_mapped(l));
    }
    assert!(!fx.be.disk.is_mapped(15));
    // UNMAP with a zero block deallocates.
    let mut c = rw16(0x93, 11, 2);
    c[1] = 0x08;
    good(&fx.run(&c, &mut [0; 512]));
    assert!(!fx.be.disk.is_mapped(11) && !fx.be.disk.is_mapped(12) && fx.be.disk.is_mapped(13));
    // NDOB: no data-out, zeros.
    let mut c = rw16(0x93, 13, 2);
    c[1] = 0x01;
    let r = fx.run(&c, &mut []);
    good(&r);
    assert_eq!(fx.block(13), vec![0; 512]);
    // Zero blocks (WSNZ), past the end, missing data-out.
    assert_invalid_cdb(&fx.run(&rw10(0x41, 0, 0), &mut [0; 512]), 7, None);
    assert_invalid_cdb(&fx.run(&rw16(0x93, 0, 0), &mut [0; 512]), 10, None);
    assert_oor(&fx.run(&rw10(0x41, 99, 2), &mut [0; 512]));
    assert_sense(
        &fx.run(&rw10(0x41, 0, 1), &mut [0; 100]),
        SenseKey::IllegalRequest,
        INVALID_FIELD_IN_COMMAND_IU,
    );
    // UNMAP on a thick device, and the WRITE SAME length limit.
    let mut c = std_cfg(100);
    c.max_write_same_blocks = 8;
    let mut fx = Fx::new(c);
    let mut cdb = rw10(0x41, 0, 1);
    cdb[1] = 0x08;
    assert_invalid_cdb(&fx.run(&cdb, &mut [0; 512]), 1, Some(3));
    assert_invalid_cdb(&fx.run(&rw10(0x41, 0, 9), &mut [0; 512]), 7, None);
    good(&fx.run(&rw10(0x41, 0, 8), &mut [0; 512]));
}

fn caw(lba: u64, n: u8) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x89;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[13] = n;
    c
}

#[test]
fn compare_and_write() {
    let mut c = std_cfg(100);
    c.max_caw_blocks = 2;
    let mut fx = Fx::new(c);
    let old = pattern(1024, 1);
    let new = pattern(1024, 2);
    good(&fx.run(&rw10(0x2a, 5, 2), &mut old.clone()));
    let mut buf = [old.clone(), new.clone()].concat();
    let r = fx.run(&caw(5, 2), &mut buf);
    good(&r);
    assert_eq!(r.data_len, 2048);
    assert_eq!([fx.block(5), fx.block(6)].concat(), new);
    // Miscompare: INFORMATION holds the offset, nothing written.
    let mut wrong = [old.clone(), pattern(1024, 3)].concat();
    wrong[600] = new[600] ^ 0xff;
    wrong[..600].copy_from_slice(&new[..600]);
    wrong[601..1024].copy_from_slice(&new[601..]);
    let s = check(&fx.run(&caw(5, 2), &mut wrong));
    assert_eq!(
        (s.key, s.asc, s.information),
        (SenseKey::Miscompare, MISCOMPARE_DURING_VERIFY, Some(600))
    );
    assert_eq!([fx.block(5), fx.block(6)].concat(), new);
    // Limits and edge cases.
    assert_invalid_cdb(&fx.run(&caw(5, 3), &mut vec![0; 3072]), 13, None);
    good(&fx.run(&caw(5, 0), &mut []));
    assert_oor(&fx.run(&caw(99, 2), &mut vec![0; 2048]));
    assert_sense(
        &fx.run(&caw(5, 2), &mut vec![0; 1024]),
        SenseKey::IllegalRequest,
        INVALID_FIELD_IN_COMMAND_IU,
    );
}

fn gls(lba: u64, alloc: u32) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[0] = 0x9e;
    c[1] = 0x12;
    c[2..10].copy_from_slice(&lba.to_be_bytes());
    c[10..14].copy_from_slice(&alloc.to_be_bytes());
    c
}

#[test]
fn get_lba_status() {
    let mut fx = Fx::thin(100);
    good(&fx.run(&rw10(0x2a, 10, 5), &mut vec![1; 5 * 512]));
    let (r, d) = fx.data_in(&gls(8, 1024), 1024);
    good(&r);
    let mut want = vec![0, 0, 0, 52, 0, 0, 0, 0];
    for (lba, n, st) in [(8u64, 2u32, 1u8), (10, 5, 0), (15, 85, 1)] {
        want.extend(lba.to_be_bytes());
        want.extend(n.to_be_bytes());
        want.extend([st, 0, 0, 0]);
    }
    assert_eq!(d, want);
    // Room for one descriptor only: the header counts what was produced.
    let (r, d) = fx.data_in(&gls(8, 24), 24);
    good(&r);
    assert_eq!(d[..4], [0, 0, 0, 20]);
    assert_eq!(d.len(), 24);
    // Allocation length below one descriptor still reports its length.
    let (_, d) = fx.data_in(&gls(0, 8), 8);
    assert_eq!(d[..4], [0, 0, 0, 20]);
    assert_oor(&fx.run(&gls(100, 1024), &mut [0; 1024]));
    // Thick: GET LBA STATUS is an unsupported service action.
    let mut fx = Fx::disk(100);
    assert_invalid_cdb(&fx.run(&gls(0, 1024), &mut [0; 1024]), 1, Some(4));
}
