//! Credential scopes and the audit stamp of the caller's scope.
//!
//! The token service has two bearer keys with disjoint rights:
//! * [`Scope::Backend`] — the back-end key (`api-key`): bind, verify,
//!   change, deactivate (and the transaction calls), on the public
//!   listener;
//! * [`Scope::Operations`] — the operations key (`ops-key`): unlock,
//!   resync and the read of a token, only on the admin listener.
//!
//! [`Scoped`] runs an operation and records the scope of its caller in
//! every audit event the operation wrote (`events.scope`); events written
//! without a credential (pairing, status, sweeps) keep `scope` NULL.

use rusqlite::{params, Savepoint};

use crate::db::{Ctx, Fault, Operation};

/// The rights a bearer key grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// The back-end key: customer operations of web banking.
    Backend,
    /// The operations key: unlock and resync.
    Operations,
}

impl Scope {
    /// The value stored in `events.scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Backend => "backend",
            Scope::Operations => "operations",
        }
    }
}

/// An operation applied on behalf of a caller with `scope`: every event
/// the inner operation writes (kept writes of a refusal included) gets
/// `scope`. A storage error rolls everything back as usual.
#[derive(Debug)]
pub struct Scoped<O> {
    scope: Scope,
    op: O,
}

impl<O> Scoped<O> {
    /// `op` on behalf of a caller with `scope`.
    pub fn new(scope: Scope, op: O) -> Scoped<O> {
        Scoped { scope, op }
    }
}

impl<O: Operation> Operation for Scoped<O> {
    /// On PostgreSQL every event the inner operation writes carries the
    /// scope in its own `INSERT` (other instances append concurrently, so
    /// there is no "events after id N" to stamp afterwards).
    fn apply_pg<'a>(
        self,
        client: &'a mut deadpool_postgres::Client,
        ctx: &'a crate::db::pg::PgCtx<'a>,
        now: u64,
    ) -> impl std::future::Future<Output = Result<Self::Output, crate::db::pg::PgFault>> + Send + 'a
    {
        crate::db::pg::with_scope(self.scope.as_str(), self.op.apply_pg(client, ctx, now))
    }
    type Output = O::Output;

    fn apply(self, c: &mut Savepoint<'_>, ctx: &Ctx<'_>, now: u64) -> Result<O::Output, Fault> {
        // The writer is the only one appending inside this savepoint, so
        // the events with a larger id are exactly the inner operation's.
        let before: i64 = c
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM events")?
            .query_row([], |r| r.get(0))?;
        let out = self.op.apply(c, ctx, now);
        if !matches!(out, Err(Fault::Storage(_))) {
            c.prepare_cached("UPDATE events SET scope = ?1 WHERE id > ?2")?
                .execute(params![self.scope.as_str(), before])?;
        }
        out
    }
}
