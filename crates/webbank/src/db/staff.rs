//! The staff console's audit table `staff_events`: who (the staff name)
//! did what (login, lookup, unlock, resync, …) to which customer or serial,
//! with the outcome. It never holds a code or a password. Each row also
//! notes the newest customer history row of that customer when it was
//! written (`after_event`), so an audit can place the staff actions in
//! the customer's history in their true order.

use rusqlite::params;

use super::{Conn, Db, DbError, Event, EventContext, EventKind};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS staff_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  staff TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  contract_id TEXT,
  serial TEXT,
  detail TEXT,
  after_event INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS staff_events_by_customer ON staff_events(contract_id, id);
CREATE INDEX IF NOT EXISTS staff_events_by_serial ON staff_events(serial, id);
";

/// What a staff member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StaffAction {
    /// Logged in to the console.
    Login,
    /// A refused login (the name as typed).
    LoginRefused,
    /// Logged out.
    Logout,
    /// Looked a customer or serial up.
    Lookup,
    /// Unlocked a token (`/v1/admin/unlock`).
    Unlock,
    /// Resynchronised a token (`/v1/admin/resync`).
    Resync,
}

impl StaffAction {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffAction::Login => "login",
            StaffAction::LoginRefused => "login_refused",
            StaffAction::Logout => "logout",
            StaffAction::Lookup => "lookup",
            StaffAction::Unlock => "unlock",
            StaffAction::Resync => "resync",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "login" => StaffAction::Login,
            "login_refused" => StaffAction::LoginRefused,
            "logout" => StaffAction::Logout,
            "lookup" => StaffAction::Lookup,
            "unlock" => StaffAction::Unlock,
            "resync" => StaffAction::Resync,
            _ => return None,
        })
    }
}

/// One row of `staff_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEvent {
    /// Unix seconds (the display clock).
    pub at: i64,
    /// The staff member's name as they logged in.
    pub staff: String,
    /// What they did.
    pub action: StaffAction,
    /// `ok`, or the token service's wire error code, or `unreachable`.
    pub outcome: String,
    /// Customer concerned, if any.
    pub contract_id: Option<String>,
    /// Serial concerned, if any.
    pub serial: Option<String>,
    /// Extra result (the drift a resync learned, in steps).
    pub detail: Option<String>,
    /// The newest customer history row id when this row was written
    /// (0: none); filled in by [`Conn::add_staff_event`].
    pub after_event: i64,
}

impl StaffEvent {
    /// A row with no customer, serial or detail.
    pub fn new(at: i64, staff: &str, action: StaffAction, outcome: &str) -> StaffEvent {
        StaffEvent {
            at,
            staff: staff.to_string(),
            action,
            outcome: outcome.to_string(),
            contract_id: None,
            serial: None,
            detail: None,
            after_event: 0,
        }
    }
}

impl Conn {
    /// Records a staff action (`after_event` is set from the customer's
    /// history).
    pub fn add_staff_event(&self, e: &StaffEvent) -> Result<(), DbError> {
        self.conn.execute(
            "INSERT INTO staff_events
               (at, staff, action, outcome, contract_id, serial, detail, after_event)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,
               (SELECT COALESCE(MAX(id), 0) FROM events WHERE contract_id = ?5))",
            params![
                e.at,
                e.staff,
                e.action.as_str(),
                e.outcome,
                e.contract_id,
                e.serial,
                e.detail
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` staff actions on `contract_id` or on `serial`,
    /// newest first.
    pub fn staff_events(
        &self,
        contract_id: Option<&str>,
        serial: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StaffEvent>, DbError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, staff, action, outcome, contract_id, serial, detail, after_event
             FROM staff_events
             WHERE (?1 IS NOT NULL AND contract_id = ?1) OR (?2 IS NOT NULL AND serial = ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![contract_id, serial, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, staff, action, outcome, contract_id, serial, detail, after_event) = row?;
            if let Some(action) = StaffAction::parse(&action) {
                out.push(StaffEvent {
                    at,
                    staff,
                    action,
                    outcome,
                    contract_id,
                    serial,
                    detail,
                    after_event,
                });
            }
        }
        Ok(out)
    }

    /// The contract ID whose active token is `serial`, if any.
    pub fn customer_with_token(&self, serial: &str) -> Result<Option<String>, DbError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT contract_id FROM customers WHERE token_serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The newest `limit` history events of a customer with their row
    /// ids, newest first (rows of unknown kinds are skipped).
    pub fn events_with_ids(
        &self,
        contract_id: &str,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, DbError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, kind, context, serial, previous_serial, fail_count FROM events
             WHERE contract_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![contract_id, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<u32>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, kind, context, serial, previous_serial, fail_count) = row?;
            if let (Some(kind), Some(context)) =
                (EventKind::parse(&kind), EventContext::parse(&context))
            {
                out.push((
                    id,
                    Event {
                        at,
                        kind,
                        context,
                        serial,
                        previous_serial,
                        fail_count,
                    },
                ));
            }
        }
        Ok(out)
    }
}

impl Db {
    /// [`Conn::add_staff_event`].
    pub async fn add_staff_event(&self, e: StaffEvent) -> Result<(), DbError> {
        self.run(move |c| c.add_staff_event(&e)).await
    }

    /// [`Conn::staff_events`].
    pub async fn staff_events(
        &self,
        contract_id: Option<String>,
        serial: Option<String>,
        limit: u32,
    ) -> Result<Vec<StaffEvent>, DbError> {
        self.run(move |c| c.staff_events(contract_id.as_deref(), serial.as_deref(), limit))
            .await
    }

    /// [`Conn::customer_with_token`].
    pub async fn customer_with_token(&self, serial: &str) -> Result<Option<String>, DbError> {
        let s = serial.to_string();
        self.run(move |c| c.customer_with_token(&s)).await
    }

    /// [`Conn::events_with_ids`].
    pub async fn events_with_ids(
        &self,
        contract_id: &str,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, DbError> {
        let id = contract_id.to_string();
        self.run(move |c| c.events_with_ids(&id, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_rows_round_trip_and_note_the_customer_history() {
        let db = Db::memory();
        let c = db.blocking();
        c.upsert_customer("1000001", "t", "h", 0).unwrap();
        c.add_event(
            "1000001",
            &Event::new(5, EventKind::Failed, EventContext::Login),
        )
        .unwrap();
        let mut e = StaffEvent::new(6, "山田", StaffAction::Unlock, "ok");
        e.contract_id = Some("1000001".into());
        e.serial = Some("K7M3Q9XZ2PD0".into());
        c.add_staff_event(&e).unwrap();
        let mut other = StaffEvent::new(7, "佐藤", StaffAction::Lookup, "ok");
        other.serial = Some("K7M3Q9XZ2PD0".into());
        c.add_staff_event(&other).unwrap();
        let rows = c.staff_events(Some("1000001"), None, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].staff, "山田");
        assert_eq!(rows[0].action, StaffAction::Unlock);
        let ev = c.events_with_ids("1000001", 10).unwrap();
        assert_eq!(
            rows[0].after_event, ev[0].0,
            "written after that history row"
        );
        let by_serial = c.staff_events(None, Some("K7M3Q9XZ2PD0"), 10).unwrap();
        assert_eq!(by_serial.len(), 2);
        assert_eq!(by_serial[0].staff, "佐藤", "newest first");
        assert!(c.staff_events(None, None, 10).unwrap().is_empty());
    }
}
