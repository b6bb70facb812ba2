//! Vocabulary shared by every part of the core: fabric identities, LUNs, SCSI status and sense.

/// A Fibre Channel world-wide port name (8 bytes, big-endian on the wire).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Wwpn(pub u64);

impl Wwpn {
    /// Builds a WWPN from its wire (big-endian) bytes.
    pub const fn from_be_bytes(b: [u8; 8]) -> Self {
        Wwpn(u64::from_be_bytes(b))
    }
    /// The wire (big-endian) bytes.
    pub const fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

/// A 24-bit Fibre Channel N_Port ID (domain, area, port). The upper byte is always zero.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct PortId(u32);

impl PortId {
    /// Builds a port ID, masking to 24 bits.
    pub const fn new(id: u32) -> Self {
        PortId(id & 0x00ff_ffff)
    }
    /// Builds a port ID from domain, area and port bytes.
    pub const fn from_parts(domain: u8, area: u8, port: u8) -> Self {
        PortId(((domain as u32) << 16) | ((area as u32) << 8) | port as u32)
    }
    /// The 24-bit value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The N_Port handle (loop ID) the ISP firmware assigned to a remote port.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Handle(pub u16);

/// A local target port: the physical port (vp_index 0) or an NPIV virtual port of one HBA.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct LocalPort {
    /// Index of the target (HBA or loopback target) inside Ferrule.
    pub target: u16,
    /// Virtual-port index on that HBA (0 = physical port).
    pub vp_index: u16,
}

/// A SCSI logical unit number in the flat 64-bit SAM form used by REPORT LUNS and FCP.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Lun(pub u64);

impl Lun {
    /// Encodes LUN numbers < 16384 with the peripheral (<256) or flat (<16384) addressing
    /// method, as Linux `int_to_scsilun` does.
    pub const fn from_index(n: u16) -> Self {
        let n = n & 0x3fff;
        let first = if n < 256 { n } else { 0x4000 | n };
        Lun((first as u64) << 48)
    }
    /// Decodes the first level of a LUN into an index; `None` for addressing methods or
    /// levels Ferrule does not use (only single-level peripheral/flat LUNs map to devices).
    pub const fn to_index(self) -> Option<u16> {
        if self.0 & 0x0000_ffff_ffff_ffff != 0 {
            return None;
        }
        let first = (self.0 >> 48) as u16;
        match first >> 14 {
            0 if first < 256 => Some(first),
            1 => Some(first & 0x3fff),
            _ => None,
        }
    }
    /// The 8 wire bytes.
    pub const fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
    /// From the 8 wire bytes.
    pub const fn from_be_bytes(b: [u8; 8]) -> Self {
        Lun(u64::from_be_bytes(b))
    }
}

/// Index of a backing device inside Ferrule (the device table owns the device itself).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct DeviceId(pub u32);

/// SCSI status codes (SAM-5).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum ScsiStatus {
    /// GOOD
    Good = 0x00,
    /// CHECK CONDITION (sense data follows)
    CheckCondition = 0x02,
    /// CONDITION MET
    ConditionMet = 0x04,
    /// BUSY
    Busy = 0x08,
    /// RESERVATION CONFLICT
    ReservationConflict = 0x18,
    /// TASK SET FULL
    TaskSetFull = 0x28,
    /// ACA ACTIVE
    AcaActive = 0x30,
    /// TASK ABORTED
    TaskAborted = 0x40,
}

/// SCSI sense keys (SPC-4 table 48).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum SenseKey {
    /// NO SENSE
    NoSense = 0x0,
    /// RECOVERED ERROR
    RecoveredError = 0x1,
    /// NOT READY
    NotReady = 0x2,
    /// MEDIUM ERROR
    MediumError = 0x3,
    /// HARDWARE ERROR
    HardwareError = 0x4,
    /// ILLEGAL REQUEST
    IllegalRequest = 0x5,
    /// UNIT ATTENTION
    UnitAttention = 0x6,
    /// DATA PROTECT
    DataProtect = 0x7,
    /// BLANK CHECK
    BlankCheck = 0x8,
    /// ABORTED COMMAND
    AbortedCommand = 0xb,
    /// MISCOMPARE
    Miscompare = 0xe,
}

/// Additional sense code and qualifier, kept together because they only mean something as a pair.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Asc(pub u8, pub u8);

