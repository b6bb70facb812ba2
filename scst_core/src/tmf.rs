//! Task management functions (SAM-5 clause 7) applied to one logical unit.
//!
//! [`execute`] applies one function to one LU's [`TaskSet`] and reports every side effect
//! through a [`TmfSink`]: tasks to abort (and whether their initiator gets TASK ABORTED
//! status), tasks that may now run, unit attentions to establish, SPC-2 reservations to
//! release and other logical unit reset actions.
//!
//! Model: one task set per LU shared by all I_T nexuses (TST = 000b); no ACA support
//! (NormACA = 0). An I_T nexus is a session slot plus its generation, so tasks left by an
//! earlier session in the same slot count as another nexus's tasks.
//!
//! Scope, per [`TmfFunction::scope`]:
//! - LU functions act on the addressed LU only; the engine answers INCORRECT LUN itself
//!   when the LUN is not accessible to the nexus.
//! - TARGET RESET: the engine calls [`execute`] for every LU of the target.
//! - I_T NEXUS RESET: the engine calls [`execute`] for every LU the nexus can access.
//!
//! Timing: SAM-5 requires the response only after every aborted task has ended. Tasks
//! reported with [`AbortOutcome::MarkedRunning`] or [`AbortOutcome::AlreadyAborted`] are
//! still running; the engine sends the response once all of them are completed (removed
//! from the task set), as SCST does with `task_mgmt_affected_cmds_done`.

use crate::task_set::{AbortEvent, AbortOutcome, TaskKey, TaskSet, TaskState};
use crate::types::{Asc, SenseKey};
use crate::ua::UaState;

/// A task management function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TmfFunction {
    /// ABORT TASK: abort the task with this tag from the requesting I_T nexus.
    AbortTask {
        /// Tag of the task to abort.
        tag: u64,
    },
    /// ABORT TASK SET: abort every task from the requesting I_T nexus on the LU.
    AbortTaskSet,
    /// CLEAR ACA: rejected (no ACA support).
    ClearAca,
    /// CLEAR TASK SET: abort every task on the LU, from every I_T nexus.
    ClearTaskSet,
    /// LOGICAL UNIT RESET.
    LogicalUnitReset,
    /// TARGET RESET (obsolete in SAM-5, still sent by FCP initiators): a LU reset of every LU.
    TargetReset,
    /// I_T NEXUS RESET: the actions of an I_T nexus loss for the requesting nexus.
    ITNexusReset,
    /// QUERY TASK: is the task with this tag from the requesting nexus still in the set?
    QueryTask {
        /// Tag of the task to look for.
        tag: u64,
    },
    /// QUERY TASK SET: does the requesting nexus have any task on the LU?
    QueryTaskSet,
    /// QUERY ASYNCHRONOUS EVENT: is a unit attention pending for the I_T_L nexus?
    QueryAsyncEvent,
}

/// Which logical units a function applies to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TmfScope {
    /// The LU addressed by the request's LUN.
    LogicalUnit,
    /// Every LU of the target (TARGET RESET).
    EveryLogicalUnit,
    /// Every LU the requesting nexus can access (I_T NEXUS RESET).
    EveryLogicalUnitOfNexus,
}

impl TmfFunction {
    /// Which LUs the engine must call [`execute`] for.
    pub const fn scope(&self) -> TmfScope {
        match self {
            TmfFunction::TargetReset => TmfScope::EveryLogicalUnit,
            TmfFunction::ITNexusReset => TmfScope::EveryLogicalUnitOfNexus,
            _ => TmfScope::LogicalUnit,
        }
    }
}

/// SAM-5 service response of a task management function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TmfResponse {
    /// FUNCTION COMPLETE.
    FunctionComplete,
    /// FUNCTION SUCCEEDED (QUERY functions: the queried thing exists).
    FunctionSucceeded,
    /// FUNCTION REJECTED (not supported).
    FunctionRejected,
    /// INCORRECT LOGICAL UNIT NUMBER.
    IncorrectLun,
    /// SERVICE DELIVERY OR TARGET FAILURE.
    ServiceDeliveryFailure,
}

