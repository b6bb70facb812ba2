//! Mailbox commands used to bring an ISP24xx+ up in target mode, their parameter layouts,
//! and the DMA structures they move (init control block, port database, ID list).

use crate::regs::MAILBOX_COUNT;
use scst_core::types::{Handle, PortId, Wwpn};

/// Mailbox command opcodes (mailbox 0 on submission).
pub mod mbc {
    /// Execute firmware at a RISC address.
    pub const EXECUTE_FIRMWARE: u16 = 0x02;
    /// Verify the loaded firmware's checksum.
    pub const VERIFY_CHECKSUM: u16 = 0x07;
    /// Get firmware version.
    pub const GET_FIRMWARE_VERSION: u16 = 0x08;
    /// Load RISC RAM from host memory (extended addressing).
    pub const LOAD_RISC_RAM_EXTENDED: u16 = 0x0B;
    /// Get the adapter's loop ID / port ID / topology.
    pub const GET_ADAPTER_LOOP_ID: u16 = 0x20;
    /// Get firmware options.
    pub const GET_FIRMWARE_OPTION: u16 = 0x28;
    /// Set firmware options.
    pub const SET_FIRMWARE_OPTION: u16 = 0x38;
    /// Initialise firmware with a multi-ID (NPIV) control block.
    pub const MID_INITIALIZE_FIRMWARE: u16 = 0x48;
    /// Execute an IOCB from host memory synchronously (64-bit address).
    pub const IOCB_COMMAND_A64: u16 = 0x54;
    /// Initialise firmware.
    pub const INITIALIZE_FIRMWARE: u16 = 0x60;
    /// Get one port database entry.
    pub const GET_PORT_DATABASE: u16 = 0x64;
    /// Get firmware state.
    pub const GET_FIRMWARE_STATE: u16 = 0x69;
    /// Get the list of logged-in ports.
    pub const GET_ID_LIST: u16 = 0x7C;
}

/// Mailbox completion status codes (mailbox 0 on completion).
pub mod mbs {
    /// Command completed.
    pub const COMMAND_COMPLETE: u16 = 0x4000;
    /// Unknown command.
    pub const INVALID_COMMAND: u16 = 0x4001;
    /// Host interface error.
    pub const HOST_INTERFACE_ERROR: u16 = 0x4002;
    /// Test failed.
    pub const TEST_FAILED: u16 = 0x4003;
    /// Command error.
    pub const COMMAND_ERROR: u16 = 0x4005;
    /// Command parameter error.
    pub const COMMAND_PARAMETER_ERROR: u16 = 0x4006;
    /// Checksum error.
    pub const CHECKSUM_ERROR: u16 = 0x4010;
}

/// Firmware states returned by GET FIRMWARE STATE in mailbox 1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u16)]
pub enum FwState {
    /// Waiting for INITIALIZE FIRMWARE.
    ConfigWait = 0,
    /// Waiting for an AL_PA.
    WaitAlPa = 1,
    /// Waiting for fabric login.
    WaitLogin = 2,
    /// Ready: the link is up and the port logged in.
    Ready = 3,
    /// Loss of sync (link down).
    LossOfSync = 4,
    /// Error.
    Error = 5,
    /// Reinitialising.
    Reinit = 6,
    /// Non-participating.
    NonPart = 7,
}

impl FwState {
    /// Decodes mailbox 1 of GET FIRMWARE STATE.
    pub const fn from_u16(v: u16) -> Option<FwState> {
        Some(match v {
            0 => FwState::ConfigWait,
            1 => FwState::WaitAlPa,
            2 => FwState::WaitLogin,
            3 => FwState::Ready,
            4 => FwState::LossOfSync,
            5 => FwState::Error,
            6 => FwState::Reinit,
            7 => FwState::NonPart,
            _ => return None,
        })
    }
}

/// Topology code in mailbox 6 of GET ADAPTER LOOP ID.
pub mod topology {
    /// Private loop.
    pub const LOOP: u16 = 0;
    /// Public loop (FL_Port).
    pub const FL_PORT: u16 = 1;
    /// Point to point, no fabric (N2N).
    pub const N_PORT: u16 = 2;
    /// Fabric (F_Port).
    pub const F_PORT: u16 = 3;
}

