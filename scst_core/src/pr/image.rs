//! The APTPL image: registrations, keys, reservation and PRgeneration as a versioned,
//! checksummed byte string the kernel glue stores across power loss.
//!
//! Layout (big-endian):
//! ```text
//!  0..4   magic "FRPR"
//!  4      version (1)
//!  5      flags: bit 0 APTPL, bit 1 reservation present
//!  6      reservation TYPE code (0 without reservation)
//!  7      reserved (0)
//!  8..12  PRgeneration
//! 12..14  registration count n
//! 14..16  index of the holder's registration; 0xffff for All Registrants / none
//! 16..    n × 20 bytes: WWPN (8), relative target port (2), flags (bit 0 ALL_TG_PT),
//!         reserved (1), reservation key (8)
//! then    CRC-32 (IEEE 802.3) of every preceding byte
//! ```

use super::{PrNexus, PrState, PrType, Registration, Reservation};
use crate::types::Wwpn;

const MAGIC: [u8; 4] = *b"FRPR";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 16;
const ENTRY_LEN: usize = 20;
const CRC_LEN: usize = 4;
const NO_HOLDER: u16 = 0xffff;
const FLAG_APTPL: u8 = 0x01;
const FLAG_RESERVED: u8 = 0x02;
const ENTRY_ALL_TG_PT: u8 = 0x01;

/// Why an APTPL image could not be written or read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PrImageError {
    /// The output buffer is smaller than the image (`needed` bytes).
    BufferTooSmall {
        /// Size of the image.
        needed: usize,
    },
    /// The image is shorter than its header and entries say.
    Truncated,
    /// Not a Ferrule PR image.
    BadMagic,
    /// A version this code does not read.
    UnsupportedVersion,
    /// The checksum does not match: the image is corrupt.
    BadChecksum,
    /// More registrations than this table holds.
    TooManyRegistrations,
    /// Well-formed bytes describing an impossible state (bad type, holder, zero key,
    /// duplicate nexus, reserved bits set).
    Inconsistent,
}

/// CRC-32 (reflected, polynomial 0xedb88320) as used by Ethernet and zlib.
pub(super) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

fn get<const L: usize>(s: &[u8], at: usize) -> [u8; L] {
    let mut b = [0u8; L];
    if let Some(src) = s.get(at..at.saturating_add(L)) {
        b.copy_from_slice(src);
    }
    b
}

/// One decoded image entry.
fn entry(image: &[u8], i: usize) -> (PrNexus, u8, u8, u64) {
    let at = HEADER_LEN.saturating_add(i.saturating_mul(ENTRY_LEN));
    let nexus = PrNexus {
        initiator: Wwpn(u64::from_be_bytes(get(image, at))),
        rel_port: u16::from_be_bytes(get(image, at.saturating_add(8))),
    };
    let [flags, reserved] = get::<2>(image, at.saturating_add(10));
    let key = u64::from_be_bytes(get(image, at.saturating_add(12)));
    (nexus, flags, reserved, key)
}

impl<const N: usize> PrState<N> {
    /// Largest image a `PrState<N>` can produce.
    pub const IMAGE_MAX_LEN: usize = HEADER_LEN + ENTRY_LEN * N + CRC_LEN;

    /// Length of the image [`PrState::export`] writes for the current state.
    pub fn image_len(&self) -> usize {
        HEADER_LEN
            .saturating_add(self.registration_count().saturating_mul(ENTRY_LEN))
            .saturating_add(CRC_LEN)
    }

