"""Scaling a search out: torch threads per worker.

scikit-learn's searches run their fits in parallel with joblib. Locally
(``n_jobs=2``, the loky backend) joblib already caps each worker's OpenMP
threads at ``cpu_count // n_jobs``. On a dask cluster
(``joblib.parallel_backend("dask")``) nothing does: each worker process would
start torch with one thread per core of its machine, and several workers per
machine oversubscribe the cores. :func:`limit_worker_threads` sets torch's
thread count on every worker of a ``dask.distributed`` client.
"""

import os

import torch

__all__ = ["limit_worker_threads", "set_torch_threads"]


def set_torch_threads(n_threads):
    """Set this process's torch intra-op threads; return the number set.

    Parameters
    ----------
    n_threads : int or None
        None uses every core this process may run on.

    Returns
    -------
    n_threads : int
    """
    if n_threads is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
        n_threads = max(1, cores)
    if not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive int or None; got "
                         f"{n_threads!r}.")
    torch.set_num_threads(n_threads)
    return n_threads


def limit_worker_threads(client, n_threads=None):
    """Set torch's thread count on every dask worker.

    Parameters
    ----------
    client : dask.distributed.Client
    n_threads : int or None, default=None
        Threads per worker. None gives each worker the threads dask allotted it
        (``threads_per_worker``, the worker's ``nthreads``), so that workers
        sharing a machine share its cores.

    Returns
    -------
    threads : dict
        Worker address -> threads set.

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> client = Client(cluster)  # doctest: +SKIP
    >>> limit_worker_threads(client)  # doctest: +SKIP
    {'tcp://127.0.0.1:40001': 1, 'tcp://127.0.0.1:40002': 1}
    """
    result = {}
    for address, info in client.scheduler_info()["workers"].items():
        share = n_threads if n_threads is not None else max(1, info["nthreads"])
        result.update(client.run(set_torch_threads, share, workers=[address]))
    return result
