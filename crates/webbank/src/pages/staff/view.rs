//! What the console knows of a token beyond its state: the failure count,
//! the lock and the drift, replayed from web banking's own records — the
//! customer's OTP history (the token service's answers to web banking)
//! and the console's actions — in their true order ([`observe`]).
//!
//! The token service answers its state (`/v1/tokens/{serial}/status`) but
//! has no read of the failure count, the lock or the drift for the bank;
//! its own audit events hold them. What is shown here is therefore "as
//! last reported to web banking", assuming the reference policy's lockout
//! limit ([`Policy::default`]).

use softtoken_core::verifier::Policy;

use crate::db::{Event, EventKind, StaffAction, StaffEvent};

/// The replayed view of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    /// Consecutive wrong codes last reported by the token service.
    pub failures: u32,
    /// Locked (a `locked` answer, or the lockout limit reached, since the
    /// last unlock, success or registration).
    pub locked: bool,
    /// The drift the last resync from the console learned, in steps.
    pub drift: Option<i64>,
}

enum Step<'a> {
    Customer(&'a Event),
    Staff(&'a StaffEvent),
}

/// Replays `history` (a customer's events with their row ids, newest
/// first, as [`crate::db::Db::events_with_ids`] returns them) and `staff`
/// (console actions, newest first) for the token `serial`. A staff row
/// comes after the customer row it noted (`after_event`). Registration
/// (利用開始) and exchange (交換) start a new token: the view starts over.
/// Only successful unlocks and resyncs of `serial` count.
pub fn observe(history: &[(i64, Event)], staff: &[StaffEvent], serial: &str) -> Observed {
    let limit = Policy::default().lockout_limit;
    let mut customer: Vec<&(i64, Event)> = history.iter().collect();
    customer.sort_by_key(|(id, _)| *id);
    let mut actions: Vec<&StaffEvent> = staff
        .iter()
        .filter(|s| s.outcome == "ok" && s.serial.as_deref() == Some(serial))
        .collect();
    actions.reverse();
    let mut steps = Vec::with_capacity(customer.len() + actions.len());
    let mut a = actions.into_iter().peekable();
    for (id, e) in customer {
        while let Some(s) = a.next_if(|s| s.after_event < *id) {
            steps.push(Step::Staff(s));
        }
        steps.push(Step::Customer(e));
    }
    steps.extend(a.map(Step::Staff));

    let mut o = Observed::default();
    for step in steps {
        match step {
            Step::Customer(e) => match e.kind {
                EventKind::Registered | EventKind::Exchanged => o = Observed::default(),
                EventKind::Accepted => {
                    o.failures = 0;
                    o.locked = false;
                }
                EventKind::Failed => {
                    o.failures = e.fail_count.unwrap_or(o.failures.saturating_add(1));
                    o.locked |= o.failures >= limit;
                }
                EventKind::Locked => {
                    // The wrong code that reaches the limit is answered
                    // `locked` itself: it counts once.
                    if !o.locked {
                        o.failures = e.fail_count.unwrap_or(o.failures.saturating_add(1));
                    }
                    o.locked = true;
                }
                _ => {}
            },
            Step::Staff(s) => match s.action {
                StaffAction::Unlock => {
                    o.failures = 0;
                    o.locked = false;
                }
                StaffAction::Resync => {
                    o.failures = 0;
                    o.drift = s.detail.as_deref().and_then(|d| d.parse().ok());
                }
                _ => {}
            },
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::EventContext;

    fn ev(kind: EventKind, fails: Option<u32>) -> Event {
        let mut e = Event::new(0, kind, EventContext::Transfer);
        e.fail_count = fails;
        e
    }

    fn staff(action: StaffAction, outcome: &str, after: i64, detail: Option<&str>) -> StaffEvent {
        let mut s = StaffEvent::new(0, "山田", action, outcome);
        s.serial = Some("K7M3Q9XZ2PD0".into());
        s.after_event = after;
        s.detail = detail.map(String::from);
        s
    }

    #[test]
    fn lock_failures_and_drift_in_their_true_order() {
        let limit = Policy::default().lockout_limit;
        let mut h: Vec<(i64, Event)> = vec![(1, ev(EventKind::Registered, None))];
        for n in 1..=limit {
            h.push((1 + i64::from(n), ev(EventKind::Failed, Some(n))));
        }
        let last = 1 + i64::from(limit);
        h.push((last + 1, ev(EventKind::Locked, None)));
        h.reverse(); // newest first, as stored
        let o = observe(&h, &[], "K7M3Q9XZ2PD0");
        assert_eq!((o.failures, o.locked, o.drift), (limit, true, None));

        // The token service's own sequence: the limit-reaching wrong code
        // is answered `locked` (no count), then every code is.
        let mut real: Vec<(i64, Event)> = vec![(1, ev(EventKind::Registered, None))];
        for n in 1..limit {
            real.push((1 + i64::from(n), ev(EventKind::Failed, Some(n))));
        }
        real.push((1 + i64::from(limit), ev(EventKind::Locked, None)));
        real.push((2 + i64::from(limit), ev(EventKind::Locked, None)));
        real.reverse();
        let o = observe(&real, &[], "K7M3Q9XZ2PD0");
        assert_eq!((o.failures, o.locked), (limit, true));

        // An unlock after the lock clears it; a refused one does not; an
        // unlock of another serial does not either.
        let unlock = staff(StaffAction::Unlock, "ok", last + 1, None);
        let o = observe(&h, std::slice::from_ref(&unlock), "K7M3Q9XZ2PD0");
        assert_eq!((o.failures, o.locked), (0, false));
        let refused = staff(StaffAction::Unlock, "not_found", last + 1, None);
        assert!(observe(&h, &[refused], "K7M3Q9XZ2PD0").locked);
        assert!(observe(&h, std::slice::from_ref(&unlock), "OTHER").locked);

        // An unlock noted before the failures happened is overtaken by them.
        let early = staff(StaffAction::Unlock, "ok", 1, None);
        assert!(observe(&h, &[early], "K7M3Q9XZ2PD0").locked);

        // A resync keeps the lock, resets the count, sets the drift.
        let resync = staff(StaffAction::Resync, "ok", last + 1, Some("-3"));
        let o = observe(&h, std::slice::from_ref(&resync), "K7M3Q9XZ2PD0");
        assert_eq!((o.failures, o.locked, o.drift), (0, true, Some(-3)));
        // Newest first: the unlock after the resync.
        let mut later = unlock.clone();
        later.after_event = last + 1;
        let o = observe(&h, &[later, resync], "K7M3Q9XZ2PD0");
        assert_eq!((o.failures, o.locked, o.drift), (0, false, Some(-3)));

        // A new registration starts over; a success clears the count.
        let mut h2 = h.clone();
        h2.insert(0, (last + 2, ev(EventKind::Exchanged, None)));
        assert_eq!(observe(&h2, &[], "K7M3Q9XZ2PD0"), Observed::default());
        let h3 = vec![
            (3, ev(EventKind::Accepted, None)),
            (2, ev(EventKind::Failed, Some(2))),
        ];
        assert_eq!(observe(&h3, &[], "K7M3Q9XZ2PD0").failures, 0);
    }
}
