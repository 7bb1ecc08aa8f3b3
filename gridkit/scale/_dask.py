"""Where dask work runs: one client context and a progress-reporting map (private).

Every distributed entry point of gridkit takes the same ``scheduler``
argument and goes through :func:`client` / :func:`run_tasks`, so that a
laptop (a ``LocalCluster`` started for the call), an existing cluster (a
``distributed.Client`` or a scheduler address) and the plain dask schedulers
(``"synchronous"``, ``"threads"``, ``"processes"``, handy in tests) behave
the same.
"""

from __future__ import annotations

from contextlib import contextmanager

from gridkit.progress import progress

#: dask's own (non-distributed) scheduler names accepted as ``scheduler``.
LOCAL_SCHEDULERS = ("synchronous", "sync", "single-threaded", "threads", "processes")


def check_scheduler(scheduler) -> None:
    """Raise TypeError early for a ``scheduler`` no dask entry point accepts."""
    if scheduler is None or isinstance(scheduler, str):
        return
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a core dependency
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
        # ":0": any free port (None still binds 8787 and warns when it is taken)
        cluster = LocalCluster(dashboard_address=":0")
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


_NO_SHARED = object()


def run_tasks(
    func, items: list, scheduler, *, desc: str, unit: str = "task", shared=_NO_SHARED
) -> list:
    """``[func(x) for x in items]`` on dask, in order, with a progress bar.

    ``scheduler`` as for :func:`client`, or one of :data:`LOCAL_SCHEDULERS`.
    An item may be plain data (scattered straight to the workers, not through
    the scheduler) or a dask ``Delayed`` (e.g. a partition of a dask-geopandas
    frame, read by the worker itself). ``shared``, when given, is passed as
    the second argument of every call and sent once to every worker (a
    broadcast), not once per task.
    """
    check_scheduler(scheduler)
    import dask

    extra = () if shared is _NO_SHARED else (shared,)
    if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
        tasks = [dask.delayed(func, pure=False)(x, *extra) for x in items]
        return list(dask.compute(*tasks, scheduler=scheduler))
    with client(scheduler) as c:
        from distributed import as_completed

        if extra:
            extra = (c.scatter(shared, broadcast=True, hash=False),)
        lazy = [i for i, x in enumerate(items) if dask.is_dask_collection(x)]
        plain = [i for i, x in enumerate(items) if not dask.is_dask_collection(x)]
        futures: list = [None] * len(items)
        if plain:
            sent = c.scatter([items[i] for i in plain], hash=False)
            for i, f in zip(plain, sent, strict=True):
                futures[i] = c.submit(func, f, *extra, pure=False)
        if lazy:
            done_lazy = c.compute([dask.delayed(func, pure=False)(items[i], *extra)
                                   for i in lazy])
            for i, f in zip(lazy, done_lazy, strict=True):
                futures[i] = f
        results = {}
        bar = progress(desc=desc, total=len(futures), unit=unit)
        for fut in as_completed(futures):
            results[fut.key] = fut.result()
            fut.release()
            bar.update(1)
        bar.close()
        return [results[f.key] for f in futures]
