//! The two seed scenarios end to end through the session table and the ACL: a command is
//! attributed by S_ID, then its LUN is looked up in the session's resolved map, the way the
//! driver's ATIO path does. Each initiator has its own disk behind LUN 0; the old WWPN's
//! disk must never serve a command from the new owner of its N_Port ID.

use scst_core::acl::{AclTable, LunLookupError, ResolvedMap};
use scst_core::identity::{Nexus, NoSession, SessionRef, SessionTable, Teardown};
use scst_core::types::{DeviceId, Handle, LocalPort, Lun, PortId, Wwpn};

const P: LocalPort = LocalPort {
    target: 0,
    vp_index: 1,
};
const A: Wwpn = Wwpn(0xc050_7601_0000_000a);
const B: Wwpn = Wwpn(0xc050_7601_0000_000b);
const DISK_A: DeviceId = DeviceId(1);
const DISK_B: DeviceId = DeviceId(2);

/// What the driver keeps per session slot: the resolved map.
struct Driver {
    table: Box<SessionTable<16>>,
    acl: Box<AclTable>,
    maps: Vec<ResolvedMap>,
    teardowns: Vec<SessionRef>,
}

impl Driver {
    fn new() -> Self {
        let mut acl = Box::new(AclTable::new());
        let ga = acl.add_group(b"vm-a").unwrap();
        let gb = acl.add_group(b"vm-b").unwrap();
        acl.add_initiator(ga, A).unwrap();
        acl.add_initiator(gb, B).unwrap();
        acl.map_lun(ga, 0, DISK_A, false).unwrap();
        acl.map_lun(gb, 0, DISK_B, false).unwrap();
        Driver {
            table: Box::new(SessionTable::new()),
            acl,
            maps: (0..16).map(|_| ResolvedMap::new()).collect(),
            teardowns: Vec::new(),
        }
    }

    /// PLOGI; returns the session and whether it may be acked now.
    fn plogi(&mut self, wwpn: Wwpn, id: u32, h: u16) -> (SessionRef, bool) {
        let n = Nexus {
            port: P,
            wwpn,
            port_id: PortId::new(id),
            handle: Handle(h),
        };
        let mut down = Vec::<Teardown>::new();
        let l = self.table.plogi(n, &mut |t| down.push(t)).unwrap();
        self.teardowns.extend(down.iter().map(|t| t.session));
        (l.session, l.ready)
    }

    /// PRLI accepted: resolve the map for the session's WWPN, then activate.
    fn accept_prli(&mut self, r: SessionRef) {
        let wwpn = self.table.get(r).unwrap().nexus.wwpn;
        let map = &mut self.maps[usize::from(r.slot())];
        self.acl.resolve_into(wwpn, map);
        self.table.activate(r).unwrap();
    }

    fn finish_teardowns(&mut self) -> Vec<SessionRef> {
        let mut ready = Vec::new();
        for r in std::mem::take(&mut self.teardowns) {
            self.table.teardown_done(r, &mut |x| ready.push(x)).unwrap();
        }
        ready
    }

    /// The ATIO path: S_ID -> session -> LUN 0 -> device.
    fn command(&self, id: u32) -> Result<DeviceId, &'static str> {
        let r = self
            .table
            .lookup_sid(P, PortId::new(id))
            .map_err(|NoSession| "busy")?;
        let s = self.table.check_active(r).map_err(|_| "busy")?;
        let map = &self.maps[usize::from(r.slot())];
        match map.lookup(s.nexus.wwpn, Lun::from_index(0)) {
            Ok(m) => Ok(m.device),
            Err(LunLookupError::WrongInitiator) => Err("map of another initiator"),
            Err(LunLookupError::NotMapped) => Err("no such lun"),
        }
    }
}

const X: u32 = 0x0a_0b01;
const X2: u32 = 0x0a_0c01;

#[test]
fn seed_a_new_vhba_reuses_slot_logo_lost() {
    let mut d = Driver::new();
    let (a, ready) = d.plogi(A, X, 1);
    assert!(ready);
    d.accept_prli(a);
    assert_eq!(d.command(X), Ok(DISK_A));
    // A's VM is deleted; its LOGO never arrives. B appears with A's N_Port ID and handle.
    let (b, ready) = d.plogi(B, X, 1);
    assert!(!ready);
    assert_ne!(
        b.slot(),
        a.slot(),
        "A still holds its slot while tearing down"
    );
    assert_eq!(d.command(X), Err("busy"));
    assert_eq!(d.finish_teardowns(), [b]);
    assert_eq!(d.command(X), Err("busy"), "no commands before B's PRLI");
    d.accept_prli(b);
    assert_eq!(d.command(X), Ok(DISK_B));
}

#[test]
fn seed_b_migration_while_another_takes_the_slot() {
    let mut d = Driver::new();
    let (a, _) = d.plogi(A, X, 1);
    d.accept_prli(a);
    // A migrates to the second initiator port; B takes A's old N_Port ID and handle.
    let (a2, _) = d.plogi(A, X2, 2);
    let (b, _) = d.plogi(B, X, 1);
    assert_eq!(d.command(X), Err("busy"));
    assert_eq!(d.command(X2), Err("busy"));
    let mut ready = d.finish_teardowns();
    ready.sort();
    let mut exp = vec![a2, b];
    exp.sort();
    assert_eq!(ready, exp);
    d.accept_prli(b);
    d.accept_prli(a2);
    assert_eq!(d.command(X), Ok(DISK_B));
    assert_eq!(d.command(X2), Ok(DISK_A));
}

/// A driver bug that forgets to re-resolve a reused slot cannot serve the old WWPN's map:
/// the map is bound to the WWPN it was resolved for.
#[test]
fn stale_map_in_reused_slot_is_refused() {
    let mut d = Driver::new();
    let (a, _) = d.plogi(A, X, 1);
    d.accept_prli(a);
    let mut down = Vec::new();
    d.table
        .logout(P, PortId::new(X), Some(A), &mut |t| down.push(t.session));
    d.table.teardown_done(down[0], &mut |_| ()).unwrap();
    let (b, ready) = d.plogi(B, X, 1);
    assert!(ready);
    assert_eq!(b.slot(), a.slot(), "slot reused");
    d.table.activate(b).unwrap(); // Bug: no resolve_into for B.
    assert_eq!(d.command(X), Err("map of another initiator"));
}
