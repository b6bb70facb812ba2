//! A model of one FC switch (one domain): N_Port ID assignment for FLOGI and NPIV FDISC,
//! a name server (WWPN <-> N_Port ID, FC-4 features), per-switch-port link state and RSCN.
//!
//! N_Port IDs are `domain.area.port`: the area is the switch port the cable is plugged into,
//! the port byte is 0 for the physical N_Port (FLOGI) and 1..=255 for its NPIV ports (FDISC).
//! Like a real switch, a freed ID is handed out again, lowest free first: the NPIV slot-reuse
//! scenario Ferrule exists for depends on exactly that.
//!
//! Fixed capacity `N` logins, no allocation, no panics on any input.

use scst_core::types::{PortId, Wwpn};

/// Why the switch refused a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FabricError {
    /// The switch port's link is down.
    LinkDown,
    /// A WWPN of 0 (or another name no N_Port may use).
    BadName,
    /// That WWPN is already logged in elsewhere.
    DuplicateWwpn,
    /// FDISC before the physical port's FLOGI, or an ID not logged in.
    NotLoggedIn,
    /// No free N_Port ID in the area or no free login slot.
    NoResources,
}

/// FC-4 features a port registered with the name server (RFF_ID, type FCP).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Fc4Features {
    /// FCP target function.
    pub target: bool,
    /// FCP initiator function.
    pub initiator: bool,
}

/// One name-server record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NsEntry {
    /// The N_Port ID the switch assigned.
    pub port_id: PortId,
    /// Port name.
    pub wwpn: Wwpn,
    /// Node name.
    pub wwnn: Wwpn,
    /// Registered FCP features.
    pub fc4: Fc4Features,
}

#[derive(Clone, Copy)]
struct Slot {
    used: bool,
    entry: NsEntry,
    /// Registered for state change notifications (SCR).
    scr: bool,
    /// RSCNs queued for this port and not yet taken.
    rscn_pending: u32,
}

const FREE: Slot = Slot {
    used: false,
    entry: NsEntry {
        port_id: PortId::new(0),
        wwpn: Wwpn(0),
        wwnn: Wwpn(0),
        fc4: Fc4Features {
            target: false,
            initiator: false,
        },
    },
    scr: false,
    rscn_pending: 0,
};

/// The switch. Construct with [`Fabric::new`] (const: the kernel boxes it).
pub struct Fabric<const N: usize> {
    domain: u8,
    /// Link state per area (switch port), one bit each.
    links: [u64; 4],
    slots: [Slot; N],
}

impl<const N: usize> Fabric<N> {
    /// A switch with domain ID `domain` (1..=0xEF; other values are taken as 1), every link
    /// down, nobody logged in.
    pub const fn new(domain: u8) -> Self {
        let domain = if domain == 0 || domain > 0xEF {
            1
        } else {
            domain
        };
        Fabric {
            domain,
            links: [0; 4],
            slots: [FREE; N],
        }
    }

    /// The switch's domain ID.
    pub const fn domain(&self) -> u8 {
        self.domain
    }

    fn link_bit(area: u8) -> (usize, u64) {
        (usize::from(area >> 6), 1u64 << (area & 63))
    }

    /// Whether switch port `area` sees light.
    pub fn link_is_up(&self, area: u8) -> bool {
        let (w, b) = Self::link_bit(area);
        self.links.get(w).is_some_and(|v| v & b != 0)
    }

    /// The cable of switch port `area` is plugged in.
    pub fn link_up(&mut self, area: u8) {
        let (w, b) = Self::link_bit(area);
        if let Some(v) = self.links.get_mut(w) {
            *v |= b;
        }
    }

    /// The link of switch port `area` goes down: every port of that area (physical and
    /// NPIV) is logged out; the others get an RSCN. Returns how many logins ended.
    pub fn link_down(&mut self, area: u8) -> usize {
        let (w, b) = Self::link_bit(area);
        if let Some(v) = self.links.get_mut(w) {
            *v &= !b;
        }
        let mut n = 0usize;
        for s in self.slots.iter_mut().filter(|s| s.used) {
            if Self::area_of(s.entry.port_id) == area {
                *s = FREE;
                n = n.saturating_add(1);
            }
        }
        if n > 0 {
            self.rscn(PortId::new(0));
        }
        n
    }

    const fn area_of(id: PortId) -> u8 {
        (id.get() >> 8) as u8
    }

