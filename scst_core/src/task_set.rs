//! The task set of one logical unit: admission, SAM-5 task-attribute ordering, completion
//! and abort bookkeeping.
//!
//! Model: one task set per logical unit shared by every I_T nexus (control mode page
//! TST = 000b), queue algorithm modifier "restricted ordering":
//! - HEAD OF QUEUE runs at once;
//! - ORDERED waits for every task that arrived before it and blocks every later SIMPLE and
//!   ORDERED task until it completes (a later HEAD OF QUEUE still runs at once);
//! - SIMPLE runs unless an earlier ORDERED task is still in the task set;
//! - ACA is refused: Ferrule reports NormACA = 0 and never establishes an ACA condition.
//!
//! The engine calls in under its per-LU lock. A task is admitted on arrival, reported as
//! runnable (by [`TaskSet::admit`] or later through an `unblocked` callback) exactly once,
//! and leaves the set either through [`TaskSet::complete`] or, if it never ran, when it is
//! aborted. An aborted task that is already running stays (and keeps ordering later tasks)
//! until the engine completes it, because a running backend I/O cannot be recalled.
//!
//! Storage is a fixed array of `N` slots threaded into an arrival-ordered doubly linked list
//! plus a free list, so admission, removal and the unblock scan need no allocation and no
//! data movement. Look-up by key scans the live tasks (bounded by `N`).

use crate::types::{Asc, ScsiStatus, Sense, SenseKey, TaskAttr};

/// Identity of one task (SCSI command) in a logical unit's task set.
///
/// `nexus` is the session slot and `generation` that slot's session generation, so a task
/// from a session that has since been replaced in the same slot never matches the new one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct TaskKey {
    /// Session slot (the I_T nexus) the command arrived on.
    pub nexus: u16,
    /// Generation of the session occupying that slot when the command arrived.
    pub generation: u32,
    /// Task tag (FCP: the exchange address), unique per I_T nexus while the task exists.
    pub tag: u64,
}

impl TaskKey {
    /// Builds a key.
    pub const fn new(nexus: u16, generation: u32, tag: u64) -> Self {
        TaskKey {
            nexus,
            generation,
            tag,
        }
    }
    /// True if the task arrived on the I_T nexus `(nexus, generation)`.
    pub const fn is_from(&self, nexus: u16, generation: u32) -> bool {
        self.nexus == nexus && self.generation == generation
    }
}

/// Result of a successful admission.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Admit {
    /// The task may run now.
    Run,
    /// The task waits; it is reported later through an `unblocked` callback.
    Blocked,
}

/// Why a task was not admitted (it is not in the task set afterwards).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AdmitError {
    /// All `N` slots are in use: answer TASK SET FULL.
    TaskSetFull,
    /// The tag is already in use on the same I_T nexus. SAM-5 requires aborting both tasks:
    /// the engine aborts `existing` (see [`TaskSet::mark_aborted`]) and terminates the new
    /// command with [`AdmitError::sense`].
    Overlapped {
        /// The task already in the set that carries the same tag.
        existing: TaskKey,
    },
    /// ACA task attribute: Ferrule does not support ACA (NormACA = 0), so no ACA condition
    /// can exist and the command is refused.
    AcaNotSupported,
}

/// ILLEGAL REQUEST / INVALID MESSAGE ERROR, for an ACA task while no ACA condition exists.
const INVALID_MESSAGE_ERROR: Asc = Asc(0x49, 0x00);

impl AdmitError {
    /// SCSI status to send for the refused command.
    pub const fn status(&self) -> ScsiStatus {
        match self {
            AdmitError::TaskSetFull => ScsiStatus::TaskSetFull,
            AdmitError::Overlapped { .. } | AdmitError::AcaNotSupported => {
                ScsiStatus::CheckCondition
            }
        }
    }
    /// Sense data to send with [`AdmitError::status`], if any.
    pub const fn sense(&self) -> Option<Sense> {
        match self {
            AdmitError::TaskSetFull => None,
            AdmitError::Overlapped { .. } => Some(Sense::new(
                SenseKey::AbortedCommand,
                Asc::OVERLAPPED_COMMANDS,
            )),
            AdmitError::AcaNotSupported => {
                Some(Sense::new(SenseKey::IllegalRequest, INVALID_MESSAGE_ERROR))
            }
        }
    }
}

