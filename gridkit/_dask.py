"""Where dask work runs: one client context and a progress-reporting map (private).

Every distributed entry point of gridkit takes the same ``scheduler``
argument and goes through :func:`client` / :func:`run_tasks`, so that a
laptop (a ``LocalCluster`` started for the call), an existing cluster (a
``distributed.Client`` or a scheduler address) and the plain dask schedulers
(``"synchronous"``, ``"threads"``, ``"processes"``, handy in tests) behave
the same. Requires the ``scale`` extra (``dask[distributed]``).
"""

from __future__ import annotations

from contextlib import contextmanager

from gridkit._progress import progress

#: dask's own (non-distributed) scheduler names accepted as ``scheduler``.
LOCAL_SCHEDULERS = ("synchronous", "sync", "single-threaded", "threads", "processes")


def check_scheduler(scheduler) -> None:
    """Raise TypeError early for a ``scheduler`` no dask entry point accepts."""
    if scheduler is None or isinstance(scheduler, str):
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the scale extra is missing
        Client = ()
    if Client and isinstance(scheduler, Client):
        return
    raise TypeError(
        "scheduler must be None (a local cluster), a distributed.Client, a scheduler "
        f"address or a dask scheduler name, got {type(scheduler).__name__}"
    )


@contextmanager
def client(scheduler):
    """A ``distributed.Client`` for ``scheduler`` (None: a new LocalCluster, closed after).

    A Client passed in is used as is and left open; an address is connected
    to and the connection closed afterwards.
    """
    check_scheduler(scheduler)
    from distributed import Client, LocalCluster

    if scheduler is None:
        cluster = LocalCluster(dashboard_address=None)
        c = Client(cluster)
        try:
            yield c
        finally:
            c.close()
            cluster.close()
    elif isinstance(scheduler, Client):
        yield scheduler
    else:
        c = Client(scheduler)
        try:
            yield c
        finally:
            c.close()


def run_tasks(func, items: list, scheduler, *, desc: str, unit: str = "task") -> list:
    """``[func(x) for x in items]`` on dask, in order, with a progress bar.

    ``scheduler`` as for :func:`client`, or one of :data:`LOCAL_SCHEDULERS`.
    """
    check_scheduler(scheduler)
    if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
        import dask

        tasks = [dask.delayed(func)(x) for x in items]
        return list(dask.compute(*tasks, scheduler=scheduler))
    with client(scheduler) as c:
        from distributed import as_completed

        futures = c.map(func, items, pure=False)
        done = {}
        bar = progress(desc=desc, total=len(futures), unit=unit)
        for fut in as_completed(futures):
            done[fut.key] = fut.result()
            bar.update(1)
        bar.close()
        return [done[f.key] for f in futures]
