//! MODE SENSE / MODE SELECT.
mod common;

use common::*;
use scst_core::sense::{INVALID_FIELD_IN_COMMAND_IU, SOFTWARE_WRITE_PROTECTED};
use scst_core::types::{Asc, FieldPointer, SenseKey};

fn sense6(dbd: bool, pc: u8, page: u8, sub: u8, alloc: u8) -> [u8; 6] {
    [
        0x1a,
        if dbd { 0x08 } else { 0 },
        (pc << 6) | page,
        sub,
        alloc,
        0,
    ]
}

fn sense10(llbaa: bool, dbd: bool, pc: u8, page: u8, alloc: u16) -> [u8; 10] {
    let a = alloc.to_be_bytes();
    let b1 = if llbaa { 0x10 } else { 0 } | if dbd { 0x08 } else { 0 };
    [0x5a, b1, (pc << 6) | page, 0, 0, 0, 0, a[0], a[1], 0]
}

const RW_ERR: [u8; 12] = [0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const CACHING_WCE: [u8; 20] = [
    0x08, 0x12, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const CONTROL: [u8; 12] = [0x0a, 0x0a, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn mode_sense6_all_pages() {
    let mut fx = Fx::disk(100);
    let (r, d) = fx.data_in(&sense6(false, 0, 0x3f, 0, 255), 255);
    good(&r);
    let mut want = vec![55, 0, 0x10, 8, 0, 0, 0, 100, 0, 0, 2, 0];
    want.extend(RW_ERR);
    want.extend(CACHING_WCE);
    want.extend(CONTROL);
    assert_eq!(d, want);
    // All subpages is accepted too; allocation length truncates.
    let (_, d) = fx.data_in(&sense6(true, 0, 0x3f, 0xff, 10), 255);
    assert_eq!(d, [47, 0, 0x10, 0, 0x01, 0x0a, 0, 0, 0, 0]);
}

#[test]
fn mode_sense10_long_lba_and_page_controls() {
    let mut fx = Fx::disk(100);
    let (r, d) = fx.data_in(&sense10(true, false, 0, 0x08, 255), 255);
    good(&r);
    let mut want = vec![0, 42, 0, 0x10, 0x01, 0, 0, 16];
    want.extend([0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 2, 0]);
    want.extend(CACHING_WCE);
    assert_eq!(d, want);
    // Without LLBAA: short descriptor.
    let (_, d) = fx.data_in(&sense10(false, false, 0, 0x0a, 255), 255);
    assert_eq!(
        d[..16],
        [0, 26, 0, 0x10, 0, 0, 0, 8, 0, 0, 0, 100, 0, 0, 2, 0]
    );
    // DBD wins over LLBAA: no descriptor, LONGLBA clear.
    let (_, d) = fx.data_in(&sense10(true, true, 0, 0x08, 255), 255);
    assert_eq!(d[..8], [0, 26, 0, 0x10, 0, 0, 0, 0]);
    // Changeable values.
    let (_, d) = fx.data_in(&sense10(false, true, 1, 0x3f, 255), 255);
    assert_eq!(d[8..20], [0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(d[20..23], [0x08, 0x12, 0x04]);
    assert_eq!(d[40..45], [0x0a, 0x0a, 0x04, 0x00, 0x08]);
    // Defaults follow the config even after a change.
    fx.state.set_wce(false);
    let (_, d) = fx.data_in(&sense6(true, 2, 0x08, 0, 255), 255);
    assert_eq!(d[4..7], [0x08, 0x12, 0x04]);
    let (_, d) = fx.data_in(&sense6(true, 0, 0x08, 0, 255), 255);
    assert_eq!(d[4..7], [0x08, 0x12, 0x00]);
}

#[test]
fn mode_sense_errors_and_wp() {
    let mut fx = Fx::disk(100);
    let s = check(&fx.run(&sense6(false, 3, 0x08, 0, 255), &mut [0; 255]));
    assert_eq!(s.asc, Asc::SAVING_PARAMETERS_NOT_SUPPORTED);
    assert_eq!(
        s.field,
        Some(FieldPointer {
            in_cdb: true,
            byte: 2,
            bit: Some(7)
        })
    );
    assert_invalid_cdb(
        &fx.run(&sense6(false, 0, 0x1c, 0, 255), &mut [0; 255]),
        2,
        Some(5),
    );
    assert_invalid_cdb(
        &fx.run(&sense6(false, 0, 0x0a, 1, 255), &mut [0; 255]),
        3,
        Some(7),
    );
    // LLBAA is not a MODE SENSE(6) bit.
    assert_invalid_cdb(
        &fx.run(&[0x1a, 0x10, 0x3f, 0, 255, 0], &mut [0; 255]),
        1,
        Some(4),
    );
    let mut c = std_cfg(100);
    c.read_only = true;
    let mut fx = Fx::new(c);
    let (_, d) = fx.data_in(&sense6(true, 0, 0x08, 0, 255), 255);
    assert_eq!(d[2], 0x90);
}

fn select6(len: u8) -> [u8; 6] {
    [0x15, 0x10, 0, 0, len, 0]
}

fn select10(len: u16) -> [u8; 10] {
    let l = len.to_be_bytes();
    [0x55, 0x10, 0, 0, 0, 0, 0, l[0], l[1], 0]
}

fn list6(bd: &[u8], pages: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, bd.len() as u8];
    v.extend(bd);
    for p in pages {
        v.extend(*p);
    }
    v
}

#[test]
fn mode_select_changes_wce_and_notifies_once() {
    let mut fx = Fx::disk(100);
    let mut caching = CACHING_WCE;
    caching[2] = 0;
    let mut list = list6(&[], &[&caching]);
    let r = fx.run(&select6(list.len() as u8), &mut list);
    good(&r);
    assert_eq!(r.data_len, 24);
    assert!(!fx.state.wce());
    assert_eq!(fx.hooks.mode_changed, 1);
    // Same values again: no change, no notification.
    let mut list = list6(&[], &[&caching]);
    good(&fx.run(&select6(list.len() as u8), &mut list));
    assert_eq!(fx.hooks.mode_changed, 1);
    // PS set (as MODE SENSE data might carry) is accepted; block descriptor matching ours.
    let mut on = CACHING_WCE;
    on[0] |= 0x80;
    let mut list = list6(&[0, 0, 0, 100, 0, 0, 2, 0], &[&on]);
    good(&fx.run(&select6(list.len() as u8), &mut list));
    assert!(fx.state.wce());
    assert_eq!(fx.hooks.mode_changed, 2);
}

#[test]
fn mode_select_control_page() {
    let mut fx = Fx::disk(100);
    let mut control = CONTROL;
    control[2] = 0x04; // D_SENSE
    control[4] = 0x08; // SWP
    let mut list = vec![0u8; 8];
    list.extend(control);
    good(&fx.run(&select10(list.len() as u16), &mut list));
    assert!(fx.state.d_sense() && fx.state.swp());
    assert_sense(
        &fx.run(&rw10(0x2a, 0, 1), &mut [0; 512]),
        SenseKey::DataProtect,
        SOFTWARE_WRITE_PROTECTED,
    );
    let (_, d) = fx.data_in(&sense6(true, 0, 0x0a, 0, 255), 255);
    assert_eq!(d[2], 0x90); // WP reported while SWP is set
    assert_eq!(d[4..9], [0x0a, 0x0a, 0x04, 0x10, 0x08]);
}

#[test]
fn mode_select_rejects() {
    let mut fx = Fx::disk(100);
    // A non-changeable bit: caching byte 3 -> parameter list byte 4 + 3.
    let mut caching = CACHING_WCE;
    caching[3] = 0x01;
    let mut list = list6(&[], &[&caching]);
    assert_invalid_param(&fx.run(&select6(24), &mut list), 7, Some(0));
    // QAM changed in the control page.
    let mut control = CONTROL;
    control[3] = 0x00;
    let mut list = list6(&[], &[&RW_ERR, &control]);
    assert_invalid_param(&fx.run(&select6(28), &mut list), 4 + 12 + 3, Some(4));
    // Wrong page length, unknown page, subpage format.
    let mut bad = CACHING_WCE;
    bad[1] = 0x10;
    assert_invalid_param(&fx.run(&select6(24), &mut list6(&[], &[&bad])), 5, Some(7));
    let mut bad = RW_ERR;
    bad[0] = 0x1c;
    assert_invalid_param(&fx.run(&select6(16), &mut list6(&[], &[&bad])), 4, Some(5));
    bad[0] = 0x41;
    assert_invalid_param(&fx.run(&select6(16), &mut list6(&[], &[&bad])), 4, Some(6));
    // Block descriptor with another block length / block count.
    let mut list = list6(&[0, 0, 0, 0, 0, 0, 0x10, 0], &[]);
    assert_invalid_param(&fx.run(&select6(12), &mut list), 9, None);
    let mut list = list6(&[0, 0, 0, 99, 0, 0, 2, 0], &[]);
    assert_invalid_param(&fx.run(&select6(12), &mut list), 4, None);
    // Truncated page.
    let mut list = list6(&[], &[&CACHING_WCE]);
    let r = fx.run(&select6(14), &mut list);
    assert_sense(
        &r,
        SenseKey::IllegalRequest,
        Asc::PARAMETER_LIST_LENGTH_ERROR,
    );
    let r = fx.run(&select6(2), &mut list);
    assert_sense(
        &r,
        SenseKey::IllegalRequest,
        Asc::PARAMETER_LIST_LENGTH_ERROR,
    );
    // SP: saving is not supported.
    let mut c = select6(24);
    c[1] = 0x11;
    assert_invalid_cdb(&fx.run(&c, &mut list), 1, Some(0));
    // Parameter list longer than the data-out.
    let r = fx.run(&select6(24), &mut [0; 10]);
    assert_sense(&r, SenseKey::IllegalRequest, INVALID_FIELD_IN_COMMAND_IU);
    // Zero length: nothing to do.
    good(&fx.run(&select6(0), &mut []));
    // Nothing was changed by any of the rejected lists.
    assert!(fx.state.wce() && !fx.state.d_sense() && !fx.state.swp());
    assert_eq!(fx.hooks.mode_changed, 0);
}

#[test]
fn mode_select10_long_lba_descriptor() {
    let mut fx = Fx::disk(100);
    let mut list = vec![0, 0, 0, 0, 0x01, 0, 0, 16];
    list.extend([0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 2, 0]);
    let mut caching = CACHING_WCE;
    caching[2] = 0;
    list.extend(caching);
    good(&fx.run(&select10(list.len() as u16), &mut list));
    assert!(!fx.state.wce());
    // Descriptor length not a multiple of the descriptor size.
    let mut list = vec![0, 0, 0, 0, 0x01, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_invalid_param(&fx.run(&select10(16), &mut list), 6, None);
}
