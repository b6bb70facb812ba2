//! The target end to end: fabric command entry → session by S_ID → LUN map → logical unit,
//! with reservations, unit attentions, task management and task attributes wired together.
mod target_fixture;

use scst_core::acl::GroupId;
use scst_core::exec::Residual;
use scst_core::lu::LuStore;
use scst_core::pr::PrNexus;
use scst_core::target::{Command, Completion, Submitted};
use scst_core::task_set::AbortOutcome;
use scst_core::tmf::{AbortNotice, TmfFunction, TmfResponse};
use scst_core::types::{Asc, DeviceId, Lun, PortId, ScsiStatus, Sense, SenseKey, TaskAttr, Wwpn};
use target_fixture::*;

const A: Wwpn = Wwpn(0xc050_7601_0000_000a);
const B: Wwpn = Wwpn(0xc050_7601_0000_000b);
const X: u32 = 0x0a_0b01;
const X2: u32 = 0x0a_0c01;

/// A and B each in their own group; A's LUN 0 is device 0, B's LUN 0 is device 1.
fn two_vms(f: &mut Fx) -> (GroupId, GroupId) {
    f.t.update_acl(&*f.store, |acl| {
        let ga = acl.add_group(b"vm-a").unwrap();
        let gb = acl.add_group(b"vm-b").unwrap();
        acl.add_initiator(ga, A).unwrap();
        acl.add_initiator(gb, B).unwrap();
        acl.map_lun(ga, 0, DeviceId(0), false).unwrap();
        acl.map_lun(gb, 0, DeviceId(1), false).unwrap();
        (ga, gb)
    })
}

/// Both initiators see device 0 as LUN 0 (a shared disk for reservations).
fn shared_disk(f: &mut Fx) -> GroupId {
    f.t.update_acl(&*f.store, |acl| {
        let g = acl.add_group(b"cluster").unwrap();
        acl.add_initiator(g, A).unwrap();
        acl.add_initiator(g, B).unwrap();
        acl.map_lun(g, 0, DeviceId(0), false).unwrap();
        g
    })
}

fn ua(asc: Asc) -> Option<Sense> {
    Some(Sense::unit_attention(asc))
}

/// READ(10) of block 0 on LUN 0; returns the first byte (the device's fill pattern).
fn read_pattern(f: &mut Fx, pid: u32) -> Result<u8, ScsiStatus> {
    let mut buf = [0u8; BS];
    let r = f.cmd(P1, pid, 0, &read10(0, 1), &mut buf);
    if r.status != ScsiStatus::Good {
        return Err(r.status);
    }
    assert!(buf.iter().all(|&b| b == buf[0]));
    Ok(buf[0])
}

#[test]
fn seed_a_slot_reuse_with_lost_logo() {
    let mut f = Fx::new(2, |_| ());
    two_vms(&mut f);
    f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    assert_eq!(read_pattern(&mut f, X), Ok(0xd0));
    // A's VM is deleted without LOGO; B's new vHBA gets A's N_Port ID and handle.
    let n = Fx::nexus(P1, B, X, 1);
    let l = f.t.plogi(&*f.store, n, &mut f.ev).unwrap();
    assert!(!l.ready, "A is still tearing down");
    assert_eq!(f.ev.teardowns.len(), 1);
    assert_eq!(f.ev.teardowns[0].nexus.wwpn, A);
    // Until B's PRLI: BUSY, never A's disk, never a guess.
    f.log.borrow_mut().clear();
    assert_eq!(read_pattern(&mut f, X), Err(ScsiStatus::Busy));
    f.finish_teardowns();
    assert_eq!(f.ev.ready, [l.session]);
    assert_eq!(read_pattern(&mut f, X), Err(ScsiStatus::Busy));
    assert!(f.log.borrow().is_empty(), "no device touched while busy");
    f.t.prli(&*f.store, n, &mut f.ev).unwrap();
    f.t.activate(&*f.store, l.session).unwrap();
    assert_eq!(
        f.drain_ua(P1, X, 0),
        [(0x29, 0x00)],
        "B starts with POWER ON, RESET"
    );
    assert_eq!(read_pattern(&mut f, X), Ok(0xd1));
    assert_eq!(*f.log.borrow().last().unwrap(), 1);
    assert_eq!(f.t.busy_count(), 2);
}

