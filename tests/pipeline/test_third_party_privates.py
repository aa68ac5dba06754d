"""pynndescent's private API that skage.pipeline._records relies on: fails when an upgrade changes it."""

import numpy as np
import pytest

from skage.pipeline._records import _indexed_embeddings

pynndescent = pytest.importorskip("pynndescent")


def test_nndescent_keeps_its_data_and_order_where_records_read_them():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 4)).astype(np.float32)
    index = pynndescent.NNDescent(data, n_neighbors=5, random_state=0)
    assert hasattr(index, "_raw_data")
    np.testing.assert_array_equal(_indexed_embeddings(index), data)
    index.prepare()  # permutes _raw_data and records the permutation in _vertex_order
    assert hasattr(index, "_vertex_order")
    np.testing.assert_array_equal(_indexed_embeddings(index), data)
