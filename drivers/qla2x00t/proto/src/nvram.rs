//! The ISP24xx/25xx NVRAM image (`struct nvram_24xx`, 512 bytes) and where a PCI function's
//! copy lives in flash.
//!
//! The driver reads the image dword by dword through the FLASH_ADDR / FLASH_DATA registers
//! ([`farx`]), then [`Nvram24::parse`] checks it the way qla2xxx does (id `"ISP "`, 32-bit
//! little-endian word sum zero, version at least 1) and, where qla2xxx would fall back to a
//! made-up WWPN, refuses with a typed [`NvramError`] instead: a target must never appear on
//! the fabric under a name that is not its own.
//!
//! Families that keep NVRAM at a place only the Flash Layout Table names (81xx, 83xx, 27xx,
//! 28xx) are refused by [`nvram_location`] with [`LocateError::NeedsFlashLayoutTable`].

use crate::mailbox::{fo1, fo2, InitCb24};
use scst_core::types::Wwpn;

/// Size of the ISP24xx/25xx NVRAM image in bytes.
pub const NVRAM_24XX_SIZE: usize = 512;
/// The same in dwords (flash reads are dword reads).
pub const NVRAM_24XX_DWORDS: u32 = (NVRAM_24XX_SIZE / 4) as u32;
/// The id at offset 0.
pub const NVRAM_ID: [u8; 4] = *b"ISP ";
/// Lowest NVRAM version qla2xxx accepts (`ICB_VERSION`).
pub const NVRAM_MIN_VERSION: u16 = 1;

/// Byte offsets of the fields of `struct nvram_24xx`.
pub mod off {
    /// `id[4]`: `"ISP "`.
    pub const ID: usize = 0x00;
    /// NVRAM layout version (LE16).
    pub const NVRAM_VERSION: usize = 0x04;
    /// Init control block version (LE16), the start of the ICB copy.
    pub const ICB_VERSION: usize = 0x08;
    /// Frame payload size (LE16).
    pub const FRAME_PAYLOAD_SIZE: usize = 0x0C;
    /// Execution throttle (LE16).
    pub const EXECUTION_THROTTLE: usize = 0x0E;
    /// Exchange count (LE16).
    pub const EXCHANGE_COUNT: usize = 0x10;
    /// Hard (loop) address (LE16).
    pub const HARD_ADDRESS: usize = 0x12;
    /// Port name, 8 bytes in wire (big-endian) order.
    pub const PORT_NAME: usize = 0x14;
    /// Node name, 8 bytes in wire order.
    pub const NODE_NAME: usize = 0x1C;
    /// Login retry count (LE16).
    pub const LOGIN_RETRY_COUNT: usize = 0x24;
    /// Link down on NOS/OLS (LE16).
    pub const LINK_DOWN_ON_NOS: usize = 0x26;
    /// Interrupt delay timer (LE16).
    pub const INTERRUPT_DELAY_TIMER: usize = 0x28;
    /// Login timeout (LE16).
    pub const LOGIN_TIMEOUT: usize = 0x2A;
    /// Firmware options 1 (LE32).
    pub const FIRMWARE_OPTIONS_1: usize = 0x2C;
    /// Firmware options 2 (LE32).
    pub const FIRMWARE_OPTIONS_2: usize = 0x30;
    /// Firmware options 3 (LE32).
    pub const FIRMWARE_OPTIONS_3: usize = 0x34;
    /// Serial link options, 4 x LE16 (the "Offset 56" of qla_fw.h).
    pub const SERIALLINK_OPTIONS: usize = 0x38;
    /// Host parameters (LE32, [`super::host_p`] bits).
    pub const HOST_P: usize = 0x100;
    /// Alternate port name (wire order), used when [`super::host_p::ALTERNATE_WWN`] is set.
    pub const ALTERNATE_PORT_NAME: usize = 0x104;
    /// Alternate node name (wire order).
    pub const ALTERNATE_NODE_NAME: usize = 0x10C;
    /// Boot port name (wire order).
    pub const BOOT_PORT_NAME: usize = 0x114;
    /// Previous driver version bytes ("Offset 352").
    pub const PREV_DRV_VER: usize = 0x160;
    /// Model name, 16 ASCII bytes ("Offset 480").
    pub const MODEL_NAME: usize = 0x1E0;
    /// PCIe table signature (LE16, "Offset 500").
    pub const PCIE_TABLE_SIG: usize = 0x1F4;
    /// Subsystem vendor ID (LE16).
    pub const SUBSYSTEM_VENDOR_ID: usize = 0x1F8;
    /// Subsystem device ID (LE16).
    pub const SUBSYSTEM_DEVICE_ID: usize = 0x1FA;
    /// Checksum (LE32): chosen so the sum of all 128 LE32 words is zero.
    pub const CHECKSUM: usize = 0x1FC;
}