/// A mailbox command: the values to write and which registers matter each way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MailboxCmd {
    /// Mailbox values (index = register number).
    pub mb: [u16; MAILBOX_COUNT],
    /// Bit n set: the driver writes mailbox n.
    pub out_mask: u32,
    /// Bit n set: the driver reads mailbox n back on completion.
    pub in_mask: u32,
}

/// Splits a 64-bit DMA address into the (mb2, mb3, mb6, mb7) words the ISP expects.
pub const fn dma_words(addr: u64) -> [u16; 4] {
    [
        (addr >> 16) as u16,
        addr as u16,
        (addr >> 48) as u16,
        (addr >> 32) as u16,
    ]
}

/// Rebuilds a DMA address from mailboxes 2, 3, 6, 7.
pub const fn dma_from_mailboxes(mb: &[u16; MAILBOX_COUNT]) -> u64 {
    ((mb[6] as u64) << 48) | ((mb[7] as u64) << 32) | ((mb[2] as u64) << 16) | mb[3] as u64
}

const fn bits(list: &[usize]) -> u32 {
    let mut m = 0u32;
    let mut i = 0;
    while i < list.len() {
        m |= 1 << (list[i] & 31);
        i += 1;
    }
    m
}

impl MailboxCmd {
    const fn with(op: u16, out: &[usize], inp: &[usize]) -> MailboxCmd {
        let mut mb = [0u16; MAILBOX_COUNT];
        mb[0] = op;
        MailboxCmd {
            mb,
            out_mask: bits(out) | 1,
            in_mask: bits(inp) | 1,
        }
    }

    const fn set_dma(mut self, addr: u64) -> MailboxCmd {
        let w = dma_words(addr);
        self.mb[2] = w[0];
        self.mb[3] = w[1];
        self.mb[6] = w[2];
        self.mb[7] = w[3];
        self
    }

    /// The opcode.
    pub const fn opcode(&self) -> u16 {
        self.mb[0]
    }

    /// LOAD RISC RAM EXTENDED: copy `dwords` 32-bit words from `dma` to RISC `risc_addr`.
    pub const fn load_risc_ram_extended(risc_addr: u32, dma: u64, dwords: u32) -> MailboxCmd {
        let mut c =
            Self::with(mbc::LOAD_RISC_RAM_EXTENDED, &[1, 2, 3, 4, 5, 6, 7, 8], &[]).set_dma(dma);
        c.mb[1] = risc_addr as u16;
        c.mb[8] = (risc_addr >> 16) as u16;
        c.mb[4] = (dwords >> 16) as u16;
        c.mb[5] = dwords as u16;
        c
    }

    /// VERIFY CHECKSUM of the firmware at `risc_addr` (result checksum in mb1/mb2).
    pub const fn verify_checksum(risc_addr: u32) -> MailboxCmd {
        let mut c = Self::with(mbc::VERIFY_CHECKSUM, &[1, 2], &[1, 2]);
        c.mb[1] = (risc_addr >> 16) as u16;
        c.mb[2] = risc_addr as u16;
        c
    }

    /// EXECUTE FIRMWARE at `risc_addr`.
    pub const fn execute_firmware(risc_addr: u32) -> MailboxCmd {
        let mut c = Self::with(mbc::EXECUTE_FIRMWARE, &[1, 2, 3, 4], &[1]);
        c.mb[1] = (risc_addr >> 16) as u16;
        c.mb[2] = risc_addr as u16;
        c
    }

    /// GET FIRMWARE VERSION (major/minor/subminor in mb1..mb3, attributes in mb6).
    pub const fn get_firmware_version() -> MailboxCmd {
        Self::with(mbc::GET_FIRMWARE_VERSION, &[], &[1, 2, 3, 4, 5, 6])
    }

    /// GET FIRMWARE STATE (state in mb1).
    pub const fn get_firmware_state() -> MailboxCmd {
        Self::with(mbc::GET_FIRMWARE_STATE, &[], &[1, 2, 3, 4, 5, 6])
    }