#[test]
fn seed_b_migration_while_another_takes_the_slot() {
    let mut f = Fx::new(2, |_| ());
    two_vms(&mut f);
    f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    // A migrates to X2 (new handle); B takes X and A's old handle.
    let na2 = Fx::nexus(P1, A, X2, 2);
    let nb = Fx::nexus(P1, B, X, 1);
    let la2 = f.t.plogi(&*f.store, na2, &mut f.ev).unwrap();
    let lb = f.t.plogi(&*f.store, nb, &mut f.ev).unwrap();
    assert_eq!(read_pattern(&mut f, X), Err(ScsiStatus::Busy));
    assert_eq!(read_pattern(&mut f, X2), Err(ScsiStatus::Busy));
    f.finish_teardowns();
    for (n, l) in [(nb, lb), (na2, la2)] {
        f.t.prli(&*f.store, n, &mut f.ev).unwrap();
        f.t.activate(&*f.store, l.session).unwrap();
    }
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    assert_eq!(
        read_pattern(&mut f, X),
        Ok(0xd1),
        "B at A's old ID reads B's disk"
    );
    assert_eq!(read_pattern(&mut f, X2), Ok(0xd0), "A followed its WWPN");
}

#[test]
fn unknown_s_id_is_busy_and_counts() {
    let mut f = Fx::new(1, |_| ());
    let r = f.cmd(P0, 0x01_0203, 0, &TUR, &mut []);
    assert_eq!(r.status, ScsiStatus::Busy);
    assert_eq!(r.sense, None);
    // Right S_ID on the wrong local port is no session either.
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    assert_eq!(f.cmd(P0, X, 0, &TUR, &mut []).status, ScsiStatus::Busy);
    assert_eq!(f.t.busy_count(), 2);
}

#[test]
fn request_sense_returns_the_unit_attention_as_data() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    let mut buf = [0u8; 18];
    let r = f.cmd(P1, X, 0, &[0x03, 0, 0, 0, 18, 0], &mut buf);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(buf[0], 0x70);
    assert_eq!(buf[2], 0x06);
    assert_eq!((buf[12], buf[13]), (0x29, 0x00));
    // Cleared: the next command runs.
    assert_eq!(f.cmd(P1, X, 0, &TUR, &mut []).status, ScsiStatus::Good);
    // INQUIRY neither reports nor clears; TUR then gets it.
    f.t.capacity_changed(&*f.store, DeviceId(0));
    let mut inq = [0u8; 36];
    let r = f.cmd(P1, X, 0, &[0x12, 0, 0, 0, 36, 0], &mut inq);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(
        f.cmd(P1, X, 0, &TUR, &mut []).sense,
        ua(Asc::CAPACITY_DATA_CHANGED)
    );
}