/// Where a task in the set stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TaskState {
    /// Waiting for earlier tasks (dormant).
    Blocked,
    /// Reported runnable; the engine owns its execution.
    Running,
    /// Was running when aborted; stays until the engine reports it finished.
    Aborted,
}

/// What [`TaskSet::mark_aborted`] did to a task.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbortOutcome {
    /// The task had not run yet and was removed from the set: the engine never runs it.
    Removed,
    /// The task is running; it is now marked aborted and leaves the set on
    /// [`TaskSet::complete`]. Its result must not be delivered as a normal completion.
    MarkedRunning,
    /// The task had already been marked aborted earlier (still running).
    AlreadyAborted,
}

/// What [`TaskSet::mark_aborted_where`] reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AbortEvent {
    /// A selected task was aborted.
    Aborted(TaskKey, AbortOutcome),
    /// A task not selected may now run (reported after every `Aborted`).
    Unblocked(TaskKey),
}

/// One task as seen by [`TaskSet::iter`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TaskInfo {
    /// The task's key.
    pub key: TaskKey,
    /// Its task attribute.
    pub attr: TaskAttr,
    /// Its state.
    pub state: TaskState,
}

const NIL: u16 = u16::MAX;

#[derive(Clone, Copy)]
struct Slot {
    key: TaskKey,
    attr: TaskAttr,
    state: TaskState,
    used: bool,
    prev: u16,
    next: u16,
}

impl Slot {
    const EMPTY: Slot = Slot {
        key: TaskKey {
            nexus: 0,
            generation: 0,
            tag: 0,
        },
        attr: TaskAttr::Simple,
        state: TaskState::Blocked,
        used: false,
        prev: NIL,
        next: NIL,
    };
}

/// The task set of one logical unit, holding at most `N` tasks (`1 <= N < 65535`).
pub struct TaskSet<const N: usize> {
    slots: [Slot; N],
    /// Oldest live task (arrival order), or NIL.
    head: u16,
    /// Newest live task, or NIL.
    tail: u16,
    /// First free slot (singly linked through `next`), or NIL.
    free: u16,
    len: u16,
    /// Live ORDERED tasks in any state; SIMPLE tasks may run only when this is zero.
    ordered: u16,
    /// Live tasks in the Blocked state; the unblock scan is skipped when zero.
    blocked: u16,
}

impl<const N: usize> Default for TaskSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TaskSet<N> {
    const CAPACITY_OK: () = assert!(N >= 1 && N < NIL as usize, "TaskSet needs 1 <= N < 65535");

    /// An empty task set.
    pub const fn new() -> Self {
        let () = Self::CAPACITY_OK;
        let mut slots = [Slot::EMPTY; N];
        let mut i = 0;
        while i < N {
            // N < 65535, so i + 1 fits in u16 and never equals NIL unless it is the end.
            slots[i].next = if i + 1 < N { (i + 1) as u16 } else { NIL };
            i += 1;
        }
        TaskSet {
            slots,
            head: NIL,
            tail: NIL,
            free: 0,
            len: 0,
            ordered: 0,
            blocked: 0,
        }
    }

