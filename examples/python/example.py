#!/usr/bin/env python3
"""An example Docket worker in Python: three job types on the `default` queue.

    python3 examples/python/example.py --url http://127.0.0.1:8080 --concurrency 4

    add    {"a": 1, "b": 2}           -> {"sum": 3}
    flaky  {"succeedOnAttempt": 3}    fails until that attempt (for ever without it)
    slow   {"seconds": 10}            sleeps in ten steps, reporting progress; stops when cancelled
"""

import numbers

from docket_worker import PermanentError, Worker

worker = Worker(name="python-example")


@worker.handler("add")
def add(job):
    a, b = (job.payload or {}).get("a"), (job.payload or {}).get("b")
    if not isinstance(a, numbers.Number) or not isinstance(b, numbers.Number):
        # Retrying cannot fix a bad payload: fail the job at once.
        raise PermanentError(f"add needs numbers a and b, got {job.payload!r}", code="bad_payload")
    return {"sum": a + b}


@worker.handler("flaky")
def flaky(job):
    succeed_on = (job.payload or {}).get("succeedOnAttempt")
    if succeed_on is not None and job.attempt >= succeed_on:
        return {"succeededOnAttempt": job.attempt}
    # Any exception fails the attempt; Docket retries with backoff while attempts are left.
    raise RuntimeError(f"flaky failed on attempt {job.attempt} of {job.max_attempts}")


@worker.handler("slow")
def slow(job):
    seconds = float((job.payload or {}).get("seconds", 10))
    for step in range(1, 11):
        # wait() returns True as soon as the job must stop: cancelled, lease lost, timed out or
        # the worker shutting down. The worker drops whatever a stopped handler returns.
        if job.stopped.wait(seconds / 10):
            return None
        job.progress(step * 10, f"step {step} of 10")
    return {"slept": seconds}


if __name__ == "__main__":
    worker.main()
