// SPDX-License-Identifier: GPL-2.0
//! Pure text helpers for configfs attributes and directory names (KUnit-tested below).

/// What a text value was refused for; the caller turns it into EINVAL and a log line.
pub(crate) type Why = &'static str;

/// The value written to an attribute without one trailing newline (what `echo` adds).
pub(crate) fn trim_nl(buf: &[u8]) -> &[u8] {
    match buf.split_last() {
        Some((b'\n', rest)) => rest,
        _ => buf,
    }
}

/// `0` or `1`.
pub(crate) fn parse_bool(buf: &[u8]) -> Result<bool, Why> {
    match trim_nl(buf) {
        b"0" => Ok(false),
        b"1" => Ok(true),
        _ => Err("expected 0 or 1"),
    }
}

/// A decimal u64 without sign, spaces or leading zeros (except "0" itself).
pub(crate) fn parse_u64(buf: &[u8]) -> Result<u64, Why> {
    let t = trim_nl(buf);
    if t.is_empty() {
        return Err("expected a decimal number");
    }
    if t.len() > 1 && t.first() == Some(&b'0') {
        return Err("leading zeros are not allowed");
    }
    let mut v: u64 = 0;
    for &b in t {
        if !b.is_ascii_digit() {
            return Err("expected a decimal number");
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or("number too large")?;
    }
    Ok(v)
}

/// A LUN directory name: decimal 0..=255.
pub(crate) fn parse_lun(name: &[u8]) -> Result<u16, Why> {
    match parse_u64(name) {
        Ok(n) if n < 256 => Ok(n as u16),
        Ok(_) => Err("LUN must be 0..255"),
        Err(w) => Err(w),
    }
}

/// Relative target port identifier: 1..=65535.
pub(crate) fn parse_rel_port(buf: &[u8]) -> Result<u16, Why> {
    match parse_u64(buf) {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(_) => Err("rel_port must be 1..65535"),
        Err(w) => Err(w),
    }
}

/// Device and group names: `[A-Za-z0-9_.:-]{1,32}`.
pub(crate) fn check_name(name: &[u8]) -> Result<(), Why> {
    if name.is_empty() || name.len() > 32 {
        return Err("name must be 1..32 characters");
    }
    if !name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err("name may only contain A-Z a-z 0-9 _ . : -");
    }
    Ok(())
}

/// A T10 identification field: printable ASCII, at most `max` bytes, not empty.
pub(crate) fn check_ident(buf: &[u8], max: usize) -> Result<&[u8], Why> {
    let t = trim_nl(buf);
    if t.is_empty() || t.len() > max {
        return Err("length out of range");
    }
    if !t.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err("only printable ASCII is allowed");
    }
    Ok(t)
}

/// Space-pads `src` into a fixed T10 field (the caller checked the length).
pub(crate) fn pad_ident<const N: usize>(src: &[u8]) -> [u8; N] {
    let mut out = [b' '; N];
    for (d, s) in out.iter_mut().zip(src) {
        *d = *s;
    }
    out
}

/// A padded T10 field without its trailing spaces.
pub(crate) fn unpad(field: &[u8]) -> &[u8] {
    let end = field
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(0, |i| i.saturating_add(1));
    field.get(..end).unwrap_or(&[])
}

/// FNV-1a, 64 bit: a stable hash so NAA identifiers survive reboots and reloads.
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// IEEE OUI used in NAA designators. 0x001405 would be LIO's; Ferrule has none registered,
/// so it uses the IEEE "locally administered" style placeholder below, documented as such.
pub(crate) const FERRULE_OUI: u32 = 0x00_0000;

/// NAA 6 identifier derived from the unit serial (stable: same serial, same NAA).
pub(crate) fn naa_from_serial(serial: &[u8]) -> [u8; 16] {
    let h = fnv1a(serial);
    let h2 = fnv1a(&h.to_be_bytes());
    scst_core::device::naa_registered_extended(FERRULE_OUI, h >> 28, h2)
}

/// Lowercase hex of `bytes` into `out`; returns the used part.
pub(crate) fn hex<'a>(bytes: &[u8], out: &'a mut [u8; 64]) -> &'a [u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut n = 0usize;
    for &b in bytes.iter().take(32) {
        if let Some([hi, lo]) = out.get_mut(n..n.saturating_add(2)) {
            *hi = DIGITS[usize::from(b >> 4)];
            *lo = DIGITS[usize::from(b & 0xf)];
            n = n.saturating_add(2);
        }
    }
    out.get(..n).unwrap_or(&[])
}

#[kernel::prelude::kunit_tests(ferrule_cfs_parse)]
mod tests {
    use super::*;

    #[test]
    fn bools() {
        assert_eq!(parse_bool(b"1\n"), Ok(true));
        assert_eq!(parse_bool(b"0"), Ok(false));
        assert!(parse_bool(b"2").is_err());
        assert!(parse_bool(b"1\n\n").is_err());
        assert!(parse_bool(b"").is_err());
        assert!(parse_bool(b" 1").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0\n"), Ok(0));
        assert_eq!(parse_u64(b"1048576"), Ok(1_048_576));
        assert_eq!(parse_u64(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_u64(b"18446744073709551616").is_err());
        assert!(parse_u64(b"012").is_err());
        assert!(parse_u64(b"-1").is_err());
        assert!(parse_u64(b"1k").is_err());
        assert!(parse_u64(b"\n").is_err());
    }

    #[test]
    fn luns_and_ports() {
        assert_eq!(parse_lun(b"0"), Ok(0));
        assert_eq!(parse_lun(b"255"), Ok(255));
        assert!(parse_lun(b"256").is_err());
        assert!(parse_lun(b"07").is_err());
        assert_eq!(parse_rel_port(b"65535\n"), Ok(65535));
        assert!(parse_rel_port(b"0").is_err());
        assert!(parse_rel_port(b"65536").is_err());
    }

    #[test]
    fn names() {
        assert!(check_name(b"disk-1.a:b_c").is_ok());
        assert!(check_name(b"").is_err());
        assert!(check_name(b"a b").is_err());
        assert!(check_name(b"a/b").is_err());
        assert!(check_name(&[b'x'; 32]).is_ok());
        assert!(check_name(&[b'x'; 33]).is_err());
    }

    #[test]
    fn idents() {
        assert_eq!(check_ident(b"ACME\n", 8), Ok(&b"ACME"[..]));
        assert!(check_ident(b"ABCDEFGHI", 8).is_err());
        assert!(check_ident(b"\n", 8).is_err());
        assert!(check_ident(b"A\x01", 8).is_err());
        assert_eq!(pad_ident::<8>(b"ACME"), *b"ACME    ");
        assert_eq!(unpad(b"ACME    "), b"ACME");
        assert_eq!(unpad(b"        "), b"");
    }

    #[test]
    fn naa_is_stable_and_distinct() {
        let a = naa_from_serial(b"disk1");
        assert_eq!(a, naa_from_serial(b"disk1"));
        assert_ne!(a, naa_from_serial(b"disk2"));
        assert_eq!(a[0] >> 4, 6);
        let mut buf = [0u8; 64];
        assert_eq!(hex(&[0x6a, 0x01], &mut buf), b"6a01");
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