    /// Number of tasks in the set (any state).
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// True if no task is in the set.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of tasks.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Admits a newly arrived task. See the module documentation for the ordering rules.
    pub fn admit(&mut self, key: TaskKey, attr: TaskAttr) -> Result<Admit, AdmitError> {
        if attr == TaskAttr::Aca {
            return Err(AdmitError::AcaNotSupported);
        }
        if let Some(i) = self.find(&key) {
            let existing = self.slots.get(i).map_or(key, |s| s.key);
            return Err(AdmitError::Overlapped { existing });
        }
        let runs = match attr {
            TaskAttr::HeadOfQueue => true,
            // Every task in the set arrived earlier than this one.
            TaskAttr::Ordered => self.len == 0,
            TaskAttr::Simple => self.ordered == 0,
            TaskAttr::Aca => false,
        };
        let idx = self.free;
        let tail = self.tail;
        let Some(slot) = self.slots.get_mut(idx as usize) else {
            return Err(AdmitError::TaskSetFull);
        };
        self.free = slot.next;
        *slot = Slot {
            key,
            attr,
            state: if runs {
                TaskState::Running
            } else {
                TaskState::Blocked
            },
            used: true,
            prev: tail,
            next: NIL,
        };
        match self.slots.get_mut(tail as usize) {
            Some(t) => t.next = idx,
            None => self.head = idx,
        }
        self.tail = idx;
        // Counters cannot overflow: each is at most the number of slots, which is < 65535.
        self.len = self.len.saturating_add(1);
        if attr == TaskAttr::Ordered {
            self.ordered = self.ordered.saturating_add(1);
        }
        if runs {
            Ok(Admit::Run)
        } else {
            self.blocked = self.blocked.saturating_add(1);
            Ok(Admit::Blocked)
        }
    }

    /// The engine finished the task (normally, with an error, or after an abort). Removes it
    /// and reports, in arrival order, every task that may now run. Returns false if `key` is
    /// not in the set.
    pub fn complete(&mut self, key: TaskKey, unblocked: &mut impl FnMut(TaskKey)) -> bool {
        let Some(i) = self.find(&key) else {
            return false;
        };
        self.remove(i);
        self.run_unblocked(unblocked);
        true
    }

    /// The state of a task, or `None` if it is not in the set.
    pub fn state(&self, key: TaskKey) -> Option<TaskState> {
        self.find(&key)
            .and_then(|i| self.slots.get(i))
            .map(|s| s.state)
    }

    /// Aborts one task: a blocked task is removed at once, a running one is marked and stays
    /// until [`TaskSet::complete`]. Removing a blocked ORDERED task may let later tasks run;
    /// they are reported through `unblocked`. Returns `None` if `key` is not in the set.
    pub fn mark_aborted(
        &mut self,
        key: TaskKey,
        unblocked: &mut impl FnMut(TaskKey),
    ) -> Option<AbortOutcome> {
        let i = self.find(&key)?;
        let outcome = self.abort_slot(i);
        self.run_unblocked(unblocked);
        outcome
    }

    /// Aborts every task whose key satisfies `select`, reporting each as
    /// [`AbortEvent::Aborted`] (in arrival order), then every task that may now run as
    /// [`AbortEvent::Unblocked`]. The unblock scan runs once, after all selected tasks are
    /// aborted, so a task about to be aborted is never reported runnable. Returns how many
    /// tasks were selected.
    pub fn mark_aborted_where(
        &mut self,
        mut select: impl FnMut(&TaskKey) -> bool,
        events: &mut impl FnMut(AbortEvent),
    ) -> usize {
        let mut count = 0usize;
        let mut cur = self.head;
        while let Some(slot) = self.slots.get(cur as usize) {
            let next = slot.next;
            let key = slot.key;
            if select(&key) {
                if let Some(outcome) = self.abort_slot(cur as usize) {
                    events(AbortEvent::Aborted(key, outcome));
                    count = count.saturating_add(1);
                }
            }
            cur = next;
        }
        self.run_unblocked(&mut |key| events(AbortEvent::Unblocked(key)));
        count
    }

    /// True if any task satisfying `select` is in the set and not aborted.
    pub fn any_live(&self, mut select: impl FnMut(&TaskKey) -> bool) -> bool {
        self.iter()
            .any(|t| t.state != TaskState::Aborted && select(&t.key))
    }

