//! The ISP24xx+ RISC firmware image (`ql2400_fw.bin` .. `ql2800_fw.bin`) as
//! `request_firmware` returns it: big-endian 32-bit words in code segments. Each segment
//! starts with a header whose word 2 is the RISC load address and word 3 the segment length
//! in words (header included); the first segment's address is where execution starts.
//! 27xx/28xx images append firmware-dump templates after the code segments (not parsed here).
//!
//! The driver loads a segment in fragments through a DMA buffer, each dword byte-swapped to
//! the little-endian order the RISC reads ([`FwImage::copy_fragment`]).

/// Code segments in every 24xx+ image.
pub const CODE_SEGMENTS: usize = 2;
/// Header words a segment starts with (address at 2, length at 3, attributes at 9).
const HEADER_WORDS: usize = 10;

/// Why an image was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FwImageError {
    /// Shorter than one segment header, or not a whole number of words.
    TooShort,
    /// Words 4..8 are all zero or all ones (an erased or blank image).
    Blank,
    /// Segment `n` has length zero or runs past the end of the file.
    BadSegment(u8),
}

/// One code segment: where it goes and its words (still big-endian, as in the file).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment<'a> {
    /// RISC address of the first word.
    pub risc_addr: u32,
    /// The segment's bytes (a multiple of 4).
    pub words: &'a [u8],
}

impl Segment<'_> {
    /// Length in 32-bit words.
    pub fn dwords(&self) -> u32 {
        u32::try_from(self.words.len() / 4).unwrap_or(u32::MAX)
    }
}

/// A validated firmware image.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FwImage<'a> {
    segments: [Segment<'a>; CODE_SEGMENTS],
    /// Attribute word (header word 9 of the first segment).
    pub attributes: u32,
}

fn be32(b: &[u8], word: usize) -> Option<u32> {
    let off = word.checked_mul(4)?;
    let s = b.get(off..off.checked_add(4)?)?;
    let mut w = [0u8; 4];
    w.copy_from_slice(s);
    Some(u32::from_be_bytes(w))
}