    /// INITIALIZE FIRMWARE (or MID INITIALIZE FIRMWARE for NPIV) with the control block at
    /// `icb_dma`.
    pub const fn initialize_firmware(icb_dma: u64, mid: bool) -> MailboxCmd {
        let op = if mid {
            mbc::MID_INITIALIZE_FIRMWARE
        } else {
            mbc::INITIALIZE_FIRMWARE
        };
        Self::with(op, &[1, 2, 3, 4, 5, 6, 7], &[1, 2]).set_dma(icb_dma)
    }

    /// SET FIRMWARE OPTION: options words 1..3.
    pub const fn set_firmware_options(opts: [u16; 3]) -> MailboxCmd {
        let mut c = Self::with(mbc::SET_FIRMWARE_OPTION, &[1, 2, 3], &[]);
        c.mb[1] = opts[0];
        c.mb[2] = opts[1];
        c.mb[3] = opts[2];
        c
    }

    /// GET ADAPTER LOOP ID for virtual port `vp_index` (results in mb1..mb3, mb6, mb7).
    pub const fn get_adapter_id(vp_index: u8) -> MailboxCmd {
        let mut c = Self::with(mbc::GET_ADAPTER_LOOP_ID, &[9], &[1, 2, 3, 6, 7]);
        c.mb[9] = vp_index as u16;
        c
    }

    /// GET PORT DATABASE for `handle` on `vp_index` into a 64-byte buffer at `dma`.
    pub const fn get_port_database(handle: Handle, vp_index: u8, dma: u64) -> MailboxCmd {
        let mut c = Self::with(mbc::GET_PORT_DATABASE, &[1, 2, 3, 6, 7, 9, 10], &[1]).set_dma(dma);
        c.mb[1] = handle.0;
        c.mb[9] = vp_index as u16;
        c
    }

    /// GET ID LIST of `vp_index` into a buffer of `size` bytes at `dma` (count in mb1).
    pub const fn get_id_list(vp_index: u8, dma: u64, size: u16) -> MailboxCmd {
        let mut c = Self::with(mbc::GET_ID_LIST, &[2, 3, 6, 7, 8, 9], &[1]).set_dma(dma);
        c.mb[8] = size;
        c.mb[9] = vp_index as u16;
        c
    }

    /// IOCB COMMAND A64: execute the 64-byte IOCB at `dma`; the firmware writes the
    /// completion entry back over it.
    pub const fn iocb_command_a64(dma: u64) -> MailboxCmd {
        Self::with(mbc::IOCB_COMMAND_A64, &[1, 2, 3, 6, 7], &[]).set_dma(dma)
    }
}

// ---- DMA structures -------------------------------------------------------------------

fn rd<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = off.checked_add(N).and_then(|end| b.get(off..end)) {
        out.copy_from_slice(s);
    }
    out
}
fn wr(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(s) = off.checked_add(v.len()).and_then(|end| b.get_mut(off..end)) {
        s.copy_from_slice(v);
    }
}
fn le16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(rd(b, off))
}
fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(rd(b, off))
}
fn le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(rd(b, off))
}

/// Size of `init_cb_24xx`.
pub const ICB_SIZE: usize = 128;

/// Firmware options word 1 bits.
pub mod fo1 {
    /// Enable target mode.
    pub const ENABLE_TARGET_MODE: u32 = 1 << 4;
    /// Disable initiator mode.
    pub const DISABLE_INITIATOR_MODE: u32 = 1 << 5;
    /// Non-participating LIP (cleared for target mode).
    pub const BIT_9: u32 = 1 << 9;
    /// Full login after LIP (cleared for target mode).
    pub const FULL_LOGIN_AFTER_LIP: u32 = 1 << 13;
    /// Node name option.
    pub const NODE_NAME_OPTION: u32 = 1 << 14;
}

/// Firmware options word 2 bits.
pub mod fo2 {
    /// Enable class 2.
    pub const ENABLE_CLASS_2: u32 = 1 << 8;
    /// FC tape (SLER).
    pub const FC_TAPE: u32 = 1 << 12;
    /// Target PRLI control: PRLI is handed to the driver as an Immediate Notify.
    pub const TARGET_PRLI_CONTROL: u32 = 1 << 14;
    /// ATIO interrupts on INTx rather than a dedicated MSI-X vector.
    pub const ATIO_ON_INTX: u32 = 1 << 26;
}