// The layout against the "Offset N" landmarks of qla_fw.h and the struct size.
const _: () = assert!(off::SERIALLINK_OPTIONS == 56);
const _: () = assert!(off::SERIALLINK_OPTIONS + 8 + 32 == 96);
const _: () = assert!(off::HOST_P == 96 + 5 * 32);
const _: () = assert!(off::ALTERNATE_PORT_NAME == off::HOST_P + 4);
const _: () = assert!(off::BOOT_PORT_NAME == off::ALTERNATE_NODE_NAME + 8);
// Four boot entries of 12 bytes, efi 4, reset delay 4, boot id 4, max luns 4, retries 4,
// fcode 2 + 6 reserved: 352.
const _: () = assert!(off::BOOT_PORT_NAME + 4 * 12 + 4 + 4 + 4 + 4 + 4 + 8 == off::PREV_DRV_VER);
const _: () = assert!(off::PREV_DRV_VER == 352);
const _: () = assert!(off::MODEL_NAME == 480);
const _: () = assert!(off::MODEL_NAME + 16 + 4 == off::PCIE_TABLE_SIG);
const _: () = assert!(off::CHECKSUM + 4 == NVRAM_24XX_SIZE);
const _: () = assert!(NVRAM_24XX_SIZE % 4 == 0);

/// Host parameter bits (`host_p`).
pub mod host_p {
    /// LIP full login.
    pub const LIP_FULL_LOGIN: u32 = 1 << 10;
    /// Target reset enabled.
    pub const TARGET_RESET: u32 = 1 << 11;
    /// Use the alternate port and node names.
    pub const ALTERNATE_WWN: u32 = 1 << 15;
}

/// The flash address register protocol (`FARX_*` of qla_fw.h): the driver writes an access
/// window plus a dword address to FLASH_ADDR with [`DATA_FLAG`](farx::DATA_FLAG) clear; the
/// chip sets the flag when FLASH_DATA holds that dword.
pub mod farx {
    /// Set by the chip when a read completed (and by the driver to start a write).
    pub const DATA_FLAG: u32 = 1 << 31;
    /// Flash configuration space (24xx/25xx).
    pub const ACCESS_FLASH_CONF: u32 = 0x7FFD_0000;
    /// Flash data space (24xx/25xx): dword address follows.
    pub const ACCESS_FLASH_DATA: u32 = 0x7FF0_0000;
    /// NVRAM configuration space (24xx).
    pub const ACCESS_NVRAM_CONF: u32 = 0x7FFF_0000;
    /// NVRAM data space (24xx): dword address follows.
    pub const ACCESS_NVRAM_DATA: u32 = 0x7FFE_0000;
}

/// Dword address of function 0's NVRAM in the 24xx NVRAM space (`FA_NVRAM_FUNC0_ADDR`).
pub const FA_NVRAM_FUNC0_ADDR: u32 = 0x80;
/// Dword address of function 1's NVRAM (`FA_NVRAM_FUNC1_ADDR`).
pub const FA_NVRAM_FUNC1_ADDR: u32 = 0x180;
/// 25xx: dword address of the VPD/NVRAM flash region when no Flash Layout Table moves it
/// (`FA_VPD_NVRAM_ADDR`); the function's NVRAM address is OR-ed into it.
pub const FA_VPD_NVRAM_ADDR: u32 = 0x48000;

