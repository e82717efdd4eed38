-- Alerts (docs/alerts.md). alert_rules holds each rule's evaluation state, so a new leader goes on
-- where the old one stopped (a pending "for T" keeps its start; a firing alert is not fired again);
-- `version` guards every write (two leaders for a moment: the second write does not apply).
CREATE TABLE alert_rules (
  rule          TEXT PRIMARY KEY,
  pending_since INTEGER,
  firing_id     TEXT,
  evaluated_at  INTEGER NOT NULL,
  version       INTEGER NOT NULL
);

-- One row per firing of a rule; resolved ones are kept 30 days.
CREATE TABLE alerts (
  id          TEXT PRIMARY KEY,
  rule        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  queue       TEXT,
  state       TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
  value       REAL NOT NULL,
  threshold   REAL NOT NULL,
  fired_at    INTEGER NOT NULL,
  resolved_at INTEGER,
  message     TEXT NOT NULL
);
CREATE INDEX alerts_state ON alerts (state, id);
CREATE INDEX alerts_resolved ON alerts (resolved_at) WHERE resolved_at IS NOT NULL;
