//! Sense data formatting (SPC-4 4.5): fixed (70h) and descriptor (72h) formats built from
//! [`Sense`].

use crate::types::{Asc, FieldPointer, Sense, SenseKey};

/// Largest sense data this module produces (descriptor format with information and
/// sense-key-specific descriptors is 28 bytes; fixed format is 18).
pub const MAX_SENSE_LEN: usize = 28;

/// Length of fixed-format sense data.
pub const FIXED_SENSE_LEN: usize = 18;

/// ILLEGAL REQUEST, INVALID FIELD IN COMMAND INFORMATION UNIT: the data-out the initiator
/// sent is shorter than the CDB requires (FCP overrun on a write).
pub const INVALID_FIELD_IN_COMMAND_IU: Asc = Asc(0x0e, 0x03);
/// LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED (after START STOP UNIT stop).
pub const LU_NOT_READY_INIT_REQUIRED: Asc = Asc(0x04, 0x02);
/// WRITE PROTECTED: LOGICAL UNIT SOFTWARE WRITE PROTECTED (control mode page SWP).
pub const SOFTWARE_WRITE_PROTECTED: Asc = Asc(0x27, 0x02);
/// SPACE ALLOCATION FAILED WRITE PROTECT (thin pool exhausted).
pub const SPACE_ALLOCATION_FAILED: Asc = Asc(0x27, 0x07);
/// MISCOMPARE DURING VERIFY OPERATION.
pub const MISCOMPARE_DURING_VERIFY: Asc = Asc(0x1d, 0x00);

/// The three sense-key-specific bytes for a field pointer (SKSV set).
fn sks_bytes(f: &FieldPointer) -> [u8; 3] {
    let mut b0 = 0x80u8; // SKSV
    if f.in_cdb {
        b0 |= 0x40; // C/D
    }
    if let Some(bit) = f.bit {
        b0 |= 0x08 | (bit & 0x07); // BPV + bit pointer
    }
    let [hi, lo] = f.byte.to_be_bytes();
    [b0, hi, lo]
}

/// Writes fixed-format sense data into `out`, truncated to `out.len()`; returns the bytes
/// written. INFORMATION values that do not fit in 32 bits leave VALID clear.
pub fn format_fixed(s: &Sense, out: &mut [u8]) -> usize {
    let mut b = [0u8; FIXED_SENSE_LEN];
    b[0] = 0x70;
    b[2] = s.key as u8 & 0x0f;
    if let Some(info) = s.information {
        if let Ok(v) = u32::try_from(info) {
            b[0] |= 0x80;
            b[3..7].copy_from_slice(&v.to_be_bytes());
        }
    }
    b[7] = (FIXED_SENSE_LEN - 8) as u8;
    b[12] = s.asc.0;
    b[13] = s.asc.1;
    if let Some(f) = &s.field {
        b[15..18].copy_from_slice(&sks_bytes(f));
    }
    copy_out(&b, out)
}

/// Writes descriptor-format sense data (information and sense-key-specific descriptors when
/// present) into `out`, truncated to `out.len()`; returns the bytes written.
pub fn format_descriptor(s: &Sense, out: &mut [u8]) -> usize {
    let mut b = [0u8; MAX_SENSE_LEN];
    b[0] = 0x72;
    b[1] = s.key as u8 & 0x0f;
    b[2] = s.asc.0;
    b[3] = s.asc.1;
    let mut len = 8;
    if let Some(info) = s.information {
        b[8] = 0x00; // information descriptor
        b[9] = 0x0a;
        b[10] = 0x80; // VALID
        b[12..20].copy_from_slice(&info.to_be_bytes());
        len = 20;
    }
    if let Some(f) = &s.field {
        let d = [0x02, 0x06, 0, 0];
        if let Some(dst) = b.get_mut(len..len + 4) {
            dst.copy_from_slice(&d);
        }
        if let Some(dst) = b.get_mut(len + 4..len + 7) {
            dst.copy_from_slice(&sks_bytes(f));
        }
        len += 8;
    }
    b[7] = (len - 8) as u8;
    copy_out(b.get(..len).unwrap_or(&b), out)
}

/// Formats `s` in descriptor format when `descriptor` is true, else fixed format.
pub fn format(s: &Sense, descriptor: bool, out: &mut [u8]) -> usize {
    if descriptor {
        format_descriptor(s, out)
    } else {
        format_fixed(s, out)
    }
}

/// The sense reported when nothing is pending (REQUEST SENSE): NO SENSE, no additional code.
pub const fn no_sense() -> Sense {
    Sense::new(SenseKey::NoSense, Asc::NO_ADDITIONAL)
}

fn copy_out(src: &[u8], out: &mut [u8]) -> usize {
    let n = src.len().min(out.len());
    if let (Some(d), Some(s)) = (out.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_invalid_field_in_cdb() {
        let s = Sense::invalid_cdb_field(2, Some(5));
        let mut out = [0xffu8; 32];
        assert_eq!(format_fixed(&s, &mut out), 18);
        assert_eq!(
            out[..18],
            [0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0xcd, 0x00, 0x02]
        );
        assert_eq!(out[18], 0xff);
    }

    #[test]
    fn fixed_param_field_without_bit_and_info() {
        let mut s = Sense::invalid_param_field(0x1234, None);
        s.information = Some(0xdead_beef);
        let mut out = [0u8; 18];
        format_fixed(&s, &mut out);
        assert_eq!(out[0], 0xf0);
        assert_eq!(out[3..7], [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(out[12..14], [0x26, 0x00]);
        assert_eq!(out[15..18], [0x80, 0x12, 0x34]);
    }

    #[test]
    fn fixed_info_too_large_is_not_valid() {
        let mut s = Sense::lba_out_of_range();
        s.information = Some(1 << 40);
        let mut out = [0u8; 18];
        format_fixed(&s, &mut out);
        assert_eq!(out[0], 0x70);
        assert_eq!(out[3..7], [0; 4]);
    }

    #[test]
    fn fixed_truncates() {
        let s = Sense::unit_attention(Asc::POWER_ON_RESET);
        let mut out = [0u8; 8];
        assert_eq!(format_fixed(&s, &mut out), 8);
        assert_eq!(out, [0x70, 0, 0x06, 0, 0, 0, 0, 10]);
        assert_eq!(format_fixed(&s, &mut []), 0);
    }

    #[test]
    fn descriptor_plain() {
        let s = Sense::unit_attention(Asc::MODE_PARAMETERS_CHANGED);
        let mut out = [0u8; 32];
        assert_eq!(format_descriptor(&s, &mut out), 8);
        assert_eq!(out[..8], [0x72, 0x06, 0x2a, 0x01, 0, 0, 0, 0]);
    }

    #[test]
    fn descriptor_info_and_sks() {
        let s = Sense {
            key: SenseKey::Miscompare,
            asc: MISCOMPARE_DURING_VERIFY,
            field: Some(FieldPointer {
                in_cdb: true,
                byte: 13,
                bit: None,
            }),
            information: Some(0x1_0000_0001),
        };
        let mut out = [0u8; 32];
        assert_eq!(format(&s, true, &mut out), 28);
        assert_eq!(out[..8], [0x72, 0x0e, 0x1d, 0x00, 0, 0, 0, 20]);
        assert_eq!(out[8..20], [0, 0x0a, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(out[20..28], [0x02, 0x06, 0, 0, 0xc0, 0, 13, 0]);
    }
}