impl TmfResponse {
    /// The FCP-4 FCP_RSP_INFO response code.
    pub const fn fcp_rsp_code(self) -> u8 {
        match self {
            TmfResponse::FunctionComplete => 0x00,
            TmfResponse::FunctionRejected => 0x04,
            TmfResponse::ServiceDeliveryFailure => 0x05,
            TmfResponse::FunctionSucceeded => 0x08,
            TmfResponse::IncorrectLun => 0x09,
        }
    }
}

/// A task management request as received on one I_T nexus.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TmfRequest {
    /// The function.
    pub function: TmfFunction,
    /// Session slot of the requesting I_T nexus.
    pub nexus: u16,
    /// Generation of that session.
    pub generation: u32,
}

impl TmfRequest {
    fn owns(&self, key: &TaskKey) -> bool {
        key.is_from(self.nexus, self.generation)
    }
}

/// How the initiator of an aborted task learns about it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbortNotice {
    /// No status is returned for the task (the exchange is just terminated): the task came
    /// from the requesting nexus, whose TMF response tells it, or TAS = 0.
    NoStatus,
    /// TASK ABORTED status is returned (TAS = 1 and the task came from another nexus).
    TaskAbortedStatus,
}

/// Which I_T nexuses a unit attention is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UaTarget {
    /// One nexus; the engine ignores it if `generation` is no longer the slot's session.
    Nexus {
        /// Session slot.
        nexus: u16,
        /// Session generation the condition is meant for.
        generation: u32,
    },
    /// Every nexus with access to the LU.
    AllNexuses,
}

impl UaTarget {
    /// Establishes `asc` in `ua` for this target. `is_current(slot, generation)` tells
    /// whether that session still occupies the slot, so a condition meant for a replaced
    /// session never reaches its successor.
    pub fn apply<const NX: usize, const D: usize>(
        self,
        ua: &mut UaState<NX, D>,
        asc: Asc,
        is_current: impl Fn(u16, u32) -> bool,
    ) {
        match self {
            UaTarget::Nexus { nexus, generation } => {
                if is_current(nexus, generation) {
                    ua.establish(nexus, asc);
                }
            }
            UaTarget::AllNexuses => ua.establish_all(asc),
        }
    }
}

/// Which SPC-2 (RESERVE/RELEASE) reservation to release.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Spc2Release {
    /// The LU's reservation, whoever holds it (logical unit reset).
    Any,
    /// The reservation only if this I_T nexus holds it (I_T nexus loss).
    HeldBy {
        /// Session slot.
        nexus: u16,
        /// Session generation.
        generation: u32,
    },
}

/// Receives the effects of a task management function, in this order: aborted tasks,
/// unblocked tasks, unit attentions, reservation release, other LU reset actions.
pub trait TmfSink {
    /// `key` was aborted. For [`AbortOutcome::Removed`] the task never ran and is gone;
    /// answer it per `notice` now. For [`AbortOutcome::MarkedRunning`] the task keeps running
    /// until the backend finishes; then answer it per `notice` instead of its real status
    /// and call [`TaskSet::complete`]. [`AbortOutcome::AlreadyAborted`] keeps the notice an
    /// earlier abort chose; the TMF response still waits for it.
    fn task_aborted(&mut self, key: TaskKey, outcome: AbortOutcome, notice: AbortNotice);
    /// `key` may now run (removing an aborted ORDERED task released it).
    fn task_unblocked(&mut self, key: TaskKey);
    /// Establish a unit attention condition.
    fn establish_ua(&mut self, target: UaTarget, asc: Asc);
    /// Release an SPC-2 reservation of this LU. Persistent reservations are not affected.
    fn release_spc2_reservation(&mut self, which: Spc2Release);
    /// Perform the remaining logical unit reset actions of SAM-5 6.3.3: tell the persistent
    /// reservation module (`on_lu_reset`, which keeps registrations and the reservation) and
    /// return mode parameters and other device state to their reset values.
    fn logical_unit_reset(&mut self);
}

/// What QUERY ASYNCHRONOUS EVENT found pending for the I_T_L nexus.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AsyncEvent {
    /// Sense key of the pending condition (UNIT ATTENTION).
    pub sense_key: SenseKey,
    /// ASC/ASCQ of the condition that would be reported next.
    pub asc: Asc,
    /// How many conditions are pending, including this one.
    pub pending: usize,
}

