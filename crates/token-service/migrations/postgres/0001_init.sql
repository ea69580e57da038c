-- Token service schema on PostgreSQL, version 1 (the SQLite schema of
-- docs/server.md, mapped as in docs/deploy.md). Applied by the server at
-- start in one transaction together with its schema_version row; a server
-- that finds a version newer than it knows refuses to start.
-- Times are Unix seconds (bigint); secrets are sealed blobs (bytea).

CREATE TABLE IF NOT EXISTS schema_version (
  version    integer PRIMARY KEY CHECK (version > 0),
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- Pairing sessions between provision/init and provision/finish.
CREATE TABLE sessions (
  session_id       bytea PRIMARY KEY CHECK (length(session_id) = 16),
  serial           text NOT NULL UNIQUE,
  sealed_key       bytea,
  sealed_confirm   bytea NOT NULL,
  expires_at       bigint NOT NULL,
  finished_at      bigint,
  bind_by          bigint,
  confirm_failures integer NOT NULL DEFAULT 0 CHECK (confirm_failures >= 0)
);
CREATE INDEX sessions_open ON sessions (expires_at) WHERE finished_at IS NULL;

-- Tokens and their verifier record (last_step, drift, fail_count, locked).
CREATE TABLE tokens (
  serial        text PRIMARY KEY,
  state         text NOT NULL CHECK (state IN ('issued', 'active', 'revoked', 'expired')),
  customer_id   text,
  sealed_secret bytea,
  last_step     bigint CHECK (last_step >= 0),
  drift         bigint NOT NULL DEFAULT 0,
  fail_count    integer NOT NULL DEFAULT 0 CHECK (fail_count >= 0),
  locked        boolean NOT NULL DEFAULT false,
  issued_at     bigint NOT NULL,
  bind_by       bigint NOT NULL,
  bound_at      bigint,
  revoked_at    bigint,
  CHECK (state <> 'active' OR customer_id IS NOT NULL)
);
-- At most one active token per customer, enforced by the database.
CREATE UNIQUE INDEX tokens_active_customer ON tokens (customer_id) WHERE state = 'active';
CREATE INDEX tokens_unbound ON tokens (bind_by) WHERE state = 'issued';

-- Audit log: never a code or a secret.
CREATE TABLE events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          bigint NOT NULL,
  serial      text,
  customer_id text,
  kind        text NOT NULL,
  detail      text
);
CREATE INDEX events_serial ON events (serial, id);

-- Check values of the key files shared by every instance (the KEK's is
-- HMAC-SHA256(kek, "softtoken kek check v1")[..16], which does not reveal
-- it): an instance whose key files differ refuses to start.
CREATE TABLE key_checks (
  name        text PRIMARY KEY,
  check_value bytea NOT NULL
);