#[test]
fn unmapped_lun_answers_inquiry_report_luns_and_nothing_else() {
    let mut f = Fx::new(2, |_| ());
    two_vms(&mut f);
    f.login(P1, A, X, 1);
    let mut inq = [0u8; 36];
    let r = f.cmd(P1, X, 5, &[0x12, 0, 0, 0, 36, 0], &mut inq);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(inq[0], 0x7f);
    let mut rl = [0u8; 64];
    let r = f.cmd(P1, X, 5, &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], &mut rl);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(rl[..16], [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.log.borrow_mut().clear();
    let r = f.cmd(P1, X, 5, &read10(0, 1), &mut [0u8; BS]);
    assert_eq!(
        r.sense,
        Some(Sense::new(SenseKey::IllegalRequest, Asc::LU_NOT_SUPPORTED))
    );
    assert!(f.log.borrow().is_empty());
}

#[test]
fn read_only_mapping_refuses_writes() {
    let mut f = Fx::new(1, |_| ());
    f.t.update_acl(&*f.store, |acl| {
        let g = acl.add_group(b"ro").unwrap();
        acl.add_initiator(g, A).unwrap();
        acl.map_lun(g, 0, DeviceId(0), true).unwrap();
    });
    f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    let r = f.cmd(P1, X, 0, &write10(0, 1), &mut [0u8; BS]);
    assert_eq!(
        r.sense,
        Some(Sense::new(SenseKey::DataProtect, Asc::WRITE_PROTECTED))
    );
    assert_eq!(read_pattern(&mut f, X), Ok(0xd0));
}

fn prout(sa: u8, ty: u8, key: u64, sa_key: u64, aptpl: bool) -> ([u8; 10], [u8; 24]) {
    let cdb = [0x5f, sa, ty, 0, 0, 0, 0, 0, 24, 0];
    let mut p = [0u8; 24];
    p[..8].copy_from_slice(&key.to_be_bytes());
    p[8..16].copy_from_slice(&sa_key.to_be_bytes());
    p[20] = u8::from(aptpl);
    (cdb, p)
}

fn send_prout(f: &mut Fx, pid: u32, sa: u8, ty: u8, key: u64, sa_key: u64) -> ScsiStatus {
    let (cdb, mut p) = prout(sa, ty, key, sa_key, false);
    let r = f.cmd(P1, pid, 0, &cdb, &mut p);
    assert_eq!(r.sense, None, "{r:?}");
    r.status
}

#[test]
fn persistent_reservation_across_two_sessions() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    // Both register, A reserves Exclusive Access.
    assert_eq!(send_prout(&mut f, X, 0, 0, 0, 0xaa), ScsiStatus::Good);
    assert_eq!(send_prout(&mut f, X2, 0, 0, 0, 0xbb), ScsiStatus::Good);
    assert_eq!(send_prout(&mut f, X, 1, 3, 0xaa, 0), ScsiStatus::Good);
    // B is blocked from the medium, A is not.
    assert_eq!(
        read_pattern(&mut f, X2),
        Err(ScsiStatus::ReservationConflict)
    );
    assert_eq!(read_pattern(&mut f, X), Ok(0xd0));
    // READ RESERVATION through the whole path: A's key, type 3.
    let mut d = [0u8; 24];
    let r = f.cmd(P1, X2, 0, &[0x5e, 1, 0, 0, 0, 0, 0, 0, 24, 0], &mut d);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(r.residual, Residual::None);
    assert_eq!(d[4..8], [0, 0, 0, 16]);
    assert_eq!(u64::from_be_bytes(d[8..16].try_into().unwrap()), 0xaa);
    assert_eq!(d[21], 3);
    // B preempts A: A loses its registration and gets REGISTRATIONS PREEMPTED.
    assert_eq!(send_prout(&mut f, X2, 4, 3, 0xbb, 0xaa), ScsiStatus::Good);
    assert_eq!(
        f.cmd(P1, X, 0, &TUR, &mut []).sense,
        ua(Asc::REGISTRATIONS_PREEMPTED)
    );
    assert_eq!(
        read_pattern(&mut f, X),
        Err(ScsiStatus::ReservationConflict)
    );
    assert_eq!(read_pattern(&mut f, X2), Ok(0xd0));
    // B is untouched by its own preempt.
    assert_eq!(f.cmd(P1, X2, 0, &TUR, &mut []).status, ScsiStatus::Good);
    // The registration follows A's WWPN + relative port, not its N_Port ID.
    let keys = f
        .store
        .with_locked(DeviceId(0), |_, l| {
            let key = |w| {
                l.pr().key_of(&PrNexus {
                    initiator: w,
                    rel_port: 2,
                })
            };
            (key(A), key(B))
        })
        .unwrap();
    assert_eq!(keys, (None, Some(0xbb)), "A's key is gone");
}

#[test]
fn aptpl_image_is_offered_after_prout() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    let (cdb, mut p) = prout(0, 0, 0, 0x1234, true);
    assert_eq!(f.cmd(P1, X, 0, &cdb, &mut p).status, ScsiStatus::Good);
    let (changed, image) = take_pr_image(&f);
    assert_eq!(changed, Some(true));
    assert!(image.len() > 8);
    // A second look: nothing new.
    assert_eq!(take_pr_image(&f).0, None);
}

