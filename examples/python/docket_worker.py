#!/usr/bin/env python3
"""A Docket remote worker in plain Python (standard library only, Python 3.8+).

It speaks Docket's HTTP worker protocol (docs/api.md, "Remote workers"):

    register  POST /v1/workers                      {queues, capacity, name} -> {id}
    claim     POST /v1/queues/{queues}/claim        {workerId, max, waitMs}  -> {jobs: [...]}   (long-poll)
    report    POST /v1/jobs/{id}/complete           {leaseToken, result}
              POST /v1/jobs/{id}/fail               {leaseToken, error: {message, code}, retryable}
              POST /v1/jobs/{id}/release            {leaseToken}            (shutdown: not an attempt)
    keep      POST /v1/workers/{id}/heartbeat       {jobs: [{id, leaseToken}]} -> {lost: [ids]}
    leave     DELETE /v1/workers/{id}

Usage:

    from docket_worker import Worker, PermanentError

    worker = Worker(name="thumbnails")

    @worker.handler("resize")
    def resize(job):
        if job.stopped.is_set():        # cancelled, lease lost, timed out or shutting down
            return
        job.progress(50, "halfway")
        return {"width": job.payload["width"] // 2}     # the job's result (any JSON value)

    worker.main()    # runs until SIGTERM / SIGINT; exits 0 after a clean shutdown

A handler gets a Job and returns its result. Raising fails the attempt: Docket retries it with
backoff while attempts are left, unless the exception is a PermanentError. Handlers run in a pool
of threads; a job that must stop has its `stopped` event set, and the handler is expected to check
it (Python threads cannot be killed). Whatever a stopped handler returns is dropped.

Settings: command-line flags win over environment variables, which win over the arguments given
to Worker(...), which win over the built-in defaults.

    --url          DOCKET_URL            http://127.0.0.1:8080
    (none)         DOCKET_TOKEN          sent as `Authorization: Bearer <token>` on every request
    --queues       DOCKET_QUEUES         default            (comma-separated)
    --concurrency  DOCKET_CONCURRENCY    4                  (jobs run at once)
    --name         DOCKET_WORKER_NAME    python-<host>-<pid>
    --grace        DOCKET_GRACE_SECONDS  10                 (shutdown: time running jobs get to finish)
    --heartbeat    DOCKET_HEARTBEAT_SECONDS  10             (shortened to a third of the server's
                                                             lease once a claim shows it)
    --log-level    DOCKET_LOG_LEVEL      info

Tracing (docs/tracing.md): with OTEL_EXPORTER_OTLP_ENDPOINT set (or OTEL_TRACES_EXPORTER=otlp), each
attempt is a `process <queue>` span, child of the job's trace context from the claim, exported over
OTLP/HTTP JSON (standard library only; OTEL_SERVICE_NAME, default docket-worker-python). A handler
puts `job.trace_headers()` on its own outgoing calls so they join the trace.

Exit codes: 0 clean shutdown, 2 bad settings or the server refused the registration, 3 server
unreachable at start, 4 the server refused the token (401/403).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import queue as queue_module
import signal
import socket
import sys
import threading
import time
import urllib.parse
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional

__all__ = ["Worker", "Job", "PermanentError", "ApiError", "ServerUnreachable"]

log = logging.getLogger("docket_worker")

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_AUTH = 0, 2, 3, 4

#: The server's limits (see src/interfaces/http/schemas.ts). Longer error messages are cut.
MAX_WAIT_MS = 60_000
MAX_ERROR_MESSAGE = 10_000
MAX_ERROR_CODE = 128


# ---- errors ----------------------------------------------------------------------------------


class PermanentError(Exception):
    """Raise from a handler to fail the job without further attempts."""

    def __init__(self, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.code = code


class DocketError(Exception):
    """Trouble talking to the server."""


class ServerUnreachable(DocketError):
    """No HTTP answer: connection refused, DNS, timeout, connection dropped."""


class ApiError(DocketError):
    """An HTTP error answer. `problem` is the RFC 9457 body (type, title, status, detail, errors)."""

    def __init__(self, status: int, problem: Dict[str, Any]):
        self.status = status
        self.problem = problem
        detail = problem.get("detail") or problem.get("title") or http.client.responses.get(status, "")
        super().__init__(f"HTTP {status}: {detail}")

    @property
    def auth(self) -> bool:
        return self.status in (401, 403)


# ---- the job a handler sees ------------------------------------------------------------------


class Job:
    """One claimed job. `raw` holds the whole JSON view the server sent."""

    def __init__(self, raw: Dict[str, Any], worker: "Worker"):
        self.raw = raw
        self.id: str = raw["id"]
        self.type: str = raw["type"]
        self.queue: str = raw.get("queue", "")
        self.payload: Any = raw.get("payload")
        self.attempt: int = raw.get("attempt", 1)
        self.max_attempts: int = raw.get("maxAttempts", 1)
        self.priority: int = raw.get("priority", 5)
        self.labels: Dict[str, str] = raw.get("labels") or {}
        self.timeout_ms: Optional[int] = raw.get("timeoutMs")
        self.lease_token: str = raw["leaseToken"]
        #: Set when the handler must stop: see stop_reason.
        self.stopped = threading.Event()
        #: "cancelled", "lease_lost", "timeout" or "shutdown" once `stopped` is set.
        self.stop_reason: Optional[str] = None
        #: The W3C trace context the job carries from its submit ({"traceparent": ..., "tracestate": ...}) or None.
        self.trace_context: Optional[Dict[str, str]] = raw.get("traceContext")
        self._span: "_Span" = _NO_SPAN
        self._worker = worker
        # True once the outcome is decided (reported, or the job was stopped): guarded by the
        # worker's lock, so a job is reported at most once.
        self._done = False
        self._timer: Optional[threading.Timer] = None

    def progress(self, percent: float, message: Optional[str] = None) -> bool:
        """Reports progress (0-100). False if the job is no longer ours (it is then stopped)."""
        return self._worker._progress(self, percent, message)

    def trace_headers(self) -> Dict[str, str]:
        """W3C headers for the handler's own outgoing calls: they join the job's trace, under this attempt."""
        return self._span.headers(self.trace_context)

    def __repr__(self) -> str:
        return f"Job({self.id} {self.type} attempt {self.attempt}/{self.max_attempts})"


Handler = Callable[[Job], Any]


# ---- the worker ------------------------------------------------------------------------------


class Worker:
    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        queues: Optional[List[str]] = None,
        concurrency: Optional[int] = None,
        name: Optional[str] = None,
        grace_seconds: Optional[float] = None,
        heartbeat_seconds: Optional[float] = None,
        wait_ms: int = 30_000,
    ):
        env = os.environ
        self.url = (env.get("DOCKET_URL") or url or "http://127.0.0.1:8080").rstrip("/")
        self.token = env.get("DOCKET_TOKEN") or token or None
        self.queues = _split(env.get("DOCKET_QUEUES")) or queues or ["default"]
        self.concurrency = _int_setting("DOCKET_CONCURRENCY", env.get("DOCKET_CONCURRENCY"), concurrency or 4)
        self.name = env.get("DOCKET_WORKER_NAME") or name or f"python-{socket.gethostname()}-{os.getpid()}"
        self.grace_seconds = _float_setting("DOCKET_GRACE_SECONDS", env.get("DOCKET_GRACE_SECONDS"), 10.0 if grace_seconds is None else grace_seconds)
        self.heartbeat_seconds = _float_setting("DOCKET_HEARTBEAT_SECONDS", env.get("DOCKET_HEARTBEAT_SECONDS"), 10.0 if heartbeat_seconds is None else heartbeat_seconds)
        self.wait_ms = max(0, min(MAX_WAIT_MS, wait_ms))
        self._tracer: Optional["_Tracer"] = None
        self.handlers: Dict[str, Handler] = {}
        self.worker_id: Optional[str] = None

        self._lock = threading.Condition()
        self._held: Dict[str, Job] = {}  # jobs whose lease we hold: heartbeated until reported
        self._busy = 0  # pool threads running a handler (a stopped handler may still run)
        self._stopping = threading.Event()  # no more claims
        self._stop_requested = threading.Event()  # a signal came in
        self._grace_over = threading.Event()  # second signal: do not wait for running jobs
        self._fatal: Optional[int] = None  # exit code when the worker has to give up (token refused)
        self._claim_lock = threading.Lock()
        self._claim_conn: Optional[http.client.HTTPConnection] = None
        self._lease_seconds: Optional[float] = None
        self._heartbeat_wake = threading.Event()
        self._heartbeat_stop = threading.Event()
        self._tasks: "queue_module.Queue[Optional[Job]]" = queue_module.Queue()
        self._threads: List[threading.Thread] = []

    # -- registering handlers ---------------------------------------------------------------

    def _tracing(self) -> "_Tracer":
        if self._tracer is None:
            self._tracer = _Tracer.from_env()
        return self._tracer

    def handler(self, job_type: str) -> Callable[[Handler], Handler]:
        """Decorator: `@worker.handler("resize")` runs the function for jobs of type "resize"."""

        def register(fn: Handler) -> Handler:
            self.handlers[job_type] = fn
            return fn

        return register

    # -- running ------------------------------------------------------------------------------

    def main(self, argv: Optional[List[str]] = None) -> None:
        """Parses command-line flags, runs until SIGTERM/SIGINT and exits the process."""
        parser = argparse.ArgumentParser(description=f"Docket worker for job types: {', '.join(sorted(self.handlers)) or '(none)'}")
        parser.add_argument("--url", help=f"server URL (env DOCKET_URL; now {self.url})")
        parser.add_argument("--queues", help=f"queues to serve, comma-separated (env DOCKET_QUEUES; now {','.join(self.queues)})")
        parser.add_argument("--concurrency", type=int, help=f"jobs run at once (env DOCKET_CONCURRENCY; now {self.concurrency})")
        parser.add_argument("--name", help=f"worker name shown by GET /v1/workers (env DOCKET_WORKER_NAME; now {self.name})")
        parser.add_argument("--grace", type=float, help=f"seconds running jobs get to finish on shutdown (env DOCKET_GRACE_SECONDS; now {self.grace_seconds:g})")
        parser.add_argument("--heartbeat", type=float, help=f"seconds between heartbeats; a third of the server's lease at most (env DOCKET_HEARTBEAT_SECONDS; now {self.heartbeat_seconds:g})")
        parser.add_argument("--log-level", default=os.environ.get("DOCKET_LOG_LEVEL", "info"), help="debug, info, warning or error (env DOCKET_LOG_LEVEL)")
        args = parser.parse_args(argv)
        if args.url:
            self.url = args.url.rstrip("/")
        if args.queues:
            self.queues = _split(args.queues)
        if args.concurrency is not None:
            self.concurrency = args.concurrency
        if args.name:
            self.name = args.name
        if args.grace is not None:
            self.grace_seconds = args.grace
        if args.heartbeat is not None:
            self.heartbeat_seconds = args.heartbeat
        if self.concurrency < 1:
            parser.error("--concurrency must be at least 1")
        if self.heartbeat_seconds <= 0:
            parser.error("--heartbeat must be above 0")
        _setup_logging(args.log_level)
        sys.exit(self.run())

    def run(self) -> int:
        """Registers, serves jobs until SIGTERM/SIGINT (or stop()), shuts down; returns an exit code."""
        _setup_logging(os.environ.get("DOCKET_LOG_LEVEL", "info"))
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            log.error("the server URL %r is not an http(s) URL (DOCKET_URL or --url)", self.url)
            return EXIT_USAGE
        try:
            self._register()
        except ServerUnreachable as exc:
            log.error("cannot reach Docket at %s (%s): is `docket server` running there? Set DOCKET_URL or --url.", self.url, exc)
            return EXIT_UNREACHABLE
        except ApiError as exc:
            if exc.auth:
                log.error("%s", self._auth_message(exc))
                return EXIT_AUTH
            log.error("Docket at %s refused the registration: %s", self.url, exc)
            return EXIT_USAGE
        log.info(
            "worker %s registered as %s at %s: queues %s, concurrency %d, job types %s",
            self.name, self.worker_id, self.url, ",".join(self.queues), self.concurrency, ", ".join(sorted(self.handlers)) or "(none)",
        )

        self._heartbeat_seconds = max(0.05, self.heartbeat_seconds)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        for i in range(self.concurrency):
            self._start_thread(self._slot_loop, f"docket-slot-{i + 1}")
        claimer = self._start_thread(self._claim_loop, "docket-claim")
        beater = self._start_thread(self._heartbeat_loop, "docket-heartbeat")

        while not self._stop_requested.wait(0.5):
            pass
        self._shutdown(claimer, beater)
        return self._fatal if self._fatal is not None else EXIT_OK

    def stop(self) -> None:
        """Asks run() to shut down, as SIGTERM does."""
        self._stop_requested.set()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self._stop_requested.is_set():
            log.info("%s again: releasing running jobs now", name)
            self._grace_over.set()
            return
        log.info("%s received: no more claims; running jobs get %gs to finish, then are released", name, self.grace_seconds)
        self._stop_requested.set()

    def _start_thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        # Daemon threads: a handler that ignores `stopped` cannot hold the process open forever.
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)
        return t

    # -- claiming -----------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        pause = 1.0
        path = "/v1/queues/" + ",".join(urllib.parse.quote(q, safe=":") for q in self.queues) + "/claim"
        while not self._stopping.is_set():
            with self._lock:
                while self._busy >= self.concurrency and not self._stopping.is_set():
                    self._lock.wait(0.5)
                free = self.concurrency - self._busy
            if self._stopping.is_set():
                break
            try:
                reply = self._claim(path, free)
                pause = 1.0
            except (ServerUnreachable, ApiError) as exc:
                if self._stopping.is_set():
                    break  # the long-poll was cut short on purpose
                if isinstance(exc, ApiError) and exc.auth:
                    self._give_up(exc)
                    break
                log.warning("claim failed (%s); retrying in %.0fs", exc, pause)
                self._stopping.wait(pause)
                pause = min(pause * 2, 15.0)
                continue
            for raw in reply.get("jobs", []):
                self._accept(raw)

    def _claim(self, path: str, free: int) -> Dict[str, Any]:
        body = {"workerId": self.worker_id, "max": max(1, min(1000, free)), "waitMs": self.wait_ms}
        conn = self._connection(timeout=self.wait_ms / 1000 + 15)
        # The connection is kept where shutdown can cut the long-poll short (the server then gives
        # back any job it had picked for this request). Checked again once connected: shutdown
        # may have come while the socket did not exist yet.
        with self._claim_lock:
            if self._stopping.is_set():
                return {"jobs": []}
            self._claim_conn = conn
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise ServerUnreachable(str(exc)) from exc
            with self._claim_lock:
                if self._stopping.is_set():
                    conn.close()
                    return {"jobs": []}
            return self._request("POST", path, body, conn=conn)
        finally:
            with self._claim_lock:
                self._claim_conn = None

    def _accept(self, raw: Dict[str, Any]) -> None:
        job = Job(raw, self)
        self._learn_lease(raw)
        with self._lock:
            self._held[job.id] = job
            self._busy += 1
        log.info("job %s (%s) claimed, attempt %d/%d", job.id, job.type, job.attempt, job.max_attempts)
        self._tasks.put(job)

    def _learn_lease(self, raw: Dict[str, Any]) -> None:
        """The lease time is not announced; a claimed job shows it (both times are the server's).

        The server also counts a worker silent for that long as lost and gives its jobs back, so
        heartbeats must come well within it even when no job runs.
        """
        if self._lease_seconds is not None:
            return
        try:
            lease = (_parse_time(raw["leaseExpiresAt"]) - _parse_time(raw["startedAt"])).total_seconds()
        except (KeyError, TypeError, ValueError):
            return
        if lease <= 0:
            return
        self._lease_seconds = lease
        if self._heartbeat_seconds > lease / 3:
            self._heartbeat_seconds = max(0.05, lease / 3)
            self._heartbeat_wake.set()  # the heartbeat thread may be sleeping out the longer default
        log.info("server lease is %gs: heartbeat every %gs", lease, self._heartbeat_seconds)

    # -- running handlers ---------------------------------------------------------------------

    def _slot_loop(self) -> None:
        while True:
            job = self._tasks.get()
            if job is None:
                return
            try:
                self._execute(job)
            except Exception:  # a bug here must not kill the slot
                log.exception("job %s: unexpected worker error", job.id)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._lock.notify_all()

    def _execute(self, job: Job) -> None:
        job._span = self._tracing().start(job, self.worker_id or "")
        fn = self.handlers.get(job.type)
        if fn is None:
            self._report_failure(job, f'no handler for job type "{job.type}" on worker {self.name}', "no_handler", retryable=False)
            return
        if job.timeout_ms:
            job._timer = threading.Timer(job.timeout_ms / 1000, self._time_out, args=(job,))
            job._timer.daemon = True
            job._timer.start()
        started = time.monotonic()
        try:
            result = fn(job)
        except PermanentError as exc:
            if not job._done:
                job._span.error(exc, exc.code or "permanent")
            self._report_failure(job, str(exc) or "PermanentError", exc.code or "permanent", retryable=False, started=started)
        except Exception as exc:
            code = getattr(exc, "code", None)
            code = code if isinstance(code, str) and code else type(exc).__name__
            if not job._done:
                job._span.error(exc, code)
            self._report_failure(job, _describe(exc), code, retryable=True, started=started)
            log.debug("job %s traceback", job.id, exc_info=True)
        else:
            self._report_success(job, result, started)
        finally:
            if job._timer:
                job._timer.cancel()

    def _claim_outcome(self, job: Job) -> bool:
        """Decides the job's outcome once. False: it was stopped first, so its outcome is dropped."""
        with self._lock:
            if job._done:
                stopped = True
            else:
                job._done = True
                stopped = False
        if stopped:
            log.info("job %s (%s) %s: its handler has stopped, its outcome is dropped", job.id, job.type, _reason_text(job.stop_reason))
            job._span.end(_STOPPED_OUTCOME.get(job.stop_reason or "", "cancelled"))
        return not stopped

    def _report_success(self, job: Job, result: Any, started: float) -> None:
        if not self._claim_outcome(job):
            return
        body: Dict[str, Any] = {"leaseToken": job.lease_token}
        if result is not None:
            try:
                _dumps(result)
            except (TypeError, ValueError) as exc:
                self._send_failure(job, f"the handler returned something that is not JSON: {exc}", "bad_result", False)
                return
            body["result"] = result
        try:
            reply = self._report(job, "complete", body)
        except ApiError as exc:
            if exc.status in (400, 413):  # e.g. a result over the server's size limit
                self._send_failure(job, f"the server refused the result: {exc}", "bad_result", False)
                return
            job._span.end("not_recorded")
            raise
        else:
            job._span.end("succeeded" if reply is not None else "not_recorded")
            log.info("job %s (%s) succeeded in %s", job.id, job.type, _elapsed(started))

    def _report_failure(self, job: Job, message: str, code: str, retryable: bool, started: Optional[float] = None) -> None:
        if not self._claim_outcome(job):
            return
        self._send_failure(job, message, code, retryable, started)

    def _send_failure(self, job: Job, message: str, code: str, retryable: bool, started: Optional[float] = None) -> None:
        body = {
            "leaseToken": job.lease_token,
            "error": {"message": message[:MAX_ERROR_MESSAGE], "code": code[:MAX_ERROR_CODE]},
            "retryable": retryable,
        }
        try:
            reply = self._report(job, "fail", body)
        except Exception:
            job._span.end("not_recorded")
            raise
        job._span.settle_failure(reply)
        if reply is None:
            return
        after = {"retrying": "will retry", "failed": "failed for good"}.get(reply.get("state"), reply.get("state"))
        took = f" after {_elapsed(started)}" if started is not None else ""
        log.warning("job %s (%s) attempt %d/%d failed%s: %s (%s)", job.id, job.type, job.attempt, job.max_attempts, took, message, after)

    def _report(self, job: Job, action: str, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Sends an outcome; retries while the server is unreachable (the lease is still heartbeated).

        Returns the job's new view, or None when the job is no longer ours (409 stale lease, 404).
        """
        delay = 0.5
        try:
            for attempt in range(6):
                try:
                    return self._request("POST", f"/v1/jobs/{_q(job.id)}/{action}", body)
                except ServerUnreachable as exc:
                    if attempt == 5:
                        log.error("job %s: could not %s it (%s); the server reruns it when the lease runs out", job.id, action, exc)
                        return None
                    time.sleep(delay)
                    delay *= 2
                except ApiError as exc:
                    if exc.status in (404, 409):
                        log.info("job %s (%s): %s not recorded, the job is no longer ours (%s)", job.id, job.type, action, exc.problem.get("detail", exc))
                        return None
                    if exc.auth:
                        self._give_up(exc)
                        return None
                    if exc.status >= 500 and attempt < 5:
                        time.sleep(delay)
                        delay *= 2
                        continue
                    raise
            return None
        finally:
            with self._lock:
                self._held.pop(job.id, None)
                self._lock.notify_all()

    def _progress(self, job: Job, percent: float, message: Optional[str]) -> bool:
        if job.stopped.is_set():
            return False
        body: Dict[str, Any] = {"leaseToken": job.lease_token, "percent": max(0, min(100, percent))}
        if message is not None:
            body["message"] = message[:1000]
        try:
            self._request("POST", f"/v1/jobs/{_q(job.id)}/progress", body)
            return True
        except ApiError as exc:
            if exc.status in (404, 409):
                self._lost(job)
                return False
            log.warning("job %s: progress not recorded (%s)", job.id, exc)
            return True
        except ServerUnreachable as exc:
            log.warning("job %s: progress not recorded (%s)", job.id, exc)
            return True

    def _time_out(self, job: Job) -> None:
        with self._lock:
            if job._done:
                return
            job._done = True
            job.stop_reason = "timeout"
        job.stopped.set()
        job._span.error(TimeoutError(f"job timed out after {job.timeout_ms} ms"), "timeout")
        self._send_failure(job, f"job timed out after {job.timeout_ms} ms", "timeout", True)

    def _stop_job(self, job: Job, reason: str) -> bool:
        """Tells a running handler to stop and forgets the lease. False if already decided."""
        with self._lock:
            if job._done:
                return False
            job._done = True
            job.stop_reason = reason
            self._held.pop(job.id, None)
            self._lock.notify_all()
        job._span.event("docket.job." + _STOPPED_OUTCOME.get(reason, reason))
        job.stopped.set()
        return True

    # -- heartbeats ---------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        while True:
            self._heartbeat_wake.wait(self._heartbeat_seconds)
            self._heartbeat_wake.clear()
            if self._heartbeat_stop.is_set():
                return
            with self._lock:
                # Jobs whose outcome is being sent stay held: their lease must last until it arrives.
                held = list(self._held.values())
                worker_id = self.worker_id
            body = {"jobs": [{"id": j.id, "leaseToken": j.lease_token} for j in held]}
            try:
                reply = self._request("POST", f"/v1/workers/{_q(worker_id or '')}/heartbeat", body)
            except ApiError as exc:
                if exc.status == 404:
                    # The server restarted and forgot its workers (the list is in memory); the
                    # leases are in its store and still hold. Register again and carry on.
                    log.warning("server no longer knows worker %s: registering again", worker_id)
                    try:
                        self._register()
                        self._heartbeat_wake.set()
                    except DocketError as again:
                        log.warning("registering again failed (%s)", again)
                elif exc.auth:
                    self._give_up(exc)
                else:
                    log.warning("heartbeat failed (%s)", exc)
                continue
            except ServerUnreachable as exc:
                log.warning("heartbeat failed (%s); leases run out %s if the server stays away", exc, f"{self._lease_seconds:g}s after the last heartbeat" if self._lease_seconds else "eventually")
                continue
            by_id = {j.id: j for j in held}
            cancelled = reply.get("cancelled")  # newer servers say which of `lost` were cancelled
            for job_id in reply.get("lost", []):
                job = by_id.get(job_id)
                if job is not None:
                    self._lost(job, None if cancelled is None else "cancelled" if job_id in cancelled else "lease_lost")

    def _lost(self, job: Job, reason: Optional[str] = None) -> None:
        """The job is no longer ours: stop its handler. Without a reason, the job's state tells."""
        if job._done:
            return
        if reason is None:
            try:
                state = self._request("GET", f"/v1/jobs/{_q(job.id)}").get("state")
            except DocketError:
                state = None
            reason = "cancelled" if state == "cancelled" else "lease_lost"
        if self._stop_job(job, reason):
            log.info("job %s (%s) %s: telling its handler to stop", job.id, job.type, _reason_text(reason))

    # -- registration and shutdown ------------------------------------------------------------

    def _register(self) -> None:
        reply = self._request("POST", "/v1/workers", {"queues": self.queues, "capacity": self.concurrency, "name": self.name[:128]})
        with self._lock:
            self.worker_id = reply["id"]

    def _give_up(self, exc: ApiError) -> None:
        if self._fatal is None:
            log.error("%s; shutting down", self._auth_message(exc))
            self._fatal = EXIT_AUTH
        self._stop_requested.set()

    def _auth_message(self, exc: ApiError) -> str:
        what = "the token in DOCKET_TOKEN" if self.token else "the request: it needs a token, set DOCKET_TOKEN"
        return f"Docket at {self.url} refused {what} ({exc})"

    def _shutdown(self, claimer: threading.Thread, beater: threading.Thread) -> None:
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()
        with self._claim_lock:
            conn = self._claim_conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)  # ends the long-poll now
            except OSError:
                pass
        claimer.join(5)

        deadline = time.monotonic() + self.grace_seconds
        with self._lock:
            while self._held and time.monotonic() < deadline and not self._grace_over.is_set():
                self._lock.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            leftover = [j for j in self._held.values() if not j._done]
        for job in leftover:
            if self._stop_job(job, "shutdown"):
                try:
                    self._request("POST", f"/v1/jobs/{_q(job.id)}/release", {"leaseToken": job.lease_token})
                    log.info("job %s (%s) released: it goes back to the queue without counting the attempt", job.id, job.type)
                except DocketError as exc:
                    log.warning("job %s: release failed (%s); it reruns when its lease runs out", job.id, exc)
        # Outcomes still being sent get a moment to arrive.
        with self._lock:
            end = time.monotonic() + 5
            while self._held and time.monotonic() < end:
                self._lock.wait(0.1)

        self._heartbeat_stop.set()
        self._heartbeat_wake.set()
        beater.join(5)
        for _ in range(self.concurrency):
            self._tasks.put(None)
        if self._tracer is not None:
            self._tracer.shutdown()
        if self.worker_id:
            try:
                self._request("DELETE", f"/v1/workers/{_q(self.worker_id)}")
                log.info("worker %s (%s) unregistered; bye", self.name, self.worker_id)
            except ApiError as exc:
                if exc.status != 404:
                    log.warning("unregister failed (%s)", exc)
            except ServerUnreachable as exc:
                log.warning("unregister failed (%s)", exc)

    # -- HTTP ---------------------------------------------------------------------------------

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        parts = urllib.parse.urlsplit(self.url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return cls(parts.hostname, parts.port, timeout=timeout)

    def _request(self, method: str, path: str, body: Any = None, conn: Optional[http.client.HTTPConnection] = None) -> Dict[str, Any]:
        """One request; returns the parsed JSON reply ({} for 204). Raises ApiError or ServerUnreachable."""
        headers = {"Accept": "application/json", "User-Agent": "docket-worker-python/0.1"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = _dumps(body)
            headers["Content-Type"] = "application/json"
        conn = conn or self._connection(timeout=30)
        prefix = urllib.parse.urlsplit(self.url).path.rstrip("/")
        try:
            conn.request(method, prefix + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ServerUnreachable(str(exc) or type(exc).__name__) from exc
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"detail": raw[:200].decode("utf-8", "replace")}
        if resp.status >= 400:
            raise ApiError(resp.status, parsed if isinstance(parsed, dict) else {"detail": str(parsed)})
        return parsed


# ---- tracing (docs/tracing.md) ----------------------------------------------------------------

#: How a handler stopped by the worker ends its span.
_STOPPED_OUTCOME = {"cancelled": "cancelled", "lease_lost": "lease_lost", "shutdown": "released", "timeout": "timeout"}


class _Span:
    """One attempt's `process <queue>` span (OTLP JSON); this base class records nothing."""

    def headers(self, carried: Optional[Dict[str, str]]) -> Dict[str, str]:
        # Not recording: pass the job's own context on, unchanged.
        return {k: v for k, v in (carried or {}).items() if k in ("traceparent", "tracestate") and isinstance(v, str)}

    def event(self, name: str, attributes: Optional[Dict[str, Any]] = None) -> None:
        pass

    def error(self, exc: BaseException, code: str) -> None:
        pass

    def settle_failure(self, reply: Optional[Dict[str, Any]]) -> None:
        pass

    def end(self, outcome: str) -> None:
        pass


_NO_SPAN = _Span()


def _now_ns() -> int:
    return time.time_ns()


def _attr(key: str, value: Any) -> Dict[str, Any]:
    if isinstance(value, bool):
        v: Dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": str(value)}
    return {"key": key, "value": v}


class _RecordingSpan(_Span):
    def __init__(self, tracer: "_Tracer", job: Job, worker_id: str):
        self._tracer = tracer
        parent = _parse_traceparent((job.trace_context or {}).get("traceparent"))
        self.trace_id = parent[0] if parent else os.urandom(16).hex()
        self.span_id = os.urandom(8).hex()
        self.flags = parent[2] if parent else 1
        self.tracestate = (job.trace_context or {}).get("tracestate") if parent else None
        started = _parse_time(job.raw["startedAt"]).timestamp() if job.raw.get("startedAt") else time.time()
        due = _parse_time(job.raw["runAt"]).timestamp() if job.raw.get("runAt") else started
        self._lock = threading.Lock()
        self._ended = False
        self._span: Dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "name": f"process {job.queue}",
            "kind": 5,  # CONSUMER
            "startTimeUnixNano": str(_now_ns()),
            "attributes": [
                _attr("messaging.system", "docket"),
                _attr("messaging.operation.type", "process"),
                _attr("messaging.operation.name", "process"),
                _attr("messaging.operation", "process"),
                _attr("messaging.destination.name", job.queue),
                _attr("messaging.message.id", job.id),
                _attr("messaging.message.conversation_id", job.raw.get("linkId", "")),
                _attr("docket.job.type", job.type),
                _attr("docket.tenant", job.raw.get("tenant", "")),
                _attr("docket.job.attempt", job.attempt),
                _attr("docket.job.max_attempts", job.max_attempts),
                _attr("docket.job.wait_ms", max(0, int((started - due) * 1000))),
                _attr("docket.worker.id", worker_id),
            ],
            "events": [],
            "links": [],
            "status": {},
        }
        if parent:
            self._span["parentSpanId"] = parent[1]
            self._span["links"].append({"traceId": parent[0], "spanId": parent[1]})

    def headers(self, carried: Optional[Dict[str, str]]) -> Dict[str, str]:
        out = {"traceparent": f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"}
        if self.tracestate:
            out["tracestate"] = self.tracestate
        return out

    def event(self, name: str, attributes: Optional[Dict[str, Any]] = None) -> None:
        with self._lock:
            self._span["events"].append({"name": name, "timeUnixNano": str(_now_ns()), "attributes": [_attr(k, v) for k, v in (attributes or {}).items()]})

    def error(self, exc: BaseException, code: str) -> None:
        self.event("exception", {"exception.type": type(exc).__name__, "exception.message": str(exc)})
        with self._lock:
            self._span["status"] = {"code": 2, "message": str(exc)[:1000]}  # ERROR
            self._span["attributes"].append(_attr("error.type", code))

    def settle_failure(self, reply: Optional[Dict[str, Any]]) -> None:
        state = (reply or {}).get("state")
        if reply is None:
            self.end("not_recorded")
        elif state == "retrying":
            self.event("docket.job.retry", {"docket.job.next_attempt": int(reply.get("attempt", 0)) + 1, "docket.job.next_attempt_at": reply.get("runAt", "")})
            self.end("retrying")
        elif state == "blocked":
            self.event("docket.job.parked", {"docket.recovery.condition": reply.get("condition") or ""})
            self.end("blocked")
        elif state == "failed":
            self.event("docket.job.failed", {"docket.job.state_reason": reply.get("stateReason") or ""})
            self.end("failed")
        else:
            self.end(state or "error")

    def end(self, outcome: str) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._span["attributes"].append(_attr("docket.job.outcome", outcome))
            self._span["endTimeUnixNano"] = str(_now_ns())
        self._tracer.add(self._span)


class _Tracer:
    """Attempt spans exported in batches over OTLP/HTTP JSON, by a background thread."""

    def __init__(self, endpoint: Optional[str], service: str, delay_seconds: float):
        self.endpoint = endpoint
        self.service = service
        self._delay = delay_seconds
        self._spans: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread: Optional[threading.Thread] = None
        if endpoint:
            self._thread = threading.Thread(target=self._loop, name="docket-otlp", daemon=True)
            self._thread.start()

    @staticmethod
    def from_env() -> "_Tracer":
        env = os.environ
        exporter = (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
        base = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").rstrip("/") + "/v1/traces" if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "")
        on = env.get("OTEL_SDK_DISABLED", "").strip().lower() != "true" and exporter != "none" and (exporter == "otlp" or (not exporter and base))
        if not on:
            return _Tracer(None, "", 0)
        endpoint = base or "http://localhost:4318/v1/traces"
        delay = _int_setting("OTEL_BSP_SCHEDULE_DELAY", env.get("OTEL_BSP_SCHEDULE_DELAY"), 5000) / 1000
        log.info("tracing on: attempt spans go to %s (OTLP/HTTP JSON)", endpoint)
        return _Tracer(endpoint, env.get("OTEL_SERVICE_NAME") or "docket-worker-python", delay)

    def start(self, job: Job, worker_id: str) -> _Span:
        if not self.endpoint:
            return _NO_SPAN
        parent = _parse_traceparent((job.trace_context or {}).get("traceparent"))
        if parent and not parent[2] & 1:
            return _NO_SPAN  # the submit was not sampled: neither is its attempt (parent-based)
        return _RecordingSpan(self, job, worker_id)

    def add(self, span: Dict[str, Any]) -> None:
        with self._lock:
            self._spans.append(span)

    def shutdown(self) -> None:
        """Exports what is left, then stops."""
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._delay)
            stopping = self._stop
            self._export()
            if stopping:
                return

    def _export(self) -> None:
        with self._lock:
            spans, self._spans = self._spans, []
        if not spans or not self.endpoint:
            return
        body = {"resourceSpans": [{
            "resource": {"attributes": [_attr("service.name", self.service), _attr("telemetry.sdk.language", "python")]},
            "scopeSpans": [{"scope": {"name": "docket_worker"}, "spans": spans}],
        }]}
        parts = urllib.parse.urlsplit(self.endpoint)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.hostname, parts.port, timeout=10)
        try:
            conn.request("POST", parts.path or "/v1/traces", body=_dumps(body), headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 300:
                log.warning("tracing: the OTLP endpoint answered %d; %d spans dropped", resp.status, len(spans))
        except (OSError, http.client.HTTPException) as exc:
            log.warning("tracing: could not export %d spans (%s)", len(spans), exc)
        finally:
            conn.close()


def _parse_traceparent(value: Any) -> Optional[tuple]:
    """(trace id, span id, flags) of a valid W3C traceparent, else None."""
    if not isinstance(value, str):
        return None
    parts = value.strip().lower().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None
    try:
        int(parts[1], 16), int(parts[2], 16)
        flags = int(parts[3], 16)
    except ValueError:
        return None
    if parts[0] == "ff" or set(parts[1]) == {"0"} or set(parts[2]) == {"0"}:
        return None
    return parts[1], parts[2], flags


# ---- helpers ---------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    # allow_nan=False: NaN and Infinity are not JSON and the server would refuse the whole body.
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _q(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _split(raw: Optional[str]) -> List[str]:
    return [q.strip() for q in (raw or "").split(",") if q.strip()]


def _int_setting(name: str, raw: Optional[str], fallback: int) -> int:
    if raw in (None, ""):
        return fallback
    try:
        value = int(raw)  # type: ignore[arg-type]
    except ValueError:
        value = 0
    if value < 1:
        _bad_setting(f"{name}={raw}: must be a whole number of at least 1")
    return value


def _float_setting(name: str, raw: Optional[str], fallback: float) -> float:
    if raw in (None, ""):
        return fallback
    try:
        value = float(raw)  # type: ignore[arg-type]
    except ValueError:
        value = -1
    if value < 0:
        _bad_setting(f"{name}={raw}: must be a number of seconds")
    return value


def _bad_setting(message: str) -> None:
    print(f"docket-worker: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def _parse_time(iso: str) -> datetime:
    # Docket sends 2026-01-02T03:04:05.678Z; fromisoformat reads a trailing Z only from 3.11.
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _elapsed(started: Optional[float]) -> str:
    if started is None:
        return "?"
    ms = (time.monotonic() - started) * 1000
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _reason_text(reason: Optional[str]) -> str:
    return {
        "cancelled": "was cancelled",
        "lease_lost": "lost its lease",
        "timeout": "timed out",
        "shutdown": "was released for shutdown",
    }.get(reason or "", "was stopped")


class _UtcFormatter(logging.Formatter):
    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: Optional[str] = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"


def _setup_logging(level: str) -> None:
    """One line per event on stderr, unless the program configured logging itself."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_UtcFormatter("%(asctime)s docket-worker %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
