-- Job callbacks (docs/webhooks.md#job-callbacks): a job submitted with `callbackUrl` gets a
-- job-scoped webhook subscription to the events that end it, made by the trigger below in the
-- transaction that inserts the job. A crash cannot leave a job without its callback, and no job
-- can finish before its subscription exists. The subscription's created_at is the job's, so the
-- dispatcher (which matches events from a subscription's creation on) delivers all of its events.
ALTER TABLE jobs ADD COLUMN callback_url TEXT;

-- One signing secret per tenant for its job callbacks, copied into each callback subscription when
-- it is made. Rotating it (POST /v1/webhooks/callback-secret/rotate) changes the row only:
-- subscriptions made before keep the secret they were made with.
CREATE TABLE callback_secrets (
  tenant     TEXT PRIMARY KEY,
  secret     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Subscription ids made here are 32 random hex digits, not UUIDv7 like the API's: they are
-- unique, but do not sort by creation time (listings order by created_at, then id).
CREATE TRIGGER jobs_callback_subscribe AFTER INSERT ON jobs WHEN NEW.callback_url IS NOT NULL BEGIN
  INSERT INTO callback_secrets (tenant, secret, created_at)
    VALUES (NEW.tenant, 'whsec_' || lower(hex(randomblob(32))), NEW.created_at)
    ON CONFLICT (tenant) DO NOTHING;
  INSERT INTO webhook_subscriptions (id, tenant, url, queue, job_id, events, description, secret, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), NEW.tenant, NEW.callback_url, NULL, NEW.id,
      '["job.succeeded","job.failed","job.cancelled","job.expired"]', 'callbackUrl of job ' || NEW.id, s.secret,
      NEW.created_at, NEW.created_at
    FROM callback_secrets s WHERE s.tenant = NEW.tenant;
END;
