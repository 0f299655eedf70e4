"""A grid search scaled out on a dask cluster gives the local result."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from sklocalize import LocalizerEstimator
from sklocalize.parallel import set_torch_threads

from ._helpers import TINY_MODULE, tiny_localization


def test_set_torch_threads():
    before = torch.get_num_threads()
    try:
        assert set_torch_threads(1) == 1 and torch.get_num_threads() == 1
        assert set_torch_threads(None) >= 1
        with pytest.raises(ValueError, match="n_threads must be a positive int"):
            set_torch_threads(0)
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_grid_search_on_a_local_dask_cluster_matches_local_run():
    distributed = pytest.importorskip(
        "distributed", reason="the 'distributed' extra (dask) is not installed")
    import joblib

    from sklocalize.parallel import limit_worker_threads

    X, y = tiny_localization(n=24)
    grid = {"lr": [1e-7, 3e-3], "box_weight": [1.0, 5.0]}
    est = LocalizerEstimator(max_epochs=2, random_state=0, batch_size=8,
                             **TINY_MODULE)
    local = GridSearchCV(est, grid, cv=KFold(2)).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            threads = limit_worker_threads(client)
            assert sorted(threads.values()) == [1, 1]
            with joblib.parallel_backend("dask"):
                remote = GridSearchCV(est, grid, cv=KFold(2), n_jobs=-1).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], atol=1e-3)