    fn index_of(&self, id: PortId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.used && s.entry.port_id == id)
    }

    fn index_of_wwpn(&self, wwpn: Wwpn) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.used && s.entry.wwpn == wwpn)
    }

    /// Queues an RSCN for every logged-in port that registered for them, except `origin`.
    fn rscn(&mut self, origin: PortId) {
        for s in self
            .slots
            .iter_mut()
            .filter(|s| s.used && s.scr && s.entry.port_id != origin)
        {
            s.rscn_pending = s.rscn_pending.saturating_add(1);
        }
    }

    fn login(&mut self, id: PortId, wwpn: Wwpn, wwnn: Wwpn) -> Result<PortId, FabricError> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| !s.used)
            .ok_or(FabricError::NoResources)?;
        *slot = Slot {
            used: true,
            entry: NsEntry {
                port_id: id,
                wwpn,
                wwnn,
                fc4: Fc4Features::default(),
            },
            scr: false,
            rscn_pending: 0,
        };
        self.rscn(id);
        Ok(id)
    }

    fn check_names(&self, wwpn: Wwpn, wwnn: Wwpn) -> Result<(), FabricError> {
        if wwpn.0 == 0 || wwnn.0 == 0 {
            return Err(FabricError::BadName);
        }
        if self.index_of_wwpn(wwpn).is_some() {
            return Err(FabricError::DuplicateWwpn);
        }
        Ok(())
    }

    /// FLOGI from the N_Port on switch port `area`: it gets `domain.area.00`. A repeated
    /// FLOGI by the same WWPN first logs the old login (and its NPIV ports) out, as the
    /// switch does on a port re-initialisation; another WWPN while one is logged in on that
    /// switch port is refused.
    pub fn flogi(&mut self, area: u8, wwpn: Wwpn, wwnn: Wwpn) -> Result<PortId, FabricError> {
        if !self.link_is_up(area) {
            return Err(FabricError::LinkDown);
        }
        let id = PortId::from_parts(self.domain, area, 0);
        if let Some(i) = self.index_of(id) {
            if self.slots.get(i).is_some_and(|s| s.entry.wwpn == wwpn) {
                let _ = self.logo(id);
            } else {
                return Err(FabricError::DuplicateWwpn);
            }
        }
        self.check_names(wwpn, wwnn)?;
        self.login(id, wwpn, wwnn)
    }

    /// FDISC (NPIV) through the physical N_Port `phys`: the lowest free port byte 1..=255
    /// of its area.
    pub fn fdisc(&mut self, phys: PortId, wwpn: Wwpn, wwnn: Wwpn) -> Result<PortId, FabricError> {
        let area = Self::area_of(phys);
        let is_phys = phys.get() & 0xff == 0 && (phys.get() >> 16) as u8 == self.domain;
        if !is_phys || self.index_of(phys).is_none() {
            return Err(FabricError::NotLoggedIn);
        }
        if !self.link_is_up(area) {
            return Err(FabricError::LinkDown);
        }
        self.check_names(wwpn, wwnn)?;
        let id = (1..=u8::MAX)
            .map(|p| PortId::from_parts(self.domain, area, p))
            .find(|&id| self.index_of(id).is_none())
            .ok_or(FabricError::NoResources)?;
        self.login(id, wwpn, wwnn)
    }

    /// LOGO to the fabric: frees the N_Port ID for reuse. Logging out a physical port also
    /// logs out its NPIV ports. The other ports get an RSCN.
    pub fn logo(&mut self, id: PortId) -> Result<(), FabricError> {
        let i = self.index_of(id).ok_or(FabricError::NotLoggedIn)?;
        if let Some(s) = self.slots.get_mut(i) {
            *s = FREE;
        }
        if id.get() & 0xff == 0 {
            let area = Self::area_of(id);
            for s in self.slots.iter_mut().filter(|s| s.used) {
                if Self::area_of(s.entry.port_id) == area {
                    *s = FREE;
                }
            }
        }
        self.rscn(id);
        Ok(())
    }

    /// RFF_ID: the FCP features of a logged-in port. Other ports get an RSCN.
    pub fn register_fc4(&mut self, id: PortId, fc4: Fc4Features) -> Result<(), FabricError> {
        let i = self.index_of(id).ok_or(FabricError::NotLoggedIn)?;
        if let Some(s) = self.slots.get_mut(i) {
            s.entry.fc4 = fc4;
        }
        self.rscn(id);
        Ok(())
    }

    /// SCR: `id` wants RSCNs.
    pub fn scr(&mut self, id: PortId) -> Result<(), FabricError> {
        let i = self.index_of(id).ok_or(FabricError::NotLoggedIn)?;
        if let Some(s) = self.slots.get_mut(i) {
            s.scr = true;
        }
        Ok(())
    }

    /// Takes the RSCNs queued for `id` (0 when none or not logged in).
    pub fn take_rscn(&mut self, id: PortId) -> u32 {
        match self.index_of(id).and_then(|i| self.slots.get_mut(i)) {
            Some(s) => core::mem::take(&mut s.rscn_pending),
            None => 0,
        }
    }

    /// GID_FT (FCP) restricted to targets: their N_Port IDs in ascending order into `out`;
    /// returns how many there are (more than `out.len()` when it was too short).
    pub fn gid_ft_targets(&self, out: &mut [PortId]) -> usize {
        let mut n = 0usize;
        let mut last: Option<u32> = None;
        // Ascending without sorting storage: repeatedly take the next larger ID.
        loop {
            let next = self
                .slots
                .iter()
                .filter(|s| s.used && s.entry.fc4.target)
                .map(|s| s.entry.port_id.get())
                .filter(|&v| last.is_none_or(|l| v > l))
                .min();
            let Some(v) = next else { break };
            if let Some(o) = out.get_mut(n) {
                *o = PortId::new(v);
            }
            n = n.saturating_add(1);
            last = Some(v);
        }
        n
    }

    /// GPN_ID / GNN_ID / GFF_ID in one: the record of a logged-in N_Port ID.
    pub fn lookup_id(&self, id: PortId) -> Option<NsEntry> {
        self.index_of(id)
            .and_then(|i| self.slots.get(i))
            .map(|s| s.entry)
    }

    /// GID_PN: the N_Port ID a WWPN is logged in with.
    pub fn lookup_wwpn(&self, wwpn: Wwpn) -> Option<PortId> {
        self.index_of_wwpn(wwpn)
            .and_then(|i| self.slots.get(i))
            .map(|s| s.entry.port_id)
    }

    /// Number of logged-in N_Ports.
    pub fn logins(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }
}
