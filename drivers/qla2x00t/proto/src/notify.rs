//! Typed events from Immediate Notify entries and from asynchronous mailbox events.

use crate::iocb::ImmNotify24;
use scst_core::types::{Handle, PortId, Wwpn};

/// Immediate Notify status codes (offset 0x10).
pub mod status {
    /// LIP reset.
    pub const LIP_RESET: u16 = 0x0E;
    /// LIP / link reinitialisation.
    pub const LIP_LINK_REINIT: u16 = 0x0F;
    /// IOCB overflow.
    pub const IOCB_OVERFLOW: u16 = 0x16;
    /// Abort task (legacy).
    pub const ABORT_TASK: u16 = 0x20;
    /// Port logged out.
    pub const PORT_LOGOUT: u16 = 0x29;
    /// Port configuration changed.
    pub const PORT_CONFIG: u16 = 0x2A;
    /// Global TPRLO.
    pub const GLBL_TPRLO: u16 = 0x2D;
    /// Global LOGO (link failure).
    pub const GLBL_LOGO: u16 = 0x2E;
    /// Resource shortage.
    pub const RESOURCE: u16 = 0x34;
    /// Message received.
    pub const MSG_RX: u16 = 0x36;
    /// SRR.
    pub const SRR: u16 = 0x45;
    /// ELS received; the opcode is in status_subcode.
    pub const ELS: u16 = 0x46;
}

/// ELS opcodes carried in status_subcode of an ELS notify.
pub mod els {
    /// PLOGI.
    pub const PLOGI: u8 = 0x03;
    /// FLOGI.
    pub const FLOGI: u8 = 0x04;
    /// LOGO.
    pub const LOGO: u8 = 0x05;
    /// PRLI.
    pub const PRLI: u8 = 0x20;
    /// PRLO.
    pub const PRLO: u8 = 0x21;
    /// TPRLO.
    pub const TPRLO: u8 = 0x24;
    /// PDISC.
    pub const PDISC: u8 = 0x50;
    /// ADISC.
    pub const ADISC: u8 = 0x52;
}

/// N_Port handle meaning "no particular port" (global event).
pub const NPORT_HANDLE_GLOBAL: u16 = 0xFFFF;
/// vp_index meaning "all virtual ports".
pub const VP_INDEX_GLOBAL: u8 = 0xFF;
/// PRLI word 3 bit: the remote port is a target.
pub const PRLI_WD3_TARGET: u16 = 1 << 4;
/// PRLI word 3 bit: confirmed completion allowed.
pub const PRLI_WD3_CONFIRM: u16 = 1 << 7;

/// Who a login-type event is about: every field the identity rule needs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RemotePort {
    /// Remote WWPN.
    pub wwpn: Wwpn,
    /// Remote N_Port ID.
    pub port_id: PortId,
    /// N_Port handle the firmware bound to it.
    pub handle: Handle,
    /// Local virtual port index.
    pub vp_index: u8,
}

/// What an Immediate Notify means for the session layer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NotifyEvent {
    /// PLOGI: a (re)login; any session on the same port ID or handle is stale.
    Plogi {
        /// The logging-in port.
        port: RemotePort,
        /// Its node name.
        node_name: Wwpn,
    },
    /// PRLI: process login; accepting it opens the session for FCP.
    Prli {
        /// The port.
        port: RemotePort,
        /// PRLI service parameter word 3 (low 16 bits).
        wd3: u16,
    },
    /// LOGO.
    Logo(RemotePort),
    /// PRLO.
    Prlo(RemotePort),
    /// TPRLO.
    Tprlo(RemotePort),
    /// ADISC (address discovery; ack immediately).
    Adisc(RemotePort),
    /// PDISC (port discovery; ack immediately).
    Pdisc(RemotePort),
    /// FLOGI or another ELS the target does not handle (nexus loss + ack).
    OtherEls {
        /// ELS opcode.
        opcode: u8,
        /// The port.
        port: RemotePort,
    },
    /// The firmware logged the port out (status 0x29).
    PortLogout(RemotePort),
    /// Legacy abort task (status 0x20).
    AbortTask {
        /// The port.
        port: RemotePort,
        /// Exchange address of the notify.
        exchange_address: u32,
    },
    /// LIP reset (all sessions on the port affected).
    LipReset,
    /// Link reinitialisation.
    LinkReinit,
    /// Port configuration changed (port database change).
    PortConfigChanged,
    /// Global TPRLO.
    GlobalTprlo,
    /// Global LOGO (link failure).
    GlobalLogo,
    /// IOCB overflow.
    IocbOverflow,
    /// Resource shortage.
    Resource,
    /// Message received.
    MsgRx,
    /// SRR (sequence retransmission request).
    Srr,
    /// A status code this layer does not know.
    Unknown(u16),
}