/// The ISP24xx initialisation control block (`init_cb_24xx`, 128 bytes), the fields
/// target mode depends on.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct InitCb24 {
    /// ICB version (1).
    pub version: u16,
    /// Frame payload size.
    pub frame_payload_size: u16,
    /// Execution throttle.
    pub execution_throttle: u16,
    /// Exchange count (0xFFFF in target mode).
    pub exchange_count: u16,
    /// Hard address.
    pub hard_address: u16,
    /// Local WWPN.
    pub port_name: Wwpn,
    /// Local WWNN.
    pub node_name: Wwpn,
    /// Response queue length (entries).
    pub response_q_length: u16,
    /// Request queue length (entries).
    pub request_q_length: u16,
    /// Request queue bus address.
    pub request_q_address: u64,
    /// Response queue bus address.
    pub response_q_address: u64,
    /// MSI-X vector of the response queue.
    pub msix: u16,
    /// MSI-X vector of the ATIO queue.
    pub msix_atio: u16,
    /// ATIO queue length (entries).
    pub atio_q_length: u16,
    /// ATIO queue bus address.
    pub atio_q_address: u64,
    /// Login timeout.
    pub login_timeout: u16,
    /// Firmware options 1 ([`fo1`]).
    pub firmware_options_1: u32,
    /// Firmware options 2 ([`fo2`]).
    pub firmware_options_2: u32,
    /// Firmware options 3.
    pub firmware_options_3: u32,
}

impl InitCb24 {
    /// Decodes the control block from `b` (missing bytes read as zero).
    pub fn decode(b: &[u8]) -> InitCb24 {
        InitCb24 {
            version: le16(b, 0x00),
            frame_payload_size: le16(b, 0x04),
            execution_throttle: le16(b, 0x06),
            exchange_count: le16(b, 0x08),
            hard_address: le16(b, 0x0A),
            port_name: Wwpn::from_be_bytes(rd(b, 0x0C)),
            node_name: Wwpn::from_be_bytes(rd(b, 0x14)),
            response_q_length: le16(b, 0x24),
            request_q_length: le16(b, 0x26),
            request_q_address: le64(b, 0x2C),
            response_q_address: le64(b, 0x34),
            msix: le16(b, 0x44),
            msix_atio: le16(b, 0x46),
            atio_q_length: le16(b, 0x4E),
            atio_q_address: le64(b, 0x50),
            login_timeout: le16(b, 0x5A),
            firmware_options_1: le32(b, 0x5C),
            firmware_options_2: le32(b, 0x60),
            firmware_options_3: le32(b, 0x64),
        }
    }

    /// Encodes the control block (queue in/out pointers zero).
    pub fn encode(&self) -> [u8; ICB_SIZE] {
        let mut b = [0u8; ICB_SIZE];
        wr(&mut b, 0x00, &self.version.to_le_bytes());
        wr(&mut b, 0x04, &self.frame_payload_size.to_le_bytes());
        wr(&mut b, 0x06, &self.execution_throttle.to_le_bytes());
        wr(&mut b, 0x08, &self.exchange_count.to_le_bytes());
        wr(&mut b, 0x0A, &self.hard_address.to_le_bytes());
        wr(&mut b, 0x0C, &self.port_name.to_be_bytes());
        wr(&mut b, 0x14, &self.node_name.to_be_bytes());
        wr(&mut b, 0x24, &self.response_q_length.to_le_bytes());
        wr(&mut b, 0x26, &self.request_q_length.to_le_bytes());
        wr(&mut b, 0x2C, &self.request_q_address.to_le_bytes());
        wr(&mut b, 0x34, &self.response_q_address.to_le_bytes());
        wr(&mut b, 0x44, &self.msix.to_le_bytes());
        wr(&mut b, 0x46, &self.msix_atio.to_le_bytes());
        wr(&mut b, 0x4E, &self.atio_q_length.to_le_bytes());
        wr(&mut b, 0x50, &self.atio_q_address.to_le_bytes());
        wr(&mut b, 0x5A, &self.login_timeout.to_le_bytes());
        wr(&mut b, 0x5C, &self.firmware_options_1.to_le_bytes());
        wr(&mut b, 0x60, &self.firmware_options_2.to_le_bytes());
        wr(&mut b, 0x64, &self.firmware_options_3.to_le_bytes());
        b
    }

