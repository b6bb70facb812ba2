//! Device attributes ([`DeviceConfig`], set by configuration) and per-logical-unit mutable
//! state ([`LuState`], changed by commands).
//!
//! A Ferrule device *is* one SCSI logical unit: however many LUN maps expose it, mode page
//! values, the stopped state and the write cache setting are shared by every I_T nexus
//! (SPC-4 keeps one set of mode parameters per logical unit unless pages are per-nexus, and
//! none of ours are). So `LuState` lives next to the device, one per device.

use core::sync::atomic::{AtomicBool, Ordering};

/// Capacity of the unit serial number (VPD page 80h and the T10 vendor ID designator).
pub const SERIAL_CAP: usize = 32;

/// Static attributes of a backing device, as exported to initiators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Capacity in logical blocks.
    pub blocks: u64,
    /// Logical block size in bytes (512 or 4096).
    pub block_size: u32,
    /// log2(physical block size / logical block size) (READ CAPACITY(16)).
    pub physical_block_exp: u8,
    /// The LU rejects writes (DATA PROTECT, WRITE PROTECTED).
    pub read_only: bool,
    /// Default (and power-on) value of the caching mode page WCE bit.
    pub write_cache: bool,
    /// Thin provisioned: UNMAP, WRITE SAME with UNMAP, GET LBA STATUS, LBPME.
    pub thin: bool,
    /// Unmapped blocks read as zeros (LBPRZ).
    pub lbprz: bool,
    /// T10 vendor identification (space padded ASCII).
    pub vendor: [u8; 8],
    /// Product identification (space padded ASCII).
    pub product: [u8; 16],
    /// Product revision level (space padded ASCII).
    pub revision: [u8; 4],
    /// Unit serial number bytes (printable ASCII); only the first `serial_len` count.
    pub serial: [u8; SERIAL_CAP],
    /// Used length of `serial`.
    pub serial_len: u8,
    /// NAA IEEE Registered Extended identifier (VPD 83h logical unit designator).
    pub naa: [u8; 16],
    /// Optimal transfer length in blocks (VPD B0h; 0 = not reported).
    pub opt_xfer_blocks: u32,
    /// Maximum transfer length in blocks (VPD B0h; 0 = no limit). Larger commands fail.
    pub max_xfer_blocks: u32,
    /// Maximum blocks one UNMAP descriptor may cover.
    pub max_unmap_blocks: u32,
    /// Maximum UNMAP block descriptors per command.
    pub max_unmap_descriptors: u32,
    /// Optimal unmap granularity in blocks (VPD B0h).
    pub unmap_granularity: u32,
    /// Maximum WRITE SAME length in blocks (VPD B0h; 0 = no limit).
    pub max_write_same_blocks: u64,
    /// Maximum COMPARE AND WRITE length in blocks (VPD B0h; 0 = COMPARE AND WRITE unsupported).
    pub max_caw_blocks: u8,
    /// Medium rotation rate (VPD B1h): 0 not reported, 1 non-rotating, else rpm.
    pub rotation_rate: u16,
    /// Control mode page TAS: tasks aborted by another I_T nexus's task management (or
    /// PREEMPT AND ABORT) end with TASK ABORTED status instead of no status. The mode page
    /// reports this value and the task management path applies it.
    pub tas: bool,
}

/// Why a [`DeviceConfig`] was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Block size other than 512 or 4096.
    BlockSize,
    /// Zero capacity, or capacity whose byte size overflows u64.
    Capacity,
    /// Serial length over capacity or non-printable serial bytes.
    Serial,
    /// Non-printable vendor/product/revision bytes.
    Identification,
}

impl DeviceConfig {
    /// A default configuration: `blocks` blocks of 512 bytes, write cache on, thick,
    /// vendor "FERRULE", generous limits. Serial and NAA are left empty/zero.
    pub const fn new(blocks: u64) -> Self {
        DeviceConfig {
            blocks,
            block_size: 512,
            physical_block_exp: 0,
            read_only: false,
            write_cache: true,
            thin: false,
            lbprz: true,
            vendor: *b"FERRULE ",
            product: *b"VDISK           ",
            revision: *b"0001",
            serial: [b' '; SERIAL_CAP],
            serial_len: 0,
            naa: [0; 16],
            opt_xfer_blocks: 0,
            max_xfer_blocks: 8192,
            max_unmap_blocks: 0x0040_0000,
            max_unmap_descriptors: 256,
            unmap_granularity: 1,
            max_write_same_blocks: 0x0040_0000,
            max_caw_blocks: 1,
            rotation_rate: 1,
            tas: false,
        }
    }