fn take_pr_image(f: &Fx) -> (Option<bool>, Vec<u8>) {
    f.store
        .with_locked(DeviceId(0), |_, l| {
            let c = l.take_pr_change();
            let mut img = vec![0; 4096];
            let n = l.export_pr(&mut img).unwrap();
            (c, img[..n].to_vec())
        })
        .unwrap()
}

#[test]
fn lun_reset_reports_to_all_nexuses_and_releases_spc2_reservation() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    // A takes an SPC-2 reservation: B conflicts.
    assert_eq!(
        f.cmd(P1, X, 0, &[0x16, 0, 0, 0, 0, 0], &mut []).status,
        ScsiStatus::Good
    );
    assert_eq!(
        read_pattern(&mut f, X2),
        Err(ScsiStatus::ReservationConflict)
    );
    let out = f.t.task_management(
        &*f.store,
        P1,
        PortId::new(X2),
        Lun::from_index(0),
        TmfFunction::LogicalUnitReset,
        &mut f.ev,
    );
    assert_eq!(out.response, TmfResponse::FunctionComplete);
    assert_eq!(
        f.cmd(P1, X, 0, &TUR, &mut []).sense,
        ua(Asc::BUS_DEVICE_RESET)
    );
    assert_eq!(
        f.cmd(P1, X2, 0, &TUR, &mut []).sense,
        ua(Asc::BUS_DEVICE_RESET)
    );
    assert_eq!(read_pattern(&mut f, X2), Ok(0xd0), "reservation released");
    // Unmapped LUN: INCORRECT LUN; unknown S_ID: service delivery failure.
    let tm = |f: &mut Fx, pid, lun| {
        f.t.task_management(
            &*f.store,
            P1,
            PortId::new(pid),
            Lun::from_index(lun),
            TmfFunction::LogicalUnitReset,
            &mut f.ev,
        )
        .response
    };
    assert_eq!(tm(&mut f, X, 3), TmfResponse::IncorrectLun);
    assert_eq!(
        tm(&mut f, 0x77_0000, 0),
        TmfResponse::ServiceDeliveryFailure
    );
}

#[test]
fn lun_reset_resets_mode_values_and_tas_is_applied() {
    let mut f = Fx::new(1, |c| c.tas = true);
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    // The control mode page reports TAS=1.
    let mut d = [0u8; 16];
    let r = f.cmd(P1, X, 0, &[0x1a, 0x08, 0x0a, 0, 16, 0], &mut d);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(d[4..10], [0x0a, 0x0a, 0, 0x10, 0, 0x40]);
    // A task of A is running when B clears the task set: TASK ABORTED status for A.
    let cdb = read10(0, 1);
    let mut buf = [0u8; BS];
    let c = Command {
        port: P1,
        s_id: PortId::new(X),
        lun: Lun::from_index(0),
        cdb: &cdb,
        attr: TaskAttr::Simple,
        tag: 77,
        session: None,
    };
    let Submitted::Run(running) = f.t.submit(&*f.store, &c, &mut buf, &mut f.ev) else {
        panic!()
    };
    let out = f.t.task_management(
        &*f.store,
        P1,
        PortId::new(X2),
        Lun::from_index(0),
        TmfFunction::ClearTaskSet,
        &mut f.ev,
    );
    assert_eq!(out.aborted, 1);
    assert_eq!(
        f.ev.aborted,
        [(
            running.task().key(),
            AbortOutcome::MarkedRunning,
            AbortNotice::TaskAbortedStatus
        )]
    );
    let x = f.t.run(&*f.store, &running, &cdb, &mut buf);
    assert_eq!(
        f.t.complete(&*f.store, &running, x, BS, &mut f.ev),
        Completion::Aborted
    );
}