impl NotifyEvent {
    /// Classifies an Immediate Notify.
    pub fn from_notify(n: &ImmNotify24) -> NotifyEvent {
        let port = RemotePort {
            wwpn: n.port_name,
            port_id: n.port_id,
            handle: n.nport_handle,
            vp_index: n.vp_index,
        };
        match n.status {
            status::ELS => match n.status_subcode {
                els::PLOGI => NotifyEvent::Plogi {
                    port,
                    node_name: n.node_name(),
                },
                els::PRLI => NotifyEvent::Prli {
                    port,
                    wd3: n.prli_wd3_lo(),
                },
                els::LOGO => NotifyEvent::Logo(port),
                els::PRLO => NotifyEvent::Prlo(port),
                els::TPRLO => NotifyEvent::Tprlo(port),
                els::ADISC => NotifyEvent::Adisc(port),
                els::PDISC => NotifyEvent::Pdisc(port),
                opcode => NotifyEvent::OtherEls { opcode, port },
            },
            status::PORT_LOGOUT => NotifyEvent::PortLogout(port),
            status::ABORT_TASK => NotifyEvent::AbortTask {
                port,
                exchange_address: n.exchange_address,
            },
            status::LIP_RESET => NotifyEvent::LipReset,
            status::LIP_LINK_REINIT => NotifyEvent::LinkReinit,
            status::PORT_CONFIG => NotifyEvent::PortConfigChanged,
            status::GLBL_TPRLO => NotifyEvent::GlobalTprlo,
            status::GLBL_LOGO => NotifyEvent::GlobalLogo,
            status::IOCB_OVERFLOW => NotifyEvent::IocbOverflow,
            status::RESOURCE => NotifyEvent::Resource,
            status::MSG_RX => NotifyEvent::MsgRx,
            status::SRR => NotifyEvent::Srr,
            s => NotifyEvent::Unknown(s),
        }
    }

    /// Whether the notify concerns every port of the HBA / VP (handle 0xFFFF or vp 0xFF
    /// are routed to the base port by the driver).
    pub fn is_global(n: &ImmNotify24) -> bool {
        n.nport_handle.0 == NPORT_HANDLE_GLOBAL || n.vp_index == VP_INDEX_GLOBAL
    }

    /// Whether this event ends the session of the port it names (or of all ports).
    pub const fn ends_sessions(&self) -> bool {
        matches!(
            self,
            NotifyEvent::Logo(_)
                | NotifyEvent::Prlo(_)
                | NotifyEvent::Tprlo(_)
                | NotifyEvent::PortLogout(_)
                | NotifyEvent::OtherEls { .. }
                | NotifyEvent::LipReset
                | NotifyEvent::LinkReinit
                | NotifyEvent::PortConfigChanged
                | NotifyEvent::GlobalTprlo
                | NotifyEvent::GlobalLogo
        )
    }
}

/// Asynchronous event codes in mailbox 0 (`MBA_*`).
pub mod mba {
    /// System error.
    pub const SYSTEM_ERR: u16 = 0x8002;
    /// LIP occurred.
    pub const LIP_OCCURRED: u16 = 0x8010;
    /// Loop / link up.
    pub const LOOP_UP: u16 = 0x8011;
    /// Loop / link down.
    pub const LOOP_DOWN: u16 = 0x8012;
    /// LIP reset.
    pub const LIP_RESET: u16 = 0x8013;
    /// Port database changed.
    pub const PORT_UPDATE: u16 = 0x8014;
    /// RSCN received.
    pub const RSCN_UPDATE: u16 = 0x8015;
}

/// An asynchronous firmware event (host_status type 0x12, mailboxes 0..3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AsyncEvent {
    /// Link up; mb1 holds the speed code.
    LinkUp {
        /// Link speed code.
        speed: u16,
    },
    /// Link down; every session ends.
    LinkDown,
    /// LIP occurred.
    Lip,
    /// LIP reset.
    LipReset,
    /// Port database changed (mb1 = handle or 0xFFFF for all, mb2 = reason); mb9 VP.
    PortDatabaseChanged {
        /// N_Port handle, 0xFFFF for all.
        handle: Handle,
        /// Reason / state.
        reason: u16,
    },
    /// RSCN: mb1 high byte format, mb1 low byte domain, mb2 area/port.
    Rscn {
        /// Affected port ID (or area/domain per `format`).
        port_id: PortId,
        /// Address format.
        format: u8,
    },
    /// Firmware system error: chip reset needed.
    SystemError,
    /// A code this layer does not know.
    Unknown(u16),
}

impl AsyncEvent {
    /// Decodes mailboxes 0..3 of an async event.
    pub const fn from_mailboxes(mb: [u16; 4]) -> AsyncEvent {
        match mb[0] {
            mba::LOOP_UP => AsyncEvent::LinkUp { speed: mb[1] },
            mba::LOOP_DOWN => AsyncEvent::LinkDown,
            mba::LIP_OCCURRED => AsyncEvent::Lip,
            mba::LIP_RESET => AsyncEvent::LipReset,
            mba::PORT_UPDATE => AsyncEvent::PortDatabaseChanged {
                handle: Handle(mb[1]),
                reason: mb[2],
            },
            mba::RSCN_UPDATE => AsyncEvent::Rscn {
                port_id: PortId::new(((mb[1] as u32 & 0xff) << 16) | mb[2] as u32),
                format: (mb[1] >> 8) as u8,
            },
            mba::SYSTEM_ERR => AsyncEvent::SystemError,
            c => AsyncEvent::Unknown(c),
        }
    }
}
