-- Traces across the queue (docs/tracing.md): the W3C trace context of the submit that made the job
-- (its producer span's, or the caller's traceparent/tracestate when tracing is off), as JSON text
-- `{"traceparent":"00-…","tracestate":"…"}`; NULL when the submit had none. Written by the insert,
-- returned by claims, never updated: each attempt's span starts from it, in whatever process.
-- text, not json: it is only ever read whole by the application. Nullable with no default, so
-- adding it rewrites no row.
ALTER TABLE jobs ADD COLUMN trace_context text;