    /// Iterates over the tasks in arrival order (for status display and task management).
    pub fn iter(&self) -> Iter<'_, N> {
        Iter {
            set: self,
            cur: self.head,
        }
    }

    fn find(&self, key: &TaskKey) -> Option<usize> {
        let mut cur = self.head;
        while let Some(slot) = self.slots.get(cur as usize) {
            if slot.key == *key {
                return Some(cur as usize);
            }
            cur = slot.next;
        }
        None
    }

    fn abort_slot(&mut self, i: usize) -> Option<AbortOutcome> {
        let slot = self.slots.get_mut(i)?;
        if !slot.used {
            return None;
        }
        match slot.state {
            TaskState::Blocked => {
                self.remove(i);
                Some(AbortOutcome::Removed)
            }
            TaskState::Running => {
                slot.state = TaskState::Aborted;
                Some(AbortOutcome::MarkedRunning)
            }
            TaskState::Aborted => Some(AbortOutcome::AlreadyAborted),
        }
    }

    /// Unlinks slot `i` and returns it to the free list.
    fn remove(&mut self, i: usize) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if !slot.used {
            return;
        }
        let (prev, next, attr, state) = (slot.prev, slot.next, slot.attr, slot.state);
        *slot = Slot {
            next: self.free,
            ..Slot::EMPTY
        };
        // i < N < 65535, so it fits in u16.
        self.free = i as u16;
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        self.len = self.len.saturating_sub(1);
        if attr == TaskAttr::Ordered {
            self.ordered = self.ordered.saturating_sub(1);
        }
        if state == TaskState::Blocked {
            self.blocked = self.blocked.saturating_sub(1);
        }
    }

    /// Starts every blocked task the ordering rules now allow. Only tasks before (and
    /// including) the oldest ORDERED task can be runnable: that ORDERED task blocks every
    /// later SIMPLE/ORDERED one, and HEAD OF QUEUE tasks never block.
    fn run_unblocked(&mut self, unblocked: &mut impl FnMut(TaskKey)) {
        if self.blocked == 0 {
            return;
        }
        let mut seen_earlier = false;
        let mut cur = self.head;
        while let Some(slot) = self.slots.get_mut(cur as usize) {
            let is_ordered = slot.attr == TaskAttr::Ordered;
            let may_run = !is_ordered || !seen_earlier;
            if slot.state == TaskState::Blocked && may_run {
                slot.state = TaskState::Running;
                self.blocked = self.blocked.saturating_sub(1);
                unblocked(slot.key);
            }
            if is_ordered {
                break;
            }
            seen_earlier = true;
            cur = slot.next;
        }
    }
}

/// Arrival-order iterator over a [`TaskSet`].
pub struct Iter<'a, const N: usize> {
    set: &'a TaskSet<N>,
    cur: u16,
}