/// ISP families, as far as locating NVRAM goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NvramFamily {
    /// ISP2422/2432.
    Isp24xx,
    /// ISP2532.
    Isp25xx,
    /// ISP8001.
    Isp81xx,
    /// ISP2031.
    Isp83xx,
    /// ISP2071/2261/2271.
    Isp27xx,
    /// ISP2281/2289.
    Isp28xx,
}

/// Why a function's NVRAM cannot be located.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LocateError {
    /// The family keeps NVRAM where only the Flash Layout Table says (not read yet).
    NeedsFlashLayoutTable,
    /// The family has no NVRAM copy for this PCI function (24xx/25xx: functions 0 and 1).
    NoSuchFunction(u8),
}

/// Where one PCI function's NVRAM image is, as FLASH_ADDR values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NvramLocation {
    /// FLASH_ADDR value (access window + dword address) of the image's first dword.
    pub first: u32,
    /// Length of the image in dwords.
    pub dwords: u32,
}

impl NvramLocation {
    /// FLASH_ADDR value for dword `i` of the image, `None` past its end.
    pub const fn dword_addr(&self, i: u32) -> Option<u32> {
        if i >= self.dwords {
            return None;
        }
        self.first.checked_add(i)
    }
}

/// Where function `function`'s NVRAM is (qla2xxx `nvram_base`: FUNC0 / FUNC1):
/// - 24xx: the NVRAM data window, `FARX_ACCESS_NVRAM_DATA + nvram_base`;
/// - 25xx: the flash data window, `FARX_ACCESS_FLASH_DATA + (FA_VPD_NVRAM_ADDR | nvram_base)`
///   (the default region; a Flash Layout Table could move it, which is not read yet).
pub const fn nvram_location(
    family: NvramFamily,
    function: u8,
) -> Result<NvramLocation, LocateError> {
    let base = match function {
        0 => FA_NVRAM_FUNC0_ADDR,
        1 => FA_NVRAM_FUNC1_ADDR,
        n => return Err(LocateError::NoSuchFunction(n)),
    };
    let first = match family {
        NvramFamily::Isp24xx => farx::ACCESS_NVRAM_DATA + base,
        NvramFamily::Isp25xx => farx::ACCESS_FLASH_DATA + (FA_VPD_NVRAM_ADDR | base),
        _ => return Err(LocateError::NeedsFlashLayoutTable),
    };
    Ok(NvramLocation {
        first,
        dwords: NVRAM_24XX_DWORDS,
    })
}

/// Reads the image at `loc` into `out` dword by dword: `read(flash_addr)` runs one flash
/// read cycle and gives the dword, or `None` when it did not complete. Dwords are stored
/// little-endian (qla2xxx's `cpu_to_le32s`). `Err(i)`: dword `i` failed (the rest of `out`
/// is left as it was).
pub fn read_image(
    loc: &NvramLocation,
    out: &mut [u8; NVRAM_24XX_SIZE],
    mut read: impl FnMut(u32) -> Option<u32>,
) -> Result<(), u32> {
    for (i, chunk) in (0u32..).zip(out.chunks_exact_mut(4)) {
        let v = loc.dword_addr(i).and_then(&mut read).ok_or(i)?;
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    Ok(())
}

impl NvramFamily {
    /// The family of PCI device ID `device_id` (the parts `qla2x00t` drives).
    pub const fn from_device_id(device_id: u16) -> Option<NvramFamily> {
        Some(match device_id {
            0x2422 | 0x2432 => NvramFamily::Isp24xx,
            0x2532 => NvramFamily::Isp25xx,
            0x8001 => NvramFamily::Isp81xx,
            0x2031 => NvramFamily::Isp83xx,
            0x2071 | 0x2261 | 0x2271 => NvramFamily::Isp27xx,
            0x2281 | 0x2289 => NvramFamily::Isp28xx,
            _ => return None,
        })
    }
}

/// Why an NVRAM image is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NvramError {
    /// Fewer than 512 bytes.
    TooShort {
        /// Bytes given.
        len: usize,
    },
    /// The id is not `"ISP "` (an erased flash reads all ones).
    BadId([u8; 4]),
    /// The LE32 word sum is not zero.
    BadChecksum {
        /// The sum found.
        sum: u32,
    },
    /// The NVRAM version is below [`NVRAM_MIN_VERSION`].
    BadVersion {
        /// The version found.
        version: u16,
    },
    /// The port name to use is not a valid name (zero, all ones, or NAA 0).
    InvalidPortName(Wwpn),
    /// The node name to use is not a valid name.
    InvalidNodeName(Wwpn),
}