/// Result of [`execute`] on one LU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TmfOutcome {
    /// Service response for this LU.
    pub response: TmfResponse,
    /// For QUERY ASYNCHRONOUS EVENT with FUNCTION SUCCEEDED: the data for the ADDITIONAL
    /// RESPONSE INFORMATION field (the fabric encodes it).
    pub async_event: Option<AsyncEvent>,
    /// Number of tasks this function aborted on the LU (including already aborted ones).
    pub aborted: usize,
}

impl TmfOutcome {
    const fn response(response: TmfResponse) -> Self {
        TmfOutcome {
            response,
            async_event: None,
            aborted: 0,
        }
    }
}

/// Applies `req` to one logical unit. `tas` is the TAS bit of the LU's control mode page.
/// `ua` is only read (QUERY ASYNCHRONOUS EVENT); conditions to establish go to `sink`.
pub fn execute<const N: usize, const NX: usize, const D: usize>(
    req: &TmfRequest,
    tas: bool,
    tasks: &mut TaskSet<N>,
    ua: &UaState<NX, D>,
    sink: &mut impl TmfSink,
) -> TmfOutcome {
    match req.function {
        TmfFunction::AbortTask { tag } => {
            let key = TaskKey::new(req.nexus, req.generation, tag);
            // Not finding the task is still FUNCTION COMPLETE (it may have just finished).
            let aborted = abort(req, tas, tasks, sink, |k| *k == key, false);
            TmfOutcome {
                aborted,
                ..TmfOutcome::response(TmfResponse::FunctionComplete)
            }
        }
        TmfFunction::AbortTaskSet => {
            let aborted = abort(req, tas, tasks, sink, |k| req.owns(k), false);
            TmfOutcome {
                aborted,
                ..TmfOutcome::response(TmfResponse::FunctionComplete)
            }
        }
        TmfFunction::ClearTaskSet => {
            let aborted = abort(req, tas, tasks, sink, |_| true, true);
            TmfOutcome {
                aborted,
                ..TmfOutcome::response(TmfResponse::FunctionComplete)
            }
        }
        TmfFunction::LogicalUnitReset | TmfFunction::TargetReset => {
            // BUS DEVICE RESET FUNCTION OCCURRED for every nexus already tells the others
            // their tasks are gone, so no COMMANDS CLEARED BY ANOTHER INITIATOR here.
            let aborted = abort(req, tas, tasks, sink, |_| true, false);
            sink.establish_ua(UaTarget::AllNexuses, Asc::BUS_DEVICE_RESET);
            sink.release_spc2_reservation(Spc2Release::Any);
            sink.logical_unit_reset();
            TmfOutcome {
                aborted,
                ..TmfOutcome::response(TmfResponse::FunctionComplete)
            }
        }
        TmfFunction::ITNexusReset => {
            let aborted = abort(req, tas, tasks, sink, |k| req.owns(k), false);
            let (nexus, generation) = (req.nexus, req.generation);
            sink.establish_ua(UaTarget::Nexus { nexus, generation }, Asc::I_T_NEXUS_LOSS);
            sink.release_spc2_reservation(Spc2Release::HeldBy { nexus, generation });
            TmfOutcome {
                aborted,
                ..TmfOutcome::response(TmfResponse::FunctionComplete)
            }
        }
        TmfFunction::QueryTask { tag } => {
            let key = TaskKey::new(req.nexus, req.generation, tag);
            // A task already being aborted no longer counts as present.
            let present = matches!(
                tasks.state(key),
                Some(TaskState::Blocked) | Some(TaskState::Running)
            );
            TmfOutcome::response(query_response(present))
        }
        TmfFunction::QueryTaskSet => {
            TmfOutcome::response(query_response(tasks.any_live(|k| req.owns(k))))
        }
        TmfFunction::QueryAsyncEvent => match ua.peek(req.nexus) {
            Some(asc) => TmfOutcome {
                async_event: Some(AsyncEvent {
                    sense_key: SenseKey::UnitAttention,
                    asc,
                    pending: ua.pending_count(req.nexus),
                }),
                ..TmfOutcome::response(TmfResponse::FunctionSucceeded)
            },
            None => TmfOutcome::response(TmfResponse::FunctionComplete),
        },
        TmfFunction::ClearAca => TmfOutcome::response(TmfResponse::FunctionRejected),
    }
}