impl<'a> FwImage<'a> {
    /// Validates `blob` and splits it into its code segments.
    pub fn parse(blob: &'a [u8]) -> Result<FwImage<'a>, FwImageError> {
        if blob.len() < HEADER_WORDS * 4 || blob.len() % 4 != 0 {
            return Err(FwImageError::TooShort);
        }
        let probe = [4, 5, 6, 7].map(|w| be32(blob, w).unwrap_or(0));
        if probe.iter().all(|&w| w == 0) || probe.iter().all(|&w| w == u32::MAX) {
            return Err(FwImageError::Blank);
        }
        let attributes = be32(blob, 9).unwrap_or(0);
        let empty = Segment {
            risc_addr: 0,
            words: &[],
        };
        let mut segments = [empty; CODE_SEGMENTS];
        let mut rest = blob;
        for (n, seg) in segments.iter_mut().enumerate() {
            let bad = FwImageError::BadSegment(n as u8);
            let risc_addr = be32(rest, 2).ok_or(bad)?;
            let words = be32(rest, 3).ok_or(bad)?;
            let bytes = usize::try_from(words)
                .ok()
                .and_then(|w| w.checked_mul(4))
                .filter(|&b| b >= HEADER_WORDS * 4)
                .ok_or(bad)?;
            let (this, next) = (rest.get(..bytes).ok_or(bad)?, rest.get(bytes..).ok_or(bad)?);
            *seg = Segment {
                risc_addr,
                words: this,
            };
            rest = next;
        }
        Ok(FwImage {
            segments,
            attributes,
        })
    }

    /// The code segments in load order.
    pub fn segments(&self) -> &[Segment<'a>; CODE_SEGMENTS] {
        &self.segments
    }

    /// Where EXECUTE FIRMWARE starts the RISC: the first segment's address.
    pub fn start_addr(&self) -> u32 {
        self.segments[0].risc_addr
    }

    /// Copies up to `buf.len() / 4` words of `seg` starting at word `from` into `buf`,
    /// each dword converted from the file's big-endian to little-endian order. Returns the
    /// RISC address and word count of the fragment (`None` when `from` is past the end).
    pub fn copy_fragment(seg: &Segment<'_>, from: u32, buf: &mut [u8]) -> Option<(u32, u32)> {
        let start = usize::try_from(from).ok()?.checked_mul(4)?;
        let src = seg.words.get(start..)?;
        if src.is_empty() {
            return None;
        }
        // Index loop, not chunks_exact().zip(): objtool 7.3 misreads the latter's panic paths
        // in some kernel configurations (Documentation/development.md).
        let words = (buf.len() / 4).min(src.len() / 4);
        let mut n = 0u32;
        let mut i = 0usize;
        while i < words {
            // `i < words <= len / 4`: no overflow.
            let at = i.wrapping_mul(4);
            let end = at.wrapping_add(4);
            let (Some(d), Some(w)) = (buf.get_mut(at..end), src.get(at..end)) else {
                break;
            };
            let Ok(word) = <[u8; 4]>::try_from(w) else {
                break;
            };
            for (b, x) in d.iter_mut().zip(u32::from_be_bytes(word).to_le_bytes()) {
                *b = x;
            }
            n = n.wrapping_add(1);
            i = i.wrapping_add(1);
        }
        if n == 0 {
            return None;
        }
        Some((seg.risc_addr.checked_add(from)?, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(addr: u32, words: u32, fill: u32) -> std::vec::Vec<u8> {
        let mut v = std::vec::Vec::new();
        for i in 0..words {
            let w = match i {
                2 => addr,
                3 => words,
                9 => 0x200,
                _ => fill.wrapping_add(i),
            };
            v.extend_from_slice(&w.to_be_bytes());
        }
        v
    }

    #[test]
    fn two_segments_parse_with_addresses_and_lengths() {
        let mut blob = segment(0x0010_0000, 12, 0x1111_0000);
        blob.extend(segment(0x0020_0000, 10, 0x2222_0000));
        blob.extend([0xAA; 8]); // 27xx+ dump template, ignored
        let img = FwImage::parse(&blob).unwrap();
        assert_eq!(img.start_addr(), 0x0010_0000);
        assert_eq!(img.attributes, 0x200);
        assert_eq!(img.segments()[0].dwords(), 12);
        assert_eq!(img.segments()[1].risc_addr, 0x0020_0000);
        assert_eq!(img.segments()[1].dwords(), 10);
    }

    #[test]
    fn fragments_are_byte_swapped_and_addressed() {
        let blob = segment(0x0010_0000, 12, 0x0102_0300);
        let seg = Segment {
            risc_addr: 0x0010_0000,
            words: &blob,
        };
        let mut buf = [0u8; 16];
        assert_eq!(
            FwImage::copy_fragment(&seg, 0, &mut buf),
            Some((0x0010_0000, 4))
        );
        assert_eq!(&buf[0..4], &0x0102_0300u32.to_le_bytes());
        assert_eq!(&buf[8..12], &0x0010_0000u32.to_le_bytes());
        assert_eq!(
            FwImage::copy_fragment(&seg, 10, &mut buf),
            Some((0x0010_000A, 2))
        );
        assert_eq!(&buf[0..4], &0x0102_030Au32.to_le_bytes());
        assert_eq!(FwImage::copy_fragment(&seg, 12, &mut buf), None);
        assert_eq!(FwImage::copy_fragment(&seg, u32::MAX, &mut buf), None);
    }

    #[test]
    fn hostile_images_are_refused() {
        assert_eq!(FwImage::parse(&[0; 8]), Err(FwImageError::TooShort));
        assert_eq!(FwImage::parse(&[0; 41]), Err(FwImageError::TooShort));
        assert_eq!(FwImage::parse(&[0; 80]), Err(FwImageError::Blank));
        assert_eq!(FwImage::parse(&[0xFF; 80]), Err(FwImageError::Blank));
        // Length word larger than the file.
        let mut blob = segment(0x10_0000, 12, 1);
        blob[12..16].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(FwImage::parse(&blob), Err(FwImageError::BadSegment(0)));
        // Second segment missing.
        let blob = segment(0x10_0000, 12, 1);
        assert_eq!(FwImage::parse(&blob), Err(FwImageError::BadSegment(1)));
        // Zero-length segment.
        let mut blob = segment(0x10_0000, 12, 1);
        blob[12..16].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(FwImage::parse(&blob), Err(FwImageError::BadSegment(0)));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(blob in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            if let Ok(img) = FwImage::parse(&blob) {
                let total: usize = img.segments().iter().map(|s| s.words.len()).sum();
                proptest::prop_assert!(total <= blob.len());
            }
        }
    }
}
