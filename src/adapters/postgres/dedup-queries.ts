/** The PostgreSQL adapter's statements for dedup keys (migrations/0010_dedup.sql). */

/**
 * Takes a free key. On a key another transaction is inserting, waits for its commit (the primary
 * key), then returns no row: the next statement's snapshot sees that holder.
 */
export const TRY_TAKE_DEDUP_KEY = `INSERT INTO dedup_keys (tenant, key, job_id, expires_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (tenant, key) DO NOTHING RETURNING 1`;

/** The key's row with the state of the job holding it (null when that job was deleted). */
export const READ_DEDUP_KEY = `SELECT k.job_id AS "jobId", k.expires_at AS "expiresAt", j.state
  FROM dedup_keys k LEFT JOIN jobs j ON j.id = k.job_id WHERE k.tenant = $1 AND k.key = $2`;

/**
 * Takes a key over from a holder that no longer counts: a compare-and-set on the holder read
 * ($5). A concurrent take-over makes this wait for its commit and then match no row.
 */
export const TAKE_OVER_DEDUP_KEY = `UPDATE dedup_keys SET job_id = $3, expires_at = $4
  WHERE tenant = $1 AND key = $2 AND job_id = $5 RETURNING 1`;

export const SET_IDEMPOTENCY_RESPONSE = 'UPDATE idempotency_keys SET status = $3, response = $4 WHERE tenant = $1 AND key = $2';

export const PRUNE_DEDUP_KEYS = 'DELETE FROM dedup_keys WHERE expires_at <= $1';