    /// Whether target mode is enabled.
    pub const fn target_mode(&self) -> bool {
        self.firmware_options_1 & fo1::ENABLE_TARGET_MODE != 0
    }
}

/// Size of `port_database_24xx`.
pub const PORT_DATABASE_SIZE: usize = 64;
/// Port database login state: PLOGI complete.
pub const PDS_PLOGI_COMPLETE: u8 = 0x04;
/// Port database login state: PRLI complete.
pub const PDS_PRLI_COMPLETE: u8 = 0x06;

/// One port database entry (`port_database_24xx`), the fields sessions use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PortDb24 {
    /// Flags.
    pub flags: u16,
    /// Current login state (low nibble FCP).
    pub current_login_state: u8,
    /// Last login state.
    pub last_login_state: u8,
    /// N_Port ID (stored domain, area, al_pa).
    pub port_id: PortId,
    /// N_Port handle.
    pub nport_handle: Handle,
    /// PRLI service parameter word 0 (big-endian in the buffer).
    pub prli_word0: u16,
    /// PRLI service parameter word 3 (big-endian in the buffer).
    pub prli_word3: u16,
    /// WWPN.
    pub port_name: Wwpn,
    /// WWNN.
    pub node_name: Wwpn,
}

impl PortDb24 {
    /// Decodes a port database buffer (missing bytes read as zero).
    pub fn decode(b: &[u8]) -> PortDb24 {
        let id: [u8; 3] = rd(b, 0x08);
        PortDb24 {
            flags: le16(b, 0x00),
            current_login_state: rd::<1>(b, 0x02)[0],
            last_login_state: rd::<1>(b, 0x03)[0],
            port_id: PortId::from_parts(id[0], id[1], id[2]),
            nport_handle: Handle(le16(b, 0x0E)),
            prli_word0: u16::from_be_bytes(rd(b, 0x14)),
            prli_word3: u16::from_be_bytes(rd(b, 0x16)),
            port_name: Wwpn::from_be_bytes(rd(b, 0x18)),
            node_name: Wwpn::from_be_bytes(rd(b, 0x20)),
        }
    }

    /// Encodes a port database buffer.
    pub fn encode(&self) -> [u8; PORT_DATABASE_SIZE] {
        let mut b = [0u8; PORT_DATABASE_SIZE];
        wr(&mut b, 0x00, &self.flags.to_le_bytes());
        wr(
            &mut b,
            0x02,
            &[self.current_login_state, self.last_login_state],
        );
        let id = self.port_id.get().to_be_bytes();
        wr(&mut b, 0x08, &[id[1], id[2], id[3]]);
        wr(&mut b, 0x0E, &self.nport_handle.0.to_le_bytes());
        wr(&mut b, 0x14, &self.prli_word0.to_be_bytes());
        wr(&mut b, 0x16, &self.prli_word3.to_be_bytes());
        wr(&mut b, 0x18, &self.port_name.to_be_bytes());
        wr(&mut b, 0x20, &self.node_name.to_be_bytes());
        b
    }
}

/// Size of one GET ID LIST entry on 24xx (`gid_list_info`).
pub const GID_LIST_ENTRY_SIZE: usize = 8;

/// One GET ID LIST entry: port ID and handle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct GidEntry {
    /// N_Port ID (stored al_pa, area, domain).
    pub port_id: PortId,
    /// N_Port handle.
    pub handle: Handle,
}

impl GidEntry {
    /// Decodes an entry.
    pub fn decode(b: &[u8]) -> GidEntry {
        let id: [u8; 3] = rd(b, 0);
        GidEntry {
            port_id: PortId::from_parts(id[2], id[1], id[0]),
            handle: Handle(le16(b, 4)),
        }
    }
    /// Encodes an entry.
    pub fn encode(&self) -> [u8; GID_LIST_ENTRY_SIZE] {
        let id = self.port_id.get().to_le_bytes();
        let h = self.handle.0.to_le_bytes();
        [id[0], id[1], id[2], 0, h[0], h[1], 0, 0]
    }
}