    /// Writes the APTPL image into `out` and returns its length.
    pub fn export(&self, out: &mut [u8]) -> Result<usize, PrImageError> {
        let len = self.image_len();
        let Some(image) = out.get_mut(..len) else {
            return Err(PrImageError::BufferTooSmall { needed: len });
        };
        let count = self.registration_count();
        let mut holder_index = NO_HOLDER;
        let mut flags = 0u8;
        let mut ty = 0u8;
        if self.aptpl {
            flags |= FLAG_APTPL;
        }
        if let Some(res) = self.reservation {
            flags |= FLAG_RESERVED;
            ty = res.ty.code();
            if let Some(h) = res.holder {
                let pos = self.regs.iter().flatten().position(|r| r.nexus == h);
                holder_index = pos.and_then(|p| u16::try_from(p).ok()).unwrap_or(NO_HOLDER);
            }
        }
        let mut w = 0usize;
        let mut put = |bytes: &[u8]| {
            for &b in bytes {
                if let Some(slot) = image.get_mut(w) {
                    *slot = b;
                }
                w = w.saturating_add(1);
            }
        };
        put(&MAGIC);
        put(&[VERSION, flags, ty, 0]);
        put(&self.generation.to_be_bytes());
        put(&u16::try_from(count).unwrap_or(u16::MAX).to_be_bytes());
        put(&holder_index.to_be_bytes());
        for r in self.regs.iter().flatten() {
            put(&r.nexus.initiator.to_be_bytes());
            put(&r.nexus.rel_port.to_be_bytes());
            put(&[if r.all_tg_pt { ENTRY_ALL_TG_PT } else { 0 }, 0]);
            put(&r.key.to_be_bytes());
        }
        let body = len.saturating_sub(CRC_LEN);
        let crc = crc32(image.get(..body).unwrap_or(&[]));
        if let Some(tail) = image.get_mut(body..) {
            tail.copy_from_slice(&crc.to_be_bytes());
        }
        Ok(len)
    }

    /// Replaces registrations, reservation, PRgeneration and APTPL with those of `image`.
    /// The image is validated completely first: on error the state is unchanged. The SPC-2
    /// reservation is not part of the image and is left as it is.
    pub fn import(&mut self, image: &[u8]) -> Result<(), PrImageError> {
        if image.len() < HEADER_LEN + CRC_LEN {
            return Err(PrImageError::Truncated);
        }
        if get::<4>(image, 0) != MAGIC {
            return Err(PrImageError::BadMagic);
        }
        let [version, flags, ty_code, reserved] = get::<4>(image, 4);
        if version != VERSION {
            return Err(PrImageError::UnsupportedVersion);
        }
        let count = usize::from(u16::from_be_bytes(get(image, 12)));
        let len = count
            .checked_mul(ENTRY_LEN)
            .and_then(|e| e.checked_add(HEADER_LEN + CRC_LEN))
            .ok_or(PrImageError::Truncated)?;
        if image.len() < len {
            return Err(PrImageError::Truncated);
        }
        if image.len() > len {
            return Err(PrImageError::Inconsistent);
        }
        let body = len.saturating_sub(CRC_LEN);
        let stored_crc = u32::from_be_bytes(get(image, body));
        if crc32(image.get(..body).unwrap_or(&[])) != stored_crc {
            return Err(PrImageError::BadChecksum);
        }
        if count > N {
            return Err(PrImageError::TooManyRegistrations);
        }
        if reserved != 0 || flags & !(FLAG_APTPL | FLAG_RESERVED) != 0 {
            return Err(PrImageError::Inconsistent);
        }
        let generation = u32::from_be_bytes(get(image, 8));
        let holder_index = u16::from_be_bytes(get(image, 14));
        for i in 0..count {
            let (nexus, eflags, ereserved, key) = entry(image, i);
            if key == 0 || eflags & !ENTRY_ALL_TG_PT != 0 || ereserved != 0 {
                return Err(PrImageError::Inconsistent);
            }
            if (0..i).any(|j| entry(image, j).0 == nexus) {
                return Err(PrImageError::Inconsistent);
            }
        }
        let reservation = if flags & FLAG_RESERVED != 0 {
            let ty = PrType::from_code(ty_code).ok_or(PrImageError::Inconsistent)?;
            let holder = if ty.all_registrants() {
                if holder_index != NO_HOLDER || count == 0 {
                    return Err(PrImageError::Inconsistent);
                }
                None
            } else {
                if usize::from(holder_index) >= count {
                    return Err(PrImageError::Inconsistent);
                }
                Some(entry(image, usize::from(holder_index)).0)
            };
            Some(Reservation { ty, holder })
        } else {
            if ty_code != 0 || holder_index != NO_HOLDER {
                return Err(PrImageError::Inconsistent);
            }
            None
        };
        // Valid: commit.
        self.clear_registrations();
        for (i, slot) in self.regs.iter_mut().enumerate().take(count) {
            let (nexus, eflags, _, key) = entry(image, i);
            *slot = Some(Registration {
                nexus,
                key,
                all_tg_pt: eflags & ENTRY_ALL_TG_PT != 0,
                pending: false,
            });
        }
        self.reservation = reservation;
        self.generation = generation;
        self.aptpl = flags & FLAG_APTPL != 0;
        Ok(())
    }
}