/// Whether `w` can be a world-wide name: not zero, not erased flash, NAA field not 0.
pub const fn valid_wwn(w: Wwpn) -> bool {
    w.0 != 0 && w.0 != u64::MAX && (w.0 >> 60) != 0
}

fn le16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at.saturating_add(2)) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.saturating_add(4)) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

fn wwn(b: &[u8], at: usize) -> Wwpn {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at.saturating_add(8)) {
        w.copy_from_slice(s);
    }
    Wwpn::from_be_bytes(w)
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(at..at.saturating_add(v.len())) {
        d.copy_from_slice(v);
    }
}

/// The LE32 word sum of `b` (trailing bytes short of a word are ignored).
pub fn word_sum(b: &[u8]) -> u32 {
    b.chunks_exact(4).fold(0u32, |s, w| match *w {
        [a, c, d, e] => s.wrapping_add(u32::from_le_bytes([a, c, d, e])),
        _ => s,
    })
}

/// Rewrites the checksum dword so the image's word sum is zero.
pub fn fix_checksum(img: &mut [u8; NVRAM_24XX_SIZE]) {
    put(img, off::CHECKSUM, &[0; 4]);
    let sum = word_sum(img);
    put(img, off::CHECKSUM, &sum.wrapping_neg().to_le_bytes());
}

/// A parsed, valid ISP24xx/25xx NVRAM image: the fields the driver uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Nvram24 {
    /// NVRAM layout version.
    pub nvram_version: u16,
    /// Init control block version.
    pub icb_version: u16,
    /// Frame payload size.
    pub frame_payload_size: u16,
    /// Execution throttle (qla2xxx overrides it with 0xFFFF).
    pub execution_throttle: u16,
    /// Exchange count (target mode uses 0xFFFF).
    pub exchange_count: u16,
    /// Hard address.
    pub hard_address: u16,
    /// Port name as stored.
    pub port_name: Wwpn,
    /// Node name as stored.
    pub node_name: Wwpn,
    /// Login retry count.
    pub login_retry_count: u16,
    /// Login timeout (seconds).
    pub login_timeout: u16,
    /// Firmware options 1, 2, 3 as stored.
    pub firmware_options: [u32; 3],
    /// Host parameters.
    pub host_p: u32,
    /// Alternate port name.
    pub alternate_port_name: Wwpn,
    /// Alternate node name.
    pub alternate_node_name: Wwpn,
    /// Model name (ASCII, space or NUL padded).
    pub model_name: [u8; 16],
    /// PCI subsystem vendor and device ID.
    pub subsystem: (u16, u16),
}

