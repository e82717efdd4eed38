import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, type Problem } from './api';
import { onEvent } from './events';
import type { DocketEvent } from './types';

export interface Loaded<T> {
  data: T | undefined;
  problem: Problem | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/** GETs `path` (null: nothing yet); keeps the last data while reloading, so live refreshes do not flash. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(path);
  latest.current = path;
  const reload = useCallback(async () => {
    if (path === null) return;
    try {
      const d = await api<T>('GET', path);
      if (latest.current !== path) return;
      setData(d);
      setProblem(null);
    } catch (err) {
      if (latest.current !== path) return;
      setProblem(err instanceof ApiError ? err.problem : { title: 'Error', status: 0, detail: String(err) });
    } finally {
      if (latest.current === path) setLoading(false);
    }
  }, [path]);
  useEffect(() => {
    setLoading(true);
    setData(undefined);
    void reload();
  }, [reload]);
  return { data, problem, loading, reload };
}

/**
 * Calls `refresh` when a live event passes `filter`, at most every `ms` (a burst of a thousand
 * events costs one reload), and every `pollMs` as a safety net for what events do not say.
 */
export function useLiveRefresh(refresh: () => unknown, filter: (e: DocketEvent) => boolean = () => true, ms = 400, pollMs = 15_000): void {
  const ref = useRef({ refresh, filter });
  ref.current = { refresh, filter };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onEvent((e) => {
      if (!ref.current.filter(e) || timer) return;
      timer = setTimeout(() => {
        timer = null;
        void ref.current.refresh();
      }, ms);
    });
    const poll = setInterval(() => void ref.current.refresh(), pollMs);
    return () => {
      off();
      clearInterval(poll);
      if (timer) clearTimeout(timer);
    };
  }, [ms, pollMs]);
}

/** Re-renders every `ms` (relative times such as "12 s ago" keep moving). */
export function useTick(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Runs an action, keeping its problem (shown by the page) and a busy flag. */
export function useAction(): { busy: boolean; problem: Problem | null; run: (work: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
      return true;
    } catch (err) {
      setProblem(err instanceof ApiError ? err.problem : { title: 'Error', status: 0, detail: String(err) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, run, clear: () => setProblem(null) };
}
