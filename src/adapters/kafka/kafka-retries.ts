/**
 * Retries of a failed request: 100 ms doubling to 2 s, 6 times (5.1 s in all). The library's
 * default, 3 times 1 s, spent a full second whenever a new topic's partition answered "not leader
 * yet" for a moment after creation, and gives up before a slow leader election is over.
 */
export const KAFKA_RETRIES = { retries: 6, retryDelay: (_client: unknown, _op: string, attempt: number) => Math.min(100 * 2 ** (attempt - 1), 2_000) };