#[test]
fn mode_select_tells_the_other_nexuses() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    // MODE SELECT(6): caching page with WCE cleared.
    let mut list = vec![0u8, 0, 0, 0, 0x08, 0x12];
    list.extend([0u8; 18]);
    let cdb = [0x15, 0x10, 0, 0, list.len() as u8, 0];
    let r = f.cmd(P1, X, 0, &cdb, &mut list);
    assert_eq!(r.status, ScsiStatus::Good, "{r:?}");
    assert!(!f.store.shared(DeviceId(0)).unwrap().state.wce());
    assert_eq!(f.cmd(P1, X, 0, &TUR, &mut []).status, ScsiStatus::Good);
    assert_eq!(
        f.cmd(P1, X2, 0, &TUR, &mut []).sense,
        ua(Asc::MODE_PARAMETERS_CHANGED)
    );
}

#[test]
fn acl_change_reports_luns_changed_once_then_new_set() {
    let mut f = Fx::new(3, |_| ());
    let (ga, _) = two_vms(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    f.t.update_acl(&*f.store, |acl| acl.map_lun(ga, 1, DeviceId(2), false))
        .unwrap();
    // Delivered once on LUN 0...
    assert_eq!(
        f.cmd(P1, X, 0, &TUR, &mut []).sense,
        ua(Asc::REPORTED_LUNS_DATA_CHANGED)
    );
    assert_eq!(f.cmd(P1, X, 0, &TUR, &mut []).status, ScsiStatus::Good);
    // ...B was not affected.
    assert_eq!(f.cmd(P1, X2, 0, &TUR, &mut []).status, ScsiStatus::Good);
    // LUN 1 is new to A: it joined with POWER ON at login, plus LUNS CHANGED.
    assert_eq!(f.drain_ua(P1, X, 1), [(0x29, 0x00), (0x3f, 0x0e)]);
    let mut rl = [0u8; 64];
    let r = f.cmd(P1, X, 0, &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], &mut rl);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(rl[..4], [0, 0, 0, 16]);
    assert_eq!(rl[8..16], Lun::from_index(0).to_be_bytes());
    assert_eq!(rl[16..24], Lun::from_index(1).to_be_bytes());
    // LUN 1 reaches device 2.
    let mut buf = [0u8; BS];
    assert_eq!(
        f.cmd(P1, X, 1, &read10(0, 1), &mut buf).status,
        ScsiStatus::Good
    );
    assert_eq!(buf[0], 0xd2);
}

#[test]
fn report_luns_clears_luns_changed_on_every_lu_of_the_nexus() {
    let mut f = Fx::new(3, |_| ());
    let (ga, _) = two_vms(&mut f);
    f.t.update_acl(&*f.store, |acl| acl.map_lun(ga, 1, DeviceId(2), false))
        .unwrap();
    f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X, 1);
    f.t.update_acl(&*f.store, |acl| acl.map_lun(ga, 2, DeviceId(1), false))
        .unwrap();
    // REPORT LUNS on an unmapped LUN number counts too.
    let mut rl = [0u8; 64];
    let r = f.cmd(P1, X, 9, &[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], &mut rl);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(rl[..4], [0, 0, 0, 24]);
    for lun in 0..2 {
        assert_eq!(f.cmd(P1, X, lun, &TUR, &mut []).status, ScsiStatus::Good);
    }
    // LUN 2 (device 1) only has its join condition.
    assert_eq!(f.drain_ua(P1, X, 2), [(0x29, 0x00)]);
}

#[test]
fn capacity_change_reaches_every_nexus_of_the_lu() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P0, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P0, X2, 0);
    assert!(f.store.set_capacity(DeviceId(0), 64));
    f.t.capacity_changed(&*f.store, DeviceId(0));
    assert_eq!(
        f.cmd(P1, X, 0, &TUR, &mut []).sense,
        ua(Asc::CAPACITY_DATA_CHANGED)
    );
    assert_eq!(
        f.cmd(P0, X2, 0, &TUR, &mut []).sense,
        ua(Asc::CAPACITY_DATA_CHANGED)
    );
    let mut d = [0u8; 8];
    let r = f.cmd(P1, X, 0, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut d);
    assert_eq!(r.status, ScsiStatus::Good);
    assert_eq!(d[..4], 63u32.to_be_bytes());
}