const fn query_response(found: bool) -> TmfResponse {
    if found {
        TmfResponse::FunctionSucceeded
    } else {
        TmfResponse::FunctionComplete
    }
}

fn abort<const N: usize>(
    req: &TmfRequest,
    tas: bool,
    tasks: &mut TaskSet<N>,
    sink: &mut impl TmfSink,
    select: impl FnMut(&TaskKey) -> bool,
    clear_ua: bool,
) -> usize {
    abort_tasks(
        req.nexus,
        req.generation,
        tas,
        tasks,
        select,
        clear_ua,
        sink,
    )
}

/// Aborts the tasks `select` picks, on behalf of the I_T nexus `(nexus, generation)`, with
/// the SAM-5 5.6 rules: that nexus's tasks end without status; other nexuses' tasks get TASK
/// ABORTED status if `tas`. With TAS = 0 and `commands_cleared_ua`, each other nexus that
/// lost a task gets COMMANDS CLEARED BY ANOTHER INITIATOR (repeats for one nexus coalesce in
/// the UA queue). Used by CLEAR TASK SET and the resets here, and meant for PERSISTENT
/// RESERVE OUT / PREEMPT AND ABORT (which passes `commands_cleared_ua = true`). Returns the
/// number of tasks aborted.
pub fn abort_tasks<const N: usize>(
    nexus: u16,
    generation: u32,
    tas: bool,
    tasks: &mut TaskSet<N>,
    select: impl FnMut(&TaskKey) -> bool,
    commands_cleared_ua: bool,
    sink: &mut impl TmfSink,
) -> usize {
    let clear_ua = commands_cleared_ua;
    tasks.mark_aborted_where(select, &mut |event| match event {
        AbortEvent::Aborted(key, outcome) => {
            let own = key.is_from(nexus, generation);
            let notice = if tas && !own {
                AbortNotice::TaskAbortedStatus
            } else {
                AbortNotice::NoStatus
            };
            sink.task_aborted(key, outcome, notice);
            if clear_ua && !tas && !own && outcome != AbortOutcome::AlreadyAborted {
                let target = UaTarget::Nexus {
                    nexus: key.nexus,
                    generation: key.generation,
                };
                sink.establish_ua(target, Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
            }
        }
        AbortEvent::Unblocked(key) => sink.task_unblocked(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_set::Admit;
    use crate::types::TaskAttr;
    use std::vec::Vec;

    use AbortNotice::{NoStatus, TaskAbortedStatus as Tas};
    use AbortOutcome::{MarkedRunning, Removed};

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Effect {
        Aborted(TaskKey, AbortOutcome, AbortNotice),
        Unblocked(TaskKey),
        Ua(UaTarget, Asc),
        Spc2(Spc2Release),
        LuReset,
    }
    use Effect::*;

    #[derive(Default)]
    struct Recorder(Vec<Effect>);

    impl TmfSink for Recorder {
        fn task_aborted(&mut self, key: TaskKey, outcome: AbortOutcome, notice: AbortNotice) {
            self.0.push(Aborted(key, outcome, notice));
        }
        fn task_unblocked(&mut self, key: TaskKey) {
            self.0.push(Unblocked(key));
        }
        fn establish_ua(&mut self, target: UaTarget, asc: Asc) {
            self.0.push(Ua(target, asc));
        }
        fn release_spc2_reservation(&mut self, which: Spc2Release) {
            self.0.push(Spc2(which));
        }
        fn logical_unit_reset(&mut self) {
            self.0.push(LuReset);
        }
    }

    // Requesting nexus R = slot 1 generation 1; O = another initiator; S = the session that
    // had slot 1 before R (its tasks are another nexus's tasks).
    const R10: TaskKey = TaskKey::new(1, 1, 10);
    const R11: TaskKey = TaskKey::new(1, 1, 11);
    const O20: TaskKey = TaskKey::new(2, 1, 20);
    const O21: TaskKey = TaskKey::new(2, 1, 21);
    const S30: TaskKey = TaskKey::new(1, 0, 30);

    fn req(function: TmfFunction) -> TmfRequest {
        TmfRequest {
            function,
            nexus: 1,
            generation: 1,
        }
    }

    /// R10 running, O20 (ORDERED) blocked, R11 blocked, S30 (HoQ) running, O21 blocked.
    fn scenario() -> TaskSet<16> {
        let mut set = TaskSet::new();
        let admits = [
            (R10, TaskAttr::Simple, Admit::Run),
            (O20, TaskAttr::Ordered, Admit::Blocked),
            (R11, TaskAttr::Simple, Admit::Blocked),
            (S30, TaskAttr::HeadOfQueue, Admit::Run),
            (O21, TaskAttr::Simple, Admit::Blocked),
        ];
        for (key, attr, want) in admits {
            assert_eq!(set.admit(key, attr), Ok(want));
        }
        set
    }

    fn ua_state() -> UaState<4, 4> {
        UaState::new()
    }

    /// (function, TAS, response, effects in order, tasks left afterwards)
    type Case = (TmfFunction, bool, TmfResponse, Vec<Effect>, Vec<TaskKey>);

    #[test]
    fn functions_table() {
        use TmfFunction as F;
        use TmfResponse::{FunctionComplete as Complete, FunctionRejected, FunctionSucceeded};
        let ccbai = Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR;
        let o_nexus = UaTarget::Nexus {
            nexus: 2,
            generation: 1,
        };
        let s_nexus = UaTarget::Nexus {
            nexus: 1,
            generation: 0,
        };
        let reset_tail = [
            Ua(UaTarget::AllNexuses, Asc::BUS_DEVICE_RESET),
            Spc2(Spc2Release::Any),
            LuReset,
        ];
        let all_tas = [
            Aborted(R10, MarkedRunning, NoStatus),
            Aborted(O20, Removed, Tas),
            Aborted(R11, Removed, NoStatus),
            Aborted(S30, MarkedRunning, Tas),
            Aborted(O21, Removed, Tas),
        ];
        let all_no_tas = [
            Aborted(R10, MarkedRunning, NoStatus),
            Aborted(O20, Removed, NoStatus),
            Aborted(R11, Removed, NoStatus),
            Aborted(S30, MarkedRunning, NoStatus),
            Aborted(O21, Removed, NoStatus),
        ];
        let lu_reset_tas: Vec<Effect> = all_tas.iter().chain(&reset_tail).copied().collect();
        let lu_reset_no_tas: Vec<Effect> = all_no_tas.iter().chain(&reset_tail).copied().collect();
        let cases: Vec<Case> = vec![
            (
                F::AbortTask { tag: 10 },
                true,
                Complete,
                vec![Aborted(R10, MarkedRunning, NoStatus)],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::AbortTask { tag: 11 },
                true,
                Complete,
                vec![Aborted(R11, Removed, NoStatus)],
                vec![R10, O20, S30, O21],
            ),
            // Another nexus's tag (and a stale session's tag) is not this nexus's task.
            (
                F::AbortTask { tag: 20 },
                true,
                Complete,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::AbortTask { tag: 30 },
                true,
                Complete,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::AbortTask { tag: 99 },
                true,
                Complete,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::AbortTaskSet,
                true,
                Complete,
                vec![
                    Aborted(R10, MarkedRunning, NoStatus),
                    Aborted(R11, Removed, NoStatus),
                ],
                vec![R10, O20, S30, O21],
            ),
            (
                F::ClearTaskSet,
                true,
                Complete,
                all_tas.to_vec(),
                vec![R10, S30],
            ),
            (
                F::ClearTaskSet,
                false,
                Complete,
                vec![
                    Aborted(R10, MarkedRunning, NoStatus),
                    Aborted(O20, Removed, NoStatus),
                    Ua(o_nexus, ccbai),
                    Aborted(R11, Removed, NoStatus),
                    Aborted(S30, MarkedRunning, NoStatus),
                    Ua(s_nexus, ccbai),
                    Aborted(O21, Removed, NoStatus),
                    Ua(o_nexus, ccbai),
                ],
                vec![R10, S30],
            ),
            (
                F::LogicalUnitReset,
                true,
                Complete,
                lu_reset_tas.clone(),
                vec![R10, S30],
            ),
            (
                F::LogicalUnitReset,
                false,
                Complete,
                lu_reset_no_tas,
                vec![R10, S30],
            ),
            (F::TargetReset, true, Complete, lu_reset_tas, vec![R10, S30]),
            (
                F::ITNexusReset,
                true,
                Complete,
                vec![
                    Aborted(R10, MarkedRunning, NoStatus),
                    Aborted(R11, Removed, NoStatus),
                    Ua(
                        UaTarget::Nexus {
                            nexus: 1,
                            generation: 1,
                        },
                        Asc::I_T_NEXUS_LOSS,
                    ),
                    Spc2(Spc2Release::HeldBy {
                        nexus: 1,
                        generation: 1,
                    }),
                ],
                vec![R10, O20, S30, O21],
            ),
            (
                F::QueryTask { tag: 10 },
                true,
                FunctionSucceeded,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::QueryTask { tag: 11 },
                true,
                FunctionSucceeded,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::QueryTask { tag: 20 },
                true,
                Complete,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::QueryTask { tag: 30 },
                true,
                Complete,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::QueryTaskSet,
                true,
                FunctionSucceeded,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::QueryAsyncEvent,
                true,
                Complete,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
            (
                F::ClearAca,
                true,
                FunctionRejected,
                vec![],
                vec![R10, O20, R11, S30, O21],
            ),
        ];
        for (function, tas, response, effects, left) in cases {
            let mut set = scenario();
            let mut sink = Recorder::default();
            let out = execute(&req(function), tas, &mut set, &ua_state(), &mut sink);
            let ctx = format!("{function:?} tas={tas}");
            assert_eq!(out.response, response, "{ctx}");
            assert_eq!(out.async_event, None, "{ctx}");
            assert_eq!(sink.0, effects, "{ctx}");
            let aborted = effects.iter().filter(|e| matches!(e, Aborted(..))).count();
            assert_eq!(out.aborted, aborted, "{ctx}");
            let remaining: Vec<TaskKey> = set.iter().map(|t| t.key).collect();
            assert_eq!(remaining, left, "{ctx}");
        }
    }

    #[test]
    fn abort_releases_tasks_behind_an_ordered_one() {
        let o1 = TaskKey::new(2, 1, 1);
        let r2 = TaskKey::new(1, 1, 2);
        let o3 = TaskKey::new(2, 1, 3);
        let mut set: TaskSet<8> = TaskSet::new();
        assert_eq!(set.admit(o1, TaskAttr::Simple), Ok(Admit::Run));
        assert_eq!(set.admit(r2, TaskAttr::Ordered), Ok(Admit::Blocked));
        assert_eq!(set.admit(o3, TaskAttr::Simple), Ok(Admit::Blocked));
        let mut sink = Recorder::default();
        let out = execute(
            &req(TmfFunction::AbortTask { tag: 2 }),
            false,
            &mut set,
            &ua_state(),
            &mut sink,
        );
        assert_eq!(out.response, TmfResponse::FunctionComplete);
        assert_eq!(sink.0, [Aborted(r2, Removed, NoStatus), Unblocked(o3)]);
        assert_eq!(set.state(o3), Some(TaskState::Running));
    }

    #[test]
    fn queries_ignore_tasks_being_aborted() {
        let mut set = scenario();
        let mut sink = Recorder::default();
        let ua = ua_state();
        execute(
            &req(TmfFunction::AbortTaskSet),
            true,
            &mut set,
            &ua,
            &mut sink,
        );
        for function in [
            TmfFunction::QueryTask { tag: 10 },
            TmfFunction::QueryTaskSet,
        ] {
            let out = execute(&req(function), true, &mut set, &ua, &mut sink);
            assert_eq!(out.response, TmfResponse::FunctionComplete, "{function:?}");
        }
        // A second abort of a running task reports it again (the response must wait for it).
        sink.0.clear();
        let out = execute(
            &req(TmfFunction::AbortTask { tag: 10 }),
            true,
            &mut set,
            &ua,
            &mut sink,
        );
        assert_eq!(out.aborted, 1);
        assert_eq!(
            sink.0,
            [Aborted(R10, AbortOutcome::AlreadyAborted, NoStatus)]
        );
        // Another nexus still has tasks.
        let other = TmfRequest {
            function: TmfFunction::QueryTaskSet,
            nexus: 2,
            generation: 1,
        };
        assert_eq!(
            execute(&other, true, &mut set, &ua, &mut sink).response,
            TmfResponse::FunctionSucceeded
        );
    }

    #[test]
    fn query_async_event_reports_the_next_unit_attention() {
        let mut set: TaskSet<4> = TaskSet::new();
        let mut ua = ua_state();
        ua.nexus_joined(1);
        ua.establish(1, Asc::CAPACITY_DATA_CHANGED);
        let mut sink = Recorder::default();
        let out = execute(
            &req(TmfFunction::QueryAsyncEvent),
            false,
            &mut set,
            &ua,
            &mut sink,
        );
        assert_eq!(out.response, TmfResponse::FunctionSucceeded);
        assert_eq!(
            out.async_event,
            Some(AsyncEvent {
                sense_key: SenseKey::UnitAttention,
                asc: Asc::POWER_ON_RESET,
                pending: 2
            })
        );
        // Querying does not consume the condition.
        assert_eq!(ua.pending_count(1), 2);
        while ua.take_for_command(1, 0x00).is_some() {}
        let out = execute(
            &req(TmfFunction::QueryAsyncEvent),
            false,
            &mut set,
            &ua,
            &mut sink,
        );
        assert_eq!(
            out,
            TmfOutcome {
                response: TmfResponse::FunctionComplete,
                async_event: None,
                aborted: 0
            }
        );
        assert!(sink.0.is_empty());
    }

    #[test]
    fn lu_reset_end_to_end_with_unit_attentions() {
        let mut set = scenario();
        let mut ua = ua_state();
        for n in [1, 2, 3] {
            ua.nexus_joined(n);
            while ua.take_for_command(n, 0x00).is_some() {}
        }
        let mut sink = Recorder::default();
        execute(
            &req(TmfFunction::LogicalUnitReset),
            false,
            &mut set,
            &ua,
            &mut sink,
        );
        // Only the stale session's UA target would be filtered; slot 1 now holds generation 1.
        let current = |slot: u16, generation: u32| generation == 1 && slot < 4;
        for e in &sink.0 {
            if let Ua(target, asc) = *e {
                target.apply(&mut ua, asc, current);
            }
        }
        for n in [1, 2, 3] {
            assert_eq!(
                ua.take_for_command(n, 0x28).map(|s| s.asc),
                Some(Asc::BUS_DEVICE_RESET)
            );
        }
        // Running tasks leave when the engine completes them; nothing is left behind.
        assert_eq!(set.len(), 2);
        assert!(set.complete(R10, &mut |_| panic!("nothing is blocked")));
        assert!(set.complete(S30, &mut |_| panic!("nothing is blocked")));
        assert!(set.is_empty());
    }

    #[test]
    fn stale_ua_target_is_dropped() {
        let mut ua = ua_state();
        ua.nexus_joined(1);
        while ua.take_for_command(1, 0x00).is_some() {}
        let stale = UaTarget::Nexus {
            nexus: 1,
            generation: 0,
        };
        stale.apply(
            &mut ua,
            Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR,
            |_, g| g == 1,
        );
        assert_eq!(ua.pending_count(1), 0);
        let live = UaTarget::Nexus {
            nexus: 1,
            generation: 1,
        };
        live.apply(
            &mut ua,
            Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR,
            |_, g| g == 1,
        );
        assert_eq!(ua.peek(1), Some(Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR));
    }

    #[test]
    fn response_codes_and_scope() {
        let codes = [
            (TmfResponse::FunctionComplete, 0x00),
            (TmfResponse::FunctionRejected, 0x04),
            (TmfResponse::ServiceDeliveryFailure, 0x05),
            (TmfResponse::FunctionSucceeded, 0x08),
            (TmfResponse::IncorrectLun, 0x09),
        ];
        for (r, code) in codes {
            assert_eq!(r.fcp_rsp_code(), code, "{r:?}");
        }
        assert_eq!(TmfFunction::TargetReset.scope(), TmfScope::EveryLogicalUnit);
        assert_eq!(
            TmfFunction::ITNexusReset.scope(),
            TmfScope::EveryLogicalUnitOfNexus
        );
        for f in [
            TmfFunction::AbortTask { tag: 1 },
            TmfFunction::AbortTaskSet,
            TmfFunction::ClearAca,
            TmfFunction::ClearTaskSet,
            TmfFunction::LogicalUnitReset,
            TmfFunction::QueryTask { tag: 1 },
            TmfFunction::QueryTaskSet,
            TmfFunction::QueryAsyncEvent,
        ] {
            assert_eq!(f.scope(), TmfScope::LogicalUnit, "{f:?}");
        }
    }

    fn function() -> impl proptest::strategy::Strategy<Value = TmfFunction> {
        use proptest::prelude::*;
        prop_oneof![
            (0u64..6).prop_map(|tag| TmfFunction::AbortTask { tag }),
            Just(TmfFunction::AbortTaskSet),
            Just(TmfFunction::ClearTaskSet),
            Just(TmfFunction::LogicalUnitReset),
            Just(TmfFunction::TargetReset),
            Just(TmfFunction::ITNexusReset),
        ]
    }

    proptest::proptest! {
        /// Whatever the task set holds, an aborting function touches exactly the tasks SAM-5
        /// gives it, with the right notice, leaves nothing blocked that may run, and every
        /// surviving aborted task is one that was running.
        #[test]
        fn aborting_functions_hit_exactly_their_tasks(
            admits in proptest::collection::vec((0u16..3, 0u32..2, 0u64..6, 0u8..3), 0..12),
            function in function(),
            tas in proptest::bool::ANY,
        ) {
            let mut set: TaskSet<16> = TaskSet::new();
            for (nexus, generation, tag, attr) in admits {
                let attr = [TaskAttr::Simple, TaskAttr::Ordered, TaskAttr::HeadOfQueue][attr as usize];
                let _ = set.admit(TaskKey::new(nexus, generation, tag), attr);
            }
            let before: Vec<_> = set.iter().collect();
            let request = req(function);
            let selected = |k: &TaskKey| match function {
                TmfFunction::AbortTask { tag } => request.owns(k) && k.tag == tag,
                TmfFunction::AbortTaskSet | TmfFunction::ITNexusReset => request.owns(k),
                _ => true,
            };
            let mut sink = Recorder::default();
            let out = execute(&request, tas, &mut set, &ua_state(), &mut sink);
            proptest::prop_assert_eq!(out.response, TmfResponse::FunctionComplete);
            let aborted: Vec<(TaskKey, AbortOutcome, AbortNotice)> = sink.0.iter().filter_map(|e| match *e {
                Aborted(k, o, n) => Some((k, o, n)),
                _ => None,
            }).collect();
            let want: Vec<(TaskKey, AbortOutcome, AbortNotice)> = before.iter().filter(|t| selected(&t.key)).map(|t| {
                let outcome = match t.state {
                    TaskState::Blocked => Removed,
                    _ => MarkedRunning,
                };
                let notice = if tas && !request.owns(&t.key) { Tas } else { NoStatus };
                (t.key, outcome, notice)
            }).collect();
            proptest::prop_assert_eq!(aborted, want);
            for t in set.iter() {
                let was = before.iter().find(|b| b.key == t.key).expect("task appeared from nowhere");
                if selected(&t.key) {
                    proptest::prop_assert_eq!(t.state, TaskState::Aborted);
                    proptest::prop_assert_eq!(was.state, TaskState::Running);
                } else if was.state == TaskState::Blocked && t.state == TaskState::Running {
                    proptest::prop_assert!(sink.0.contains(&Unblocked(t.key)));
                } else {
                    proptest::prop_assert_eq!(t.state, was.state);
                }
            }
            let ccbai = sink.0.iter().any(|e| matches!(e, Ua(_, a) if *a == Asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR));
            let expect_ccbai = function == TmfFunction::ClearTaskSet && !tas
                && before.iter().any(|t| !request.owns(&t.key));
            proptest::prop_assert_eq!(ccbai, expect_ccbai);
        }
    }
}