/// Well-known ASC/ASCQ pairs (SPC-4 annex D).
#[allow(missing_docs)]
impl Asc {
    pub const NO_ADDITIONAL: Asc = Asc(0x00, 0x00);
    pub const LU_NOT_READY_MANUAL: Asc = Asc(0x04, 0x03);
    pub const LU_NOT_READY_STOPPED: Asc = Asc(0x04, 0x02);
    pub const WRITE_ERROR: Asc = Asc(0x0c, 0x00);
    pub const MISCOMPARE_DURING_VERIFY: Asc = Asc(0x1d, 0x00);
    pub const UNRECOVERED_READ_ERROR: Asc = Asc(0x11, 0x00);
    pub const PARAMETER_LIST_LENGTH_ERROR: Asc = Asc(0x1a, 0x00);
    pub const INVALID_COMMAND_OPCODE: Asc = Asc(0x20, 0x00);
    pub const LBA_OUT_OF_RANGE: Asc = Asc(0x21, 0x00);
    pub const INVALID_FIELD_IN_CDB: Asc = Asc(0x24, 0x00);
    pub const LU_NOT_SUPPORTED: Asc = Asc(0x25, 0x00);
    pub const INVALID_FIELD_IN_PARAMETER_LIST: Asc = Asc(0x26, 0x00);
    pub const INVALID_RELEASE_OF_PR: Asc = Asc(0x26, 0x04);
    pub const WRITE_PROTECTED: Asc = Asc(0x27, 0x00);
    pub const POWER_ON_RESET: Asc = Asc(0x29, 0x00);
    pub const BUS_DEVICE_RESET: Asc = Asc(0x29, 0x03);
    pub const I_T_NEXUS_LOSS: Asc = Asc(0x29, 0x07);
    pub const MODE_PARAMETERS_CHANGED: Asc = Asc(0x2a, 0x01);
    pub const RESERVATIONS_PREEMPTED: Asc = Asc(0x2a, 0x03);
    pub const RESERVATIONS_RELEASED: Asc = Asc(0x2a, 0x04);
    pub const REGISTRATIONS_PREEMPTED: Asc = Asc(0x2a, 0x05);
    pub const CAPACITY_DATA_CHANGED: Asc = Asc(0x2a, 0x09);
    pub const COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: Asc = Asc(0x2f, 0x00);
    pub const SAVING_PARAMETERS_NOT_SUPPORTED: Asc = Asc(0x39, 0x00);
    pub const REPORTED_LUNS_DATA_CHANGED: Asc = Asc(0x3f, 0x0e);
    pub const INQUIRY_DATA_CHANGED: Asc = Asc(0x3f, 0x03);
    pub const OVERLAPPED_COMMANDS: Asc = Asc(0x4e, 0x00);
    pub const INSUFFICIENT_REGISTRATION_RESOURCES: Asc = Asc(0x55, 0x04);
    pub const INTERNAL_TARGET_FAILURE: Asc = Asc(0x44, 0x00);
    pub const LOGICAL_UNIT_COMMUNICATION_FAILURE: Asc = Asc(0x08, 0x00);
}

/// Sense-key-specific field pointer (SPC-4 4.5.2.4.2): which byte (and optionally bit) of
/// the CDB or parameter list is wrong.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FieldPointer {
    /// true: the error is in the CDB; false: in the parameter list (data-out).
    pub in_cdb: bool,
    /// Byte offset of the bad field.
    pub byte: u16,
    /// Bit position of the bad field's most significant bit, if meaningful.
    pub bit: Option<u8>,
}

/// Everything needed to build sense data for a CHECK CONDITION (fixed or descriptor format).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Sense {
    /// Sense key.
    pub key: SenseKey,
    /// Additional sense code and qualifier.
    pub asc: Asc,
    /// Optional sense-key-specific field pointer (ILLEGAL REQUEST).
    pub field: Option<FieldPointer>,
    /// Optional INFORMATION field (e.g. the first bad LBA, or miscompare offset).
    pub information: Option<u64>,
}

impl Sense {
    /// A sense with only key and ASC/ASCQ.
    pub const fn new(key: SenseKey, asc: Asc) -> Self {
        Sense {
            key,
            asc,
            field: None,
            information: None,
        }
    }
    /// ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at `byte` (and `bit`) of the CDB.
    pub const fn invalid_cdb_field(byte: u16, bit: Option<u8>) -> Self {
        Sense {
            key: SenseKey::IllegalRequest,
            asc: Asc::INVALID_FIELD_IN_CDB,
            field: Some(FieldPointer {
                in_cdb: true,
                byte,
                bit,
            }),
            information: None,
        }
    }
    /// ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, pointing at `byte` of the data-out.
    pub const fn invalid_param_field(byte: u16, bit: Option<u8>) -> Self {
        Sense {
            key: SenseKey::IllegalRequest,
            asc: Asc::INVALID_FIELD_IN_PARAMETER_LIST,
            field: Some(FieldPointer {
                in_cdb: false,
                byte,
                bit,
            }),
            information: None,
        }
    }
    /// ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (field pointer at CDB byte 0).
    pub const fn invalid_opcode() -> Self {
        Sense {
            key: SenseKey::IllegalRequest,
            asc: Asc::INVALID_COMMAND_OPCODE,
            field: Some(FieldPointer {
                in_cdb: true,
                byte: 0,
                bit: Some(7),
            }),
            information: None,
        }
    }
    /// ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE.
    pub const fn lba_out_of_range() -> Self {
        Sense::new(SenseKey::IllegalRequest, Asc::LBA_OUT_OF_RANGE)
    }
    /// UNIT ATTENTION with the given ASC/ASCQ.
    pub const fn unit_attention(asc: Asc) -> Self {
        Sense::new(SenseKey::UnitAttention, asc)
    }
}

/// Data direction of a command, as seen from the initiator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DataDirection {
    /// No data phase.
    None,
    /// Data flows target -> initiator (read).
    FromDevice,
    /// Data flows initiator -> target (write).
    ToDevice,
}

/// SAM task attribute of a command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TaskAttr {
    /// SIMPLE
    Simple,
    /// ORDERED
    Ordered,
    /// HEAD OF QUEUE
    HeadOfQueue,
    /// ACA
    Aca,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lun_round_trip() {
        for n in [0u16, 1, 255, 256, 1000, 16383] {
            assert_eq!(Lun::from_index(n).to_index(), Some(n));
        }
        assert_eq!(Lun(0x0001_0000_0000_0000).to_index(), Some(1));
        assert_eq!(Lun(0x4101_0000_0000_0000).to_index(), Some(0x101));
        assert_eq!(Lun(0x0000_0001_0000_0000).to_index(), None); // second level
        assert_eq!(Lun(0x8000_0000_0000_0000).to_index(), None); // logical unit addressing
    }

    #[test]
    fn port_id_masks() {
        assert_eq!(PortId::new(0xff01_0203).get(), 0x01_0203);
        assert_eq!(PortId::from_parts(1, 2, 3).get(), 0x01_0203);
    }
}