#[test]
fn task_attributes_through_the_whole_path() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    let cdb = read10(0, 1);
    let mk = |attr, tag| Command {
        port: P1,
        s_id: PortId::new(X),
        lun: Lun::from_index(0),
        cdb: &cdb,
        attr,
        tag,
        session: None,
    };
    let (mut b1, mut b2, mut b3, mut b4) = ([0u8; BS], [0u8; BS], [0u8; BS], [0u8; BS]);
    let Submitted::Run(ordered) =
        f.t.submit(&*f.store, &mk(TaskAttr::Ordered, 1), &mut b1, &mut f.ev)
    else {
        panic!("ORDERED into an empty task set runs")
    };
    let Submitted::Blocked(simple) =
        f.t.submit(&*f.store, &mk(TaskAttr::Simple, 2), &mut b2, &mut f.ev)
    else {
        panic!("SIMPLE waits behind ORDERED")
    };
    let Submitted::Run(hoq) =
        f.t.submit(&*f.store, &mk(TaskAttr::HeadOfQueue, 3), &mut b3, &mut f.ev)
    else {
        panic!("HEAD OF QUEUE runs at once")
    };
    // ACA is refused; a reused tag is OVERLAPPED COMMANDS and aborts the first one too.
    let Submitted::Done(r) =
        f.t.submit(&*f.store, &mk(TaskAttr::Aca, 4), &mut b4, &mut f.ev)
    else {
        panic!()
    };
    assert_eq!(r.status, ScsiStatus::CheckCondition);
    assert_eq!(r.sense.unwrap().asc, Asc(0x49, 0x00));
    let done =
        f.t.finish_running(&*f.store, &hoq, &cdb, &mut b3, &mut f.ev);
    assert!(matches!(done, Submitted::Done(r) if r.status == ScsiStatus::Good));
    assert!(f.ev.unblocked.is_empty());
    let done =
        f.t.finish_running(&*f.store, &ordered, &cdb, &mut b1, &mut f.ev);
    assert!(matches!(done, Submitted::Done(r) if r.status == ScsiStatus::Good));
    assert_eq!(f.ev.unblocked, [simple.key()]);
    let Submitted::Run(s) = f.t.resume(&*f.store, &simple, &cdb, &mut b2, &mut f.ev) else {
        panic!()
    };
    let done = f.t.finish_running(&*f.store, &s, &cdb, &mut b2, &mut f.ev);
    assert!(matches!(done, Submitted::Done(r) if r.status == ScsiStatus::Good));
    assert_eq!(b2[0], 0xd0);
    // Overlapped tag.
    let Submitted::Run(first) =
        f.t.submit(&*f.store, &mk(TaskAttr::Simple, 9), &mut b1, &mut f.ev)
    else {
        panic!()
    };
    let Submitted::Done(r) =
        f.t.submit(&*f.store, &mk(TaskAttr::Simple, 9), &mut b2, &mut f.ev)
    else {
        panic!()
    };
    assert_eq!(r.sense.unwrap().asc, Asc::OVERLAPPED_COMMANDS);
    assert_eq!(
        f.ev.aborted,
        [(
            first.task().key(),
            AbortOutcome::MarkedRunning,
            AbortNotice::NoStatus
        )]
    );
    let x = f.t.run(&*f.store, &first, &cdb, &mut b1);
    assert_eq!(
        f.t.complete(&*f.store, &first, x, BS, &mut f.ev),
        Completion::Aborted
    );
}