impl<const N: usize> Iterator for Iter<'_, N> {
    type Item = TaskInfo;
    fn next(&mut self) -> Option<TaskInfo> {
        let slot = self.set.slots.get(self.cur as usize)?;
        self.cur = slot.next;
        Some(TaskInfo {
            key: slot.key,
            attr: slot.attr,
            state: slot.state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::vec::Vec;

    use TaskAttr::{HeadOfQueue as H, Ordered as O, Simple as S};

    fn k(tag: u64) -> TaskKey {
        TaskKey::new(1, 7, tag)
    }

    /// One step of an ordering scenario, all tasks on nexus (1, 7).
    enum Step {
        /// Admit `tag` with `attr`; expect this result.
        Admit(u64, TaskAttr, Admit),
        /// Complete `tag`; expect exactly these tags to be unblocked, in this order.
        Done(u64, &'static [u64]),
        /// Abort `tag`; expect this outcome and these unblocked tags.
        Abort(u64, AbortOutcome, &'static [u64]),
    }
    use Step::{Abort, Admit as Ad, Done};

    fn run_case(name: &str, steps: &[Step]) {
        let mut set: TaskSet<16> = TaskSet::new();
        for (n, step) in steps.iter().enumerate() {
            let mut got = Vec::new();
            match *step {
                Ad(tag, attr, want) => {
                    assert_eq!(set.admit(k(tag), attr), Ok(want), "{name} step {n}");
                }
                Done(tag, want) => {
                    assert!(
                        set.complete(k(tag), &mut |key| got.push(key.tag)),
                        "{name} step {n}"
                    );
                    assert_eq!(got, want, "{name} step {n}");
                }
                Abort(tag, outcome, want) => {
                    let o = set.mark_aborted(k(tag), &mut |key| got.push(key.tag));
                    assert_eq!(o, Some(outcome), "{name} step {n}");
                    assert_eq!(got, want, "{name} step {n}");
                }
            }
        }
    }

    #[test]
    fn ordering_table() {
        use AbortOutcome::*;
        use Admit::{Blocked as B, Run as R};
        let cases: &[(&str, &[Step])] = &[
            (
                "simples run concurrently",
                &[Ad(1, S, R), Ad(2, S, R), Done(2, &[]), Done(1, &[])],
            ),
            (
                "ordered on empty set runs, blocks later simple",
                &[Ad(1, O, R), Ad(2, S, B), Ad(3, S, B), Done(1, &[2, 3])],
            ),
            (
                "ordered waits for earlier simple only, later HoQ runs at once",
                &[
                    Ad(1, S, R),
                    Ad(2, O, B),
                    Ad(3, S, B),
                    Ad(4, H, R),
                    Done(1, &[2]),
                    Done(2, &[3]),
                ],
            ),
            (
                "ordered waits for an earlier head of queue",
                &[Ad(1, H, R), Ad(2, O, B), Ad(3, H, R), Done(1, &[2])],
            ),
            (
                "simple does not wait for head of queue",
                &[Ad(1, H, R), Ad(2, S, R)],
            ),
            (
                "ordered after ordered, then simple",
                &[
                    Ad(1, O, R),
                    Ad(2, O, B),
                    Ad(3, S, B),
                    Done(1, &[2]),
                    Done(2, &[3]),
                ],
            ),
            (
                "mixed chain",
                &[
                    Ad(1, S, R),
                    Ad(2, S, R),
                    Ad(3, O, B),
                    Ad(4, S, B),
                    Ad(5, O, B),
                    Ad(6, S, B),
                    Done(2, &[]),
                    Done(1, &[3]),
                    Done(3, &[4]),
                    Done(4, &[5]),
                    Done(5, &[6]),
                ],
            ),
            (
                "ordered does not run while a later-started simple from before it runs",
                &[
                    Ad(1, O, R),
                    Ad(2, S, B),
                    Ad(3, O, B),
                    Done(1, &[2]),
                    Done(2, &[3]),
                ],
            ),
            (
                "aborting a blocked ordered removes it and releases the simples behind it",
                &[
                    Ad(1, S, R),
                    Ad(2, O, B),
                    Ad(3, S, B),
                    Abort(2, Removed, &[3]),
                    Done(1, &[]),
                ],
            ),
            (
                "aborting a running ordered keeps blocking until it finishes",
                &[
                    Ad(1, O, R),
                    Ad(2, S, B),
                    Abort(1, MarkedRunning, &[]),
                    Abort(1, AlreadyAborted, &[]),
                    Done(1, &[2]),
                ],
            ),
            (
                "aborting a blocked simple unblocks nothing",
                &[
                    Ad(1, O, R),
                    Ad(2, S, B),
                    Abort(2, Removed, &[]),
                    Done(1, &[]),
                ],
            ),
            (
                "aborting the first of two blocked ordered starts the second",
                &[
                    Ad(1, S, R),
                    Ad(2, O, B),
                    Ad(3, O, B),
                    Done(1, &[2]),
                    Abort(2, MarkedRunning, &[]),
                ],
            ),
            (
                "second ordered starts once the first is aborted while blocked and simple done",
                &[
                    Ad(1, S, R),
                    Ad(2, O, B),
                    Ad(3, O, B),
                    Abort(2, Removed, &[]),
                    Done(1, &[3]),
                ],
            ),
        ];
        for (name, steps) in cases {
            run_case(name, steps);
        }
    }

    #[test]
    fn states_and_iteration() {
        let mut set: TaskSet<4> = TaskSet::new();
        assert!(set.is_empty());
        assert_eq!(set.capacity(), 4);
        assert_eq!(set.admit(k(10), S), Ok(Admit::Run));
        assert_eq!(set.admit(k(11), O), Ok(Admit::Blocked));
        assert_eq!(set.admit(k(12), H), Ok(Admit::Run));
        assert_eq!(
            set.mark_aborted(k(10), &mut |_| panic!()),
            Some(AbortOutcome::MarkedRunning)
        );
        assert_eq!(set.state(k(10)), Some(TaskState::Aborted));
        assert_eq!(set.state(k(11)), Some(TaskState::Blocked));
        assert_eq!(set.state(k(12)), Some(TaskState::Running));
        assert_eq!(set.state(k(13)), None);
        let all: Vec<TaskInfo> = set.iter().collect();
        assert_eq!(
            all,
            [
                TaskInfo {
                    key: k(10),
                    attr: S,
                    state: TaskState::Aborted
                },
                TaskInfo {
                    key: k(11),
                    attr: O,
                    state: TaskState::Blocked
                },
                TaskInfo {
                    key: k(12),
                    attr: H,
                    state: TaskState::Running
                },
            ]
        );
        assert_eq!(set.len(), 3);
        assert!(set.any_live(|key| key.tag == 12));
        assert!(!set.any_live(|key| key.tag == 10));
        assert!(!set.complete(k(99), &mut |_| panic!()));
        assert_eq!(set.mark_aborted(k(99), &mut |_| panic!()), None);
    }

    #[test]
    fn overlapped_tag_is_per_nexus_and_generation() {
        let mut set: TaskSet<8> = TaskSet::new();
        let a = TaskKey::new(3, 1, 0x55);
        assert_eq!(set.admit(a, S), Ok(Admit::Run));
        let err = set.admit(a, O).unwrap_err();
        assert_eq!(err, AdmitError::Overlapped { existing: a });
        assert_eq!(err.status(), ScsiStatus::CheckCondition);
        assert_eq!(
            err.sense(),
            Some(Sense::new(SenseKey::AbortedCommand, Asc(0x4e, 0x00)))
        );
        // The refused command is not in the set; the original is untouched.
        assert_eq!(set.len(), 1);
        assert_eq!(set.state(a), Some(TaskState::Running));
        // Same tag from another nexus or from a newer session in the same slot is distinct.
        assert_eq!(set.admit(TaskKey::new(4, 1, 0x55), S), Ok(Admit::Run));
        assert_eq!(set.admit(TaskKey::new(3, 2, 0x55), S), Ok(Admit::Run));
        // A tag may be reused once its task completed.
        assert!(set.complete(a, &mut |_| {}));
        assert_eq!(set.admit(a, S), Ok(Admit::Run));
    }

    #[test]
    fn full_and_aca() {
        let mut set: TaskSet<2> = TaskSet::new();
        assert_eq!(set.admit(k(1), S), Ok(Admit::Run));
        assert_eq!(set.admit(k(2), S), Ok(Admit::Run));
        let err = set.admit(k(3), H).unwrap_err();
        assert_eq!(err, AdmitError::TaskSetFull);
        assert_eq!(err.status(), ScsiStatus::TaskSetFull);
        assert_eq!(err.sense(), None);
        assert!(set.complete(k(1), &mut |_| {}));
        assert_eq!(set.admit(k(3), H), Ok(Admit::Run));
        // ACA is refused before anything else, even when the set is full.
        let err = set.admit(k(4), TaskAttr::Aca).unwrap_err();
        assert_eq!(err, AdmitError::AcaNotSupported);
        assert_eq!(err.status(), ScsiStatus::CheckCondition);
        assert_eq!(
            err.sense(),
            Some(Sense::new(SenseKey::IllegalRequest, Asc(0x49, 0x00)))
        );
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn abort_where_reports_in_arrival_order_then_unblocks() {
        use AbortEvent::{Aborted, Unblocked};
        let mut set: TaskSet<8> = TaskSet::new();
        let a = |tag| TaskKey::new(1, 1, tag);
        let b = |tag| TaskKey::new(2, 1, tag);
        assert_eq!(set.admit(a(1), S), Ok(Admit::Run));
        assert_eq!(set.admit(b(1), O), Ok(Admit::Blocked));
        assert_eq!(set.admit(a(2), S), Ok(Admit::Blocked));
        assert_eq!(set.admit(b(2), S), Ok(Admit::Blocked));
        let mut events = Vec::new();
        let n = set.mark_aborted_where(|key| key.nexus == 1, &mut |e| events.push(e));
        assert_eq!(n, 2);
        // a(1) still runs, so b(1) keeps waiting.
        assert_eq!(
            events,
            [
                Aborted(a(1), AbortOutcome::MarkedRunning),
                Aborted(a(2), AbortOutcome::Removed)
            ]
        );
        let mut unblocked = Vec::new();
        assert!(set.complete(a(1), &mut |key| unblocked.push(key)));
        assert_eq!(unblocked, [b(1)]);
        // b(2) waits behind b(1), which is running when aborted.
        events.clear();
        let n = set.mark_aborted_where(|key| key.tag == 1, &mut |e| events.push(e));
        assert_eq!(n, 1);
        assert_eq!(events, [Aborted(b(1), AbortOutcome::MarkedRunning)]);
        unblocked.clear();
        assert!(set.complete(b(1), &mut |key| unblocked.push(key)));
        assert_eq!(unblocked, [b(2)]);
        // Aborting a blocked ORDERED through the bulk path reports what it releases last.
        assert_eq!(set.admit(a(3), O), Ok(Admit::Blocked));
        assert_eq!(set.admit(a(4), S), Ok(Admit::Blocked));
        events.clear();
        assert_eq!(
            set.mark_aborted_where(|key| key.tag == 3, &mut |e| events.push(e)),
            1
        );
        assert_eq!(
            events,
            [Aborted(a(3), AbortOutcome::Removed), Unblocked(a(4))]
        );
    }

    // ---- model-based property test ----

    #[derive(Clone, Debug)]
    enum Op {
        Admit {
            nexus: u16,
            generation: u32,
            tag: u64,
            attr: u8,
        },
        Complete(usize),
        Abort(usize),
        AbortNexus(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..3, 0u32..2, 0u64..6, 0u8..4)
                .prop_map(|(nexus, generation, tag, attr)| Op::Admit { nexus, generation, tag, attr }),
            3 => any::<usize>().prop_map(Op::Complete),
            1 => any::<usize>().prop_map(Op::Abort),
            1 => (0u16..3).prop_map(Op::AbortNexus),
        ]
    }

    #[derive(Clone, Copy, Debug)]
    struct MTask {
        key: TaskKey,
        attr: TaskAttr,
        seq: u64,
        started: bool,
        aborted: bool,
    }

    struct Model {
        tasks: Vec<MTask>, // arrival order
        ends: HashMap<u64, u32>,
        next_seq: u64,
    }

    impl Model {
        fn start(&mut self, key: TaskKey) {
            let pos = self
                .tasks
                .iter()
                .position(|t| t.key == key)
                .expect("started unknown task");
            let t = self.tasks[pos];
            assert!(!t.started, "task {key:?} started twice");
            let earlier = &self.tasks[..pos];
            match t.attr {
                O => assert!(
                    earlier.is_empty(),
                    "ORDERED {key:?} started with earlier tasks"
                ),
                S => assert!(
                    earlier.iter().all(|e| e.attr != O),
                    "SIMPLE {key:?} started behind an ORDERED"
                ),
                _ => {}
            }
            self.tasks[pos].started = true;
        }
        fn end(&mut self, pos: usize) {
            let t = self.tasks.remove(pos);
            *self.ends.entry(t.seq).or_insert(0) += 1;
        }
        fn check(&self, set: &TaskSet<8>) {
            assert_eq!(set.len(), self.tasks.len());
            for (pos, t) in self.tasks.iter().enumerate() {
                let earlier = &self.tasks[..pos];
                let runnable = match t.attr {
                    O => earlier.is_empty(),
                    S => earlier.iter().all(|e| e.attr != O),
                    _ => true,
                };
                assert!(t.started || !runnable, "task {:?} should be running", t.key);
                let want = if !t.started {
                    TaskState::Blocked
                } else if t.aborted {
                    TaskState::Aborted
                } else {
                    TaskState::Running
                };
                assert_eq!(set.state(t.key), Some(want));
            }
            let order: Vec<TaskKey> = set.iter().map(|i| i.key).collect();
            let model: Vec<TaskKey> = self.tasks.iter().map(|t| t.key).collect();
            assert_eq!(order, model);
        }
        fn abort_outcome(&mut self, pos: usize) -> AbortOutcome {
            let t = self.tasks[pos];
            if !t.started {
                self.end(pos);
                AbortOutcome::Removed
            } else if t.aborted {
                AbortOutcome::AlreadyAborted
            } else {
                self.tasks[pos].aborted = true;
                AbortOutcome::MarkedRunning
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn random_sequences_keep_invariants(ops in proptest::collection::vec(op(), 1..80)) {
            let mut set: TaskSet<8> = TaskSet::new();
            let mut m = Model { tasks: Vec::new(), ends: HashMap::new(), next_seq: 0 };
            let mut admitted = 0u64;
            for op in ops {
                let mut started = Vec::new();
                match op {
                    Op::Admit { nexus, generation, tag, attr } => {
                        let key = TaskKey::new(nexus, generation, tag);
                        let attr = [S, O, H, TaskAttr::Aca][attr as usize];
                        let r = set.admit(key, attr);
                        if attr == TaskAttr::Aca {
                            prop_assert_eq!(r, Err(AdmitError::AcaNotSupported));
                        } else if m.tasks.iter().any(|t| t.key == key) {
                            prop_assert_eq!(r, Err(AdmitError::Overlapped { existing: key }));
                        } else if m.tasks.len() == 8 {
                            prop_assert_eq!(r, Err(AdmitError::TaskSetFull));
                        } else {
                            let seq = m.next_seq;
                            m.next_seq += 1;
                            admitted += 1;
                            m.tasks.push(MTask { key, attr, seq, started: false, aborted: false });
                            if r.expect("admit") == Admit::Run {
                                m.start(key);
                            }
                        }
                    }
                    Op::Complete(pick) => {
                        let running: Vec<usize> =
                            (0..m.tasks.len()).filter(|&i| m.tasks[i].started).collect();
                        if running.is_empty() {
                            continue;
                        }
                        let pos = running[pick % running.len()];
                        let key = m.tasks[pos].key;
                        prop_assert!(set.complete(key, &mut |k| started.push(k)));
                        m.end(pos);
                    }
                    Op::Abort(pick) => {
                        if m.tasks.is_empty() {
                            continue;
                        }
                        let pos = pick % m.tasks.len();
                        let key = m.tasks[pos].key;
                        let want = m.abort_outcome(pos);
                        prop_assert_eq!(set.mark_aborted(key, &mut |k| started.push(k)), Some(want));
                    }
                    Op::AbortNexus(nexus) => {
                        let mut got = Vec::new();
                        let mut seen_unblocked = false;
                        set.mark_aborted_where(|k| k.nexus == nexus, &mut |e| match e {
                            AbortEvent::Aborted(k, o) => {
                                assert!(!seen_unblocked, "abort reported after an unblock");
                                got.push((k, o));
                            }
                            AbortEvent::Unblocked(k) => {
                                seen_unblocked = true;
                                started.push(k);
                            }
                        });
                        let mut want = Vec::new();
                        let mut pos = 0;
                        while pos < m.tasks.len() {
                            let key = m.tasks[pos].key;
                            if key.nexus == nexus {
                                let o = m.abort_outcome(pos);
                                want.push((key, o));
                                if o == AbortOutcome::Removed {
                                    continue;
                                }
                            }
                            pos += 1;
                        }
                        prop_assert_eq!(got, want);
                    }
                }
                for key in started {
                    m.start(key);
                }
                m.check(&set);
            }
            // Drain: completing running tasks must eventually empty the set.
            while let Some(pos) = m.tasks.iter().position(|t| t.started) {
                let key = m.tasks[pos].key;
                let mut started = Vec::new();
                prop_assert!(set.complete(key, &mut |k| started.push(k)));
                m.end(pos);
                for key in started {
                    m.start(key);
                }
                m.check(&set);
            }
            prop_assert!(m.tasks.is_empty(), "blocked tasks left with nothing running");
            prop_assert!(set.is_empty());
            prop_assert_eq!(m.ends.len() as u64, admitted);
            prop_assert!(m.ends.values().all(|&n| n == 1));
            // No slot leaked: the full capacity is available again.
            for tag in 0..8 {
                prop_assert_eq!(set.admit(TaskKey::new(9, 9, tag), S), Ok(Admit::Run));
            }
            prop_assert_eq!(set.admit(TaskKey::new(9, 9, 8), S), Err(AdmitError::TaskSetFull));
        }
    }
}
