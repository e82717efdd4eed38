-- Job callbacks (docs/webhooks.md#job-callbacks): a job submitted with `callbackUrl` gets a
-- job-scoped webhook subscription to the events that end it, made by the trigger below in the
-- statement (so the transaction) that inserts the job. A crash cannot leave a job without its
-- callback, and no job can finish before its subscription exists. The subscription's created_at is
-- the job's, so the dispatcher (which matches events from a subscription's creation on) delivers
-- all of its events.
ALTER TABLE jobs ADD COLUMN callback_url TEXT;

-- One signing secret per tenant for its job callbacks, copied into each callback subscription when
-- it is made. Rotating it (POST /v1/webhooks/callback-secret/rotate) changes the row only:
-- subscriptions made before keep the secret they were made with.
CREATE TABLE callback_secrets (
  tenant     TEXT PRIMARY KEY,
  secret     TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- One call per INSERT statement, over its new rows: the batch insert of a bulk submit makes all of
-- its subscriptions in two statements. A tenant's first secret: 256 bits, the SHA-256 of two
-- random UUIDs (gen_random_uuid, built in since PostgreSQL 13; no extension needed). Two inserts
-- racing to make it: ON CONFLICT waits for the other one and keeps its row, which the next
-- statement (a new snapshot under READ COMMITTED) then reads. Subscription ids made here are
-- random UUIDs (v4), not UUIDv7 like the API's: unique, but they do not sort by creation time
-- (listings order by created_at, then id).
CREATE FUNCTION docket_jobs_callbacks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO callback_secrets (tenant, secret, created_at)
  SELECT t.tenant, 'whsec_' || encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'), t.created_at
  FROM (SELECT tenant, min(created_at) AS created_at FROM new_jobs WHERE callback_url IS NOT NULL GROUP BY tenant) t
  ORDER BY t.tenant
  ON CONFLICT (tenant) DO NOTHING;

  INSERT INTO webhook_subscriptions (id, tenant, url, queue, job_id, events, description, secret, created_at, updated_at)
  SELECT gen_random_uuid()::text, j.tenant, j.callback_url, NULL, j.id,
    '["job.succeeded","job.failed","job.cancelled","job.expired"]'::jsonb, 'callbackUrl of job ' || j.id, s.secret,
    j.created_at, j.created_at
  FROM new_jobs j JOIN callback_secrets s ON s.tenant = j.tenant
  WHERE j.callback_url IS NOT NULL;
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_callbacks AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION docket_jobs_callbacks();
