/** The SQLite adapter's statements for dedup keys (migrations/0010_dedup.sql). */

/** The key's row with the state of the job holding it (null when that job was deleted). */
export const READ_DEDUP_KEY = `SELECT k.job_id AS jobId, k.expires_at AS expiresAt, j.state AS state
  FROM dedup_keys k LEFT JOIN jobs_hot j ON j.id = k.job_id WHERE k.tenant = ? AND k.key = ?`;

/** Takes a key, or takes it over (the caller has decided that the holder no longer counts). */
export const TAKE_DEDUP_KEY = `INSERT INTO dedup_keys (tenant, key, job_id, expires_at) VALUES (@tenant, @key, @jobId, @expiresAt)
  ON CONFLICT (tenant, key) DO UPDATE SET job_id = excluded.job_id, expires_at = excluded.expires_at`;

/** The response of an idempotent submit, once the dedup outcome is known. */
export const SET_IDEMPOTENCY_RESPONSE = 'UPDATE idempotency_keys SET status = ?, response = ? WHERE tenant = ? AND key = ?';

export const PRUNE_DEDUP_KEYS = 'DELETE FROM dedup_keys WHERE expires_at <= ?';