#[test]
fn teardown_aborts_the_sessions_tasks_and_spc2_reservation() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    assert_eq!(
        f.cmd(P1, X, 0, &[0x16, 0, 0, 0, 0, 0], &mut []).status,
        ScsiStatus::Good
    );
    let cdb = read10(0, 1);
    let mut buf = [0u8; BS];
    let c = Command {
        port: P1,
        s_id: PortId::new(X),
        lun: Lun::from_index(0),
        cdb: &cdb,
        attr: TaskAttr::Simple,
        tag: 5,
        session: None,
    };
    let Submitted::Run(running) = f.t.submit(&*f.store, &c, &mut buf, &mut f.ev) else {
        panic!()
    };
    assert_eq!(
        f.t.logout(&*f.store, P1, PortId::new(X), None, &mut f.ev),
        1
    );
    assert_eq!(
        f.ev.aborted,
        [(
            running.task().key(),
            AbortOutcome::MarkedRunning,
            AbortNotice::NoStatus
        )]
    );
    // The running I/O finds no session any more and is not delivered.
    assert_eq!(
        f.t.run(&*f.store, &running, &cdb, &mut buf),
        Err(scst_core::exec::Fail::Status(ScsiStatus::Busy))
    );
    let x = Err(scst_core::exec::Fail::Status(ScsiStatus::Busy));
    assert_eq!(
        f.t.complete(&*f.store, &running, x, BS, &mut f.ev),
        Completion::Aborted
    );
    assert_eq!(
        read_pattern(&mut f, X2),
        Ok(0xd0),
        "A's RESERVE(6) went with A"
    );
    assert_eq!(read_pattern(&mut f, X), Err(ScsiStatus::Busy));
    f.finish_teardowns();
}

#[test]
fn in_place_construction_of_the_big_structures() {
    use scst_core::lu::LuLocked;
    use scst_core::target::Target;
    // (Debug builds copy through the stack; the kernel's optimised build does not.)
    let mut m = Box::<Target<SESSIONS>>::new_uninit();
    let t = Target::init(&mut m);
    assert!(t.sessions().is_empty());
    assert_eq!(t.sessions().capacity(), SESSIONS);
    assert_eq!(t.busy_count(), 0);
    let mut l = Box::<LuLocked>::new_uninit();
    let l = LuLocked::init(&mut l);
    assert!(l.tasks().is_empty());
    assert_eq!(l.pr().registration_count(), 0);
    assert!(!l.ua().is_joined(0));
}

#[test]
fn logins_only_on_configured_ports_and_hba_down_ends_every_vp() {
    use scst_core::target::LoginRefused;
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    let stray = scst_core::types::LocalPort {
        target: 0,
        vp_index: 9,
    };
    let n = Fx::nexus(stray, A, X, 1);
    assert_eq!(
        f.t.plogi(&*f.store, n, &mut f.ev),
        Err(LoginRefused::UnknownPort)
    );
    f.login(P0, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P0, X, 0);
    assert_eq!(f.t.hba_down(&*f.store, 0, &mut f.ev), 2);
    assert_eq!(f.ev.teardowns.len(), 2);
    assert_eq!(f.cmd(P0, X, 0, &TUR, &mut []).status, ScsiStatus::Busy);
    assert_eq!(f.cmd(P1, X2, 0, &TUR, &mut []).status, ScsiStatus::Busy);
    f.finish_teardowns();
    // A new login starts with POWER ON again: the old unit attention state is gone.
    f.login(P0, A, X, 1);
    assert_eq!(f.drain_ua(P0, X, 0), [(0x29, 0x00)]);
}

