-- Token service schema on PostgreSQL, version 2: what SQLite's schema
-- steps V_SCOPE and V_TXN added (crates/token-service/src/db/schema.rs).
-- Applied at start in the same transaction as its schema_version row.

-- The scope of the caller's key in the audit log ('backend',
-- 'operations'; NULL for calls without a key: pairing, status, sweeps).
ALTER TABLE events ADD COLUMN scope text
  CHECK (scope IS NULL OR scope IN ('backend', 'operations'));

-- STK1-TXN: the token's last accepted offline step (kept apart from the
-- codes' last_step; failures share fail_count / locked).
ALTER TABLE tokens ADD COLUMN last_offline_step bigint CHECK (last_offline_step >= 0);

-- Transactions waiting for, or carrying, the customer's decision. Payee
-- data (fields) is the JSON array it arrived as; never in the audit log.
CREATE TABLE txns (
  txn_id      bytea PRIMARY KEY CHECK (length(txn_id) = 16),
  serial      text NOT NULL,
  customer_id text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('transfer', 'payment')),
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  fields      text NOT NULL,
  state       text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'consumed')),
  decided_at  bigint,
  consumed_at bigint,
  -- Insertion order, for "oldest first" among equal created_at.
  seq         bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX txns_pending ON txns (serial, created_at, seq) WHERE state = 'pending';

-- Poll nonces per token, remembered for 300 s (NONCE_MEMORY).
CREATE TABLE txn_nonces (
  serial  text NOT NULL,
  nonce   bytea NOT NULL,
  seen_at bigint NOT NULL,
  PRIMARY KEY (serial, nonce)
);

-- The bad-decision-MAC window per token.
CREATE TABLE txn_mac_failures (
  serial       text PRIMARY KEY,
  window_start bigint NOT NULL,
  bad_macs     integer NOT NULL CHECK (bad_macs >= 0)
);