    /// Checks the invariants exec relies on for well-formed responses.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.block_size != 512 && self.block_size != 4096 {
            return Err(ConfigError::BlockSize);
        }
        if self.blocks == 0
            || self
                .blocks
                .checked_mul(u64::from(self.block_size))
                .is_none()
        {
            return Err(ConfigError::Capacity);
        }
        let printable = |b: &u8| (0x20..0x7f).contains(b);
        match self.serial.get(..usize::from(self.serial_len)) {
            Some(s) if s.iter().all(printable) => {}
            _ => return Err(ConfigError::Serial),
        }
        let id_ok = self
            .vendor
            .iter()
            .chain(&self.product)
            .chain(&self.revision)
            .all(printable);
        if !id_ok {
            return Err(ConfigError::Identification);
        }
        Ok(())
    }

    /// Sets the serial from `s` (truncated to [`SERIAL_CAP`]).
    pub fn set_serial(&mut self, s: &[u8]) {
        let n = s.len().min(SERIAL_CAP);
        self.serial = [b' '; SERIAL_CAP];
        if let (Some(d), Some(src)) = (self.serial.get_mut(..n), s.get(..n)) {
            d.copy_from_slice(src);
        }
        self.serial_len = n as u8;
    }

    /// The used part of the serial.
    pub fn serial(&self) -> &[u8] {
        self.serial
            .get(..usize::from(self.serial_len))
            .unwrap_or(&[])
    }

    /// Last valid LBA.
    pub const fn last_lba(&self) -> u64 {
        self.blocks.saturating_sub(1)
    }
}

/// Builds an NAA 6 (IEEE Registered Extended) identifier: 24-bit OUI, 36-bit vendor
/// specific identifier, 64-bit extension.
pub const fn naa_registered_extended(oui: u32, vendor_id: u64, extension: u64) -> [u8; 16] {
    let hi: u64 = (0x6u64 << 60) | (((oui as u64) & 0xff_ffff) << 36) | (vendor_id & 0xf_ffff_ffff);
    let h = hi.to_be_bytes();
    let e = extension.to_be_bytes();
    [
        h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], e[0], e[1], e[2], e[3], e[4], e[5], e[6],
        e[7],
    ]
}

/// Mutable state of one logical unit, shared by all nexuses and updated lock-free.
#[derive(Debug)]
pub struct LuState {
    wce: AtomicBool,
    d_sense: AtomicBool,
    swp: AtomicBool,
    stopped: AtomicBool,
}

impl LuState {
    /// Power-on state for a device with `cfg`: default mode values, started.
    pub const fn new(cfg: &DeviceConfig) -> Self {
        LuState {
            wce: AtomicBool::new(cfg.write_cache),
            d_sense: AtomicBool::new(false),
            swp: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        }
    }
    /// Caching mode page WCE (write-back cache enabled). When clear, every write is FUA.
    pub fn wce(&self) -> bool {
        self.wce.load(Ordering::Relaxed)
    }
    /// Control mode page D_SENSE: report sense in descriptor format.
    pub fn d_sense(&self) -> bool {
        self.d_sense.load(Ordering::Relaxed)
    }
    /// Control mode page SWP (software write protect).
    pub fn swp(&self) -> bool {
        self.swp.load(Ordering::Relaxed)
    }
    /// Stopped by START STOP UNIT: media access is NOT READY.
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }
    /// Sets WCE.
    pub fn set_wce(&self, v: bool) {
        self.wce.store(v, Ordering::Relaxed)
    }
    /// Sets D_SENSE.
    pub fn set_d_sense(&self, v: bool) {
        self.d_sense.store(v, Ordering::Relaxed)
    }
    /// Sets SWP.
    pub fn set_swp(&self, v: bool) {
        self.swp.store(v, Ordering::Relaxed)
    }
    /// Sets the stopped state.
    pub fn set_stopped(&self, v: bool) {
        self.stopped.store(v, Ordering::Relaxed)
    }
    /// Back to power-on values (e.g. after LOGICAL UNIT RESET, which SPC-4 says restores
    /// current mode values to saved/default).
    pub fn reset(&self, cfg: &DeviceConfig) {
        self.set_wce(cfg.write_cache);
        self.set_d_sense(false);
        self.set_swp(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naa_layout() {
        let n = naa_registered_extended(0x001405, 0x1_2345_6789, 0x0102_0304_0506_0708);
        assert_eq!(n[..8], [0x60, 0x01, 0x40, 0x51, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(n[8..], [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn validate_rejects() {
        let mut c = DeviceConfig::new(100);
        assert_eq!(c.validate(), Ok(()));
        c.block_size = 1024;
        assert_eq!(c.validate(), Err(ConfigError::BlockSize));
        c.block_size = 4096;
        c.blocks = u64::MAX / 2;
        assert_eq!(c.validate(), Err(ConfigError::Capacity));
        c.blocks = 10;
        c.set_serial(b"abc\x01");
        assert_eq!(c.validate(), Err(ConfigError::Serial));
        c.set_serial(b"SN0001");
        assert_eq!(c.serial(), b"SN0001");
        c.vendor[0] = 0;
        assert_eq!(c.validate(), Err(ConfigError::Identification));
    }

    #[test]
    fn state_reset() {
        let c = DeviceConfig::new(1);
        let s = LuState::new(&c);
        s.set_wce(false);
        s.set_d_sense(true);
        s.set_stopped(true);
        s.reset(&c);
        assert!(s.wce() && !s.d_sense() && s.stopped());
    }
}