impl Nvram24 {
    /// Checks and decodes an image (the first 512 bytes of `b`). Checks, in order: length,
    /// id, checksum, version, then the names the port would use ([`Nvram24::names`]).
    pub fn parse(b: &[u8]) -> Result<Nvram24, NvramError> {
        let Some(img) = b.get(..NVRAM_24XX_SIZE) else {
            return Err(NvramError::TooShort { len: b.len() });
        };
        let mut id = [0u8; 4];
        if let Some(s) = img.get(off::ID..off::ID + 4) {
            id.copy_from_slice(s);
        }
        if id != NVRAM_ID {
            return Err(NvramError::BadId(id));
        }
        let sum = word_sum(img);
        if sum != 0 {
            return Err(NvramError::BadChecksum { sum });
        }
        let version = le16(img, off::NVRAM_VERSION);
        if version < NVRAM_MIN_VERSION {
            return Err(NvramError::BadVersion { version });
        }
        let mut model_name = [0u8; 16];
        if let Some(s) = img.get(off::MODEL_NAME..off::MODEL_NAME + 16) {
            model_name.copy_from_slice(s);
        }
        let nv = Nvram24 {
            nvram_version: version,
            icb_version: le16(img, off::ICB_VERSION),
            frame_payload_size: le16(img, off::FRAME_PAYLOAD_SIZE),
            execution_throttle: le16(img, off::EXECUTION_THROTTLE),
            exchange_count: le16(img, off::EXCHANGE_COUNT),
            hard_address: le16(img, off::HARD_ADDRESS),
            port_name: wwn(img, off::PORT_NAME),
            node_name: wwn(img, off::NODE_NAME),
            login_retry_count: le16(img, off::LOGIN_RETRY_COUNT),
            login_timeout: le16(img, off::LOGIN_TIMEOUT),
            firmware_options: [
                le32(img, off::FIRMWARE_OPTIONS_1),
                le32(img, off::FIRMWARE_OPTIONS_2),
                le32(img, off::FIRMWARE_OPTIONS_3),
            ],
            host_p: le32(img, off::HOST_P),
            alternate_port_name: wwn(img, off::ALTERNATE_PORT_NAME),
            alternate_node_name: wwn(img, off::ALTERNATE_NODE_NAME),
            model_name,
            subsystem: (
                le16(img, off::SUBSYSTEM_VENDOR_ID),
                le16(img, off::SUBSYSTEM_DEVICE_ID),
            ),
        };
        let (port, node) = nv.names();
        if !valid_wwn(port) {
            return Err(NvramError::InvalidPortName(port));
        }
        if !valid_wwn(node) {
            return Err(NvramError::InvalidNodeName(node));
        }
        Ok(nv)
    }

    /// The (port, node) names the port uses, as qla24xx_nvram_config derives them: the
    /// alternate pair when `host_p` asks for it; without the node-name option (fo1 bit 14)
    /// the node name is the port name with the low nibble of its first byte cleared.
    pub const fn names(&self) -> (Wwpn, Wwpn) {
        let (port, node) = if self.host_p & host_p::ALTERNATE_WWN != 0 {
            (self.alternate_port_name, self.alternate_node_name)
        } else {
            (self.port_name, self.node_name)
        };
        if self.firmware_options[0] & fo1::NODE_NAME_OPTION == 0 {
            (port, Wwpn(port.0 & !(0x0F << 56)))
        } else {
            (port, node)
        }
    }

    /// The firmware options for target-only mode (qlt_24xx_config_nvram_stage1): target
    /// mode on, initiator mode off, no full login after LIP, initial LIP, bit 15 cleared,
    /// FC tape off (SRR is not supported), target PRLI control on; 25xx: point-to-point
    /// connection option. The ATIO-on-INTx bit is left to the ring setup (cleared here).
    pub const fn target_firmware_options(&self, family: NvramFamily) -> [u32; 3] {
        let [mut o1, mut o2, o3] = self.firmware_options;
        o1 |= fo1::ENABLE_TARGET_MODE | fo1::DISABLE_INITIATOR_MODE;
        o1 &= !(fo1::FULL_LOGIN_AFTER_LIP | fo1::BIT_9 | (1 << 15));
        o2 &= !(fo2::FC_TAPE | fo2::ATIO_ON_INTX);
        o2 |= fo2::TARGET_PRLI_CONTROL;
        if matches!(family, NvramFamily::Isp25xx) {
            o2 = (o2 & !CONNECTION_OPTION_MASK) | CONNECTION_P2P;
        }
        [o1, o2, o3]
    }

    /// Frame payload size for the init control block: the NVRAM's when it is a size FC
    /// allows (256..=2112, a multiple of 4), else 2048.
    pub const fn icb_frame_payload_size(&self) -> u16 {
        let f = self.frame_payload_size;
        if f >= 256 && f <= 2112 && f % 4 == 0 {
            f
        } else {
            2048
        }
    }