#[test]
fn preempt_and_abort_aborts_the_preempted_nexus_tasks() {
    let mut f = Fx::new(1, |_| ());
    shared_disk(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    assert_eq!(send_prout(&mut f, X, 0, 0, 0, 0xaa), ScsiStatus::Good);
    assert_eq!(send_prout(&mut f, X2, 0, 0, 0, 0xbb), ScsiStatus::Good);
    assert_eq!(send_prout(&mut f, X, 1, 1, 0xaa, 0), ScsiStatus::Good);
    // A has a READ in flight when B preempts and aborts.
    let cdb = read10(0, 1);
    let mut buf = [0u8; BS];
    let c = Command {
        port: P1,
        s_id: PortId::new(X),
        lun: Lun::from_index(0),
        cdb: &cdb,
        attr: TaskAttr::Simple,
        tag: 3,
        session: None,
    };
    let Submitted::Run(running) = f.t.submit(&*f.store, &c, &mut buf, &mut f.ev) else {
        panic!()
    };
    assert_eq!(send_prout(&mut f, X2, 5, 1, 0xbb, 0xaa), ScsiStatus::Good);
    // TAS = 0: no status for A's task, COMMANDS CLEARED BY ANOTHER INITIATOR instead, after
    // REGISTRATIONS PREEMPTED.
    assert_eq!(
        f.ev.aborted,
        [(
            running.task().key(),
            AbortOutcome::MarkedRunning,
            AbortNotice::NoStatus
        )]
    );
    let x = f.t.run(&*f.store, &running, &cdb, &mut buf);
    assert_eq!(
        f.t.complete(&*f.store, &running, x, BS, &mut f.ev),
        Completion::Aborted
    );
    // QUERY ASYNCHRONOUS EVENT sees the pending condition without clearing it.
    let q = f.t.task_management(
        &*f.store,
        P1,
        PortId::new(X),
        Lun::from_index(0),
        TmfFunction::QueryAsyncEvent,
        &mut f.ev,
    );
    assert_eq!(q.response, TmfResponse::FunctionSucceeded);
    let ev = q.async_event.unwrap();
    assert_eq!((ev.asc, ev.pending), (Asc::REGISTRATIONS_PREEMPTED, 2));
    assert_eq!(
        f.drain_ua(P1, X, 0),
        [(0x2a, 0x05), (0x2f, 0x00)],
        "both ordinary conditions, oldest first"
    );
    assert_eq!(
        read_pattern(&mut f, X2),
        Ok(0xd0),
        "B holds the reservation"
    );
}

#[test]
fn target_reset_and_nexus_reset_scopes() {
    let mut f = Fx::new(3, |_| ());
    two_vms(&mut f);
    f.login(P1, A, X, 1);
    f.login(P1, B, X2, 2);
    f.drain_ua(P1, X, 0);
    f.drain_ua(P1, X2, 0);
    let tm = |f: &mut Fx, pid, func| {
        f.t.task_management(
            &*f.store,
            P1,
            PortId::new(pid),
            Lun::from_index(0),
            func,
            &mut f.ev,
        )
    };
    // I_T NEXUS RESET from A: only A's LUs, only A gets I_T NEXUS LOSS OCCURRED.
    assert_eq!(
        tm(&mut f, X, TmfFunction::ITNexusReset).response,
        TmfResponse::FunctionComplete
    );
    assert_eq!(f.drain_ua(P1, X, 0), [(0x29, 0x07)]);
    assert_eq!(f.drain_ua(P1, X2, 0), []);
    // TARGET RESET: every LU, every nexus.
    assert_eq!(
        tm(&mut f, X, TmfFunction::TargetReset).response,
        TmfResponse::FunctionComplete
    );
    assert_eq!(f.drain_ua(P1, X, 0), [(0x29, 0x03)]);
    assert_eq!(f.drain_ua(P1, X2, 0), [(0x29, 0x03)]);
    assert_eq!(
        tm(&mut f, X, TmfFunction::ClearAca).response,
        TmfResponse::FunctionRejected
    );
}

/// A fabric that keeps a command across a session change (FC: ATIO received, then a
/// re-login on the same N_Port ID before the command is submitted) names the session it
/// resolved; the core refuses it once the N_Port ID belongs to another incarnation, even
/// when the new one is allowed the same LUN.
#[test]
fn command_resolved_for_an_old_session_is_refused_after_a_relogin() {
    let mut f = Fx::new(1, |_| {});
    shared_disk(&mut f);
    let old = f.login(P1, A, X, 1);
    f.drain_ua(P1, X, 0);
    let new = f.login(P1, B, X, 1);
    assert_ne!(old, new);
    f.drain_ua(P1, X, 0);
    let run = |f: &mut Fx, session| {
        let c = Command {
            port: P1,
            s_id: PortId::new(X),
            lun: Lun::from_index(0),
            cdb: &TUR,
            attr: TaskAttr::Simple,
            tag: 9,
            session,
        };
        match f.t.execute(&*f.store, &c, &mut [], &mut f.ev) {
            Submitted::Done(r) => r.status,
            other => panic!("not finished: {other:?}"),
        }
    };
    let busy_before = f.t.busy_count();
    assert_eq!(run(&mut f, Some(old)), ScsiStatus::Busy);
    assert_eq!(f.t.busy_count(), busy_before + 1);
    assert_eq!(run(&mut f, Some(new)), ScsiStatus::Good);
    assert_eq!(run(&mut f, None), ScsiStatus::Good);
}
