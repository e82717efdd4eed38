-- Webhook subscriptions and their deliveries (src/ports/webhook-store.ts). The dispatcher writes a
-- delivery row per (subscription, matching event) in the transaction that moves its event cursor;
-- the sender sends pending rows that are due, oldest event first per subscription, and records
-- each attempt. Rows outlive a restart, so nothing pending is lost.
CREATE TABLE webhook_subscriptions (
  id                   TEXT PRIMARY KEY,
  tenant               TEXT NOT NULL,
  url                  TEXT NOT NULL,
  queue                TEXT,              -- scope: one queue, or
  job_id               TEXT,              -- one job, or (both NULL) the whole tenant
  events               TEXT NOT NULL,     -- JSON array of event types; [] = all
  description          TEXT,
  secret               TEXT NOT NULL,     -- HMAC key of the signatures
  enabled              INTEGER NOT NULL DEFAULT 1,
  disabled_at          INTEGER,
  disabled_reason      TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant, created_at);
CREATE INDEX webhook_subscriptions_job ON webhook_subscriptions (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
  id               TEXT PRIMARY KEY,      -- the Docket-Delivery-Id header
  subscription_id  TEXT NOT NULL,
  event_pos        INTEGER NOT NULL,      -- the event's log position: the envelope's id
  event_type       TEXT NOT NULL,
  body             TEXT NOT NULL,         -- the envelope as sent, the same on every attempt
  status           TEXT NOT NULL,         -- pending, delivered, failed
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  last_status_code INTEGER,
  last_error       TEXT,
  last_duration_ms INTEGER,
  created_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  UNIQUE (subscription_id, event_pos)
);
-- The sender's pick: per subscription, its oldest pending delivery.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, event_pos) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  status_code INTEGER,
  error       TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