    /// Puts what the NVRAM says into a target-mode init control block: names, frame size,
    /// hard address, login timeout and the target firmware options; execution throttle and
    /// exchange count are 0xFFFF as qla2xxx sets them for target mode. Ring fields and the
    /// MSI-X entries are left alone.
    pub fn apply_to_icb(&self, family: NvramFamily, icb: &mut InitCb24) {
        let (port, node) = self.names();
        let [o1, o2, o3] = self.target_firmware_options(family);
        icb.version = self.icb_version;
        icb.frame_payload_size = self.icb_frame_payload_size();
        icb.execution_throttle = 0xFFFF;
        icb.exchange_count = 0xFFFF;
        icb.hard_address = self.hard_address;
        icb.port_name = port;
        icb.node_name = node;
        icb.login_timeout = self.login_timeout;
        icb.firmware_options_1 = o1;
        icb.firmware_options_2 = o2;
        icb.firmware_options_3 = o3;
    }

    /// A valid image with these names and qla2xxx's default settings (what its "inconsistent
    /// NVRAM" path would write, names apart), checksum fixed: the simulator's NVRAM and the
    /// tests' starting point. `node` is stored and the node-name option set.
    pub fn image(port: Wwpn, node: Wwpn) -> [u8; NVRAM_24XX_SIZE] {
        let mut b = [0u8; NVRAM_24XX_SIZE];
        put(&mut b, off::ID, &NVRAM_ID);
        put(&mut b, off::NVRAM_VERSION, &1u16.to_le_bytes());
        put(&mut b, off::ICB_VERSION, &1u16.to_le_bytes());
        put(&mut b, off::FRAME_PAYLOAD_SIZE, &2048u16.to_le_bytes());
        put(&mut b, off::EXECUTION_THROTTLE, &0xFFFFu16.to_le_bytes());
        put(&mut b, off::HARD_ADDRESS, &124u16.to_le_bytes());
        put(&mut b, off::PORT_NAME, &port.to_be_bytes());
        put(&mut b, off::NODE_NAME, &node.to_be_bytes());
        put(&mut b, off::LOGIN_RETRY_COUNT, &8u16.to_le_bytes());
        let o1: u32 = (1 << 14) | (1 << 13) | (1 << 2) | (1 << 1);
        let o2: u32 = (2 << 4) | (1 << 12);
        let o3: u32 = 2 << 13;
        put(&mut b, off::FIRMWARE_OPTIONS_1, &o1.to_le_bytes());
        put(&mut b, off::FIRMWARE_OPTIONS_2, &o2.to_le_bytes());
        put(&mut b, off::FIRMWARE_OPTIONS_3, &o3.to_le_bytes());
        put(
            &mut b,
            off::HOST_P,
            &(host_p::TARGET_RESET | host_p::LIP_FULL_LOGIN).to_le_bytes(),
        );
        put(&mut b, off::MODEL_NAME, b"FERRULE-SIM     ");
        put(&mut b, off::SUBSYSTEM_VENDOR_ID, &0x1077u16.to_le_bytes());
        fix_checksum(&mut b);
        b
    }
}

/// Firmware options 2, bits 4-6: connection option.
pub const CONNECTION_OPTION_MASK: u32 = 0b111 << 4;
/// Connection option point-to-point only (`P2P << 4`).
pub const CONNECTION_P2P: u32 = 1 << 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_of_both_functions() {
        let l = nvram_location(NvramFamily::Isp24xx, 0).unwrap();
        assert_eq!((l.first, l.dwords), (0x7FFE_0080, 128));
        assert_eq!(l.dword_addr(127), Some(0x7FFE_00FF));
        assert_eq!(l.dword_addr(128), None);
        let l = nvram_location(NvramFamily::Isp24xx, 1).unwrap();
        assert_eq!(l.first, 0x7FFE_0180);
        let l = nvram_location(NvramFamily::Isp25xx, 0).unwrap();
        assert_eq!(l.first, 0x7FF4_8080);
        let l = nvram_location(NvramFamily::Isp25xx, 1).unwrap();
        assert_eq!(l.first, 0x7FF4_8180);
        assert_eq!(
            nvram_location(NvramFamily::Isp25xx, 2),
            Err(LocateError::NoSuchFunction(2))
        );
        for f in [
            NvramFamily::Isp81xx,
            NvramFamily::Isp83xx,
            NvramFamily::Isp27xx,
            NvramFamily::Isp28xx,
        ] {
            assert_eq!(
                nvram_location(f, 0),
                Err(LocateError::NeedsFlashLayoutTable)
            );
        }
    }
}
