"""Speed and recall of the KNN index behind ``skage.refine.KNNAgeRefiner``.

Builds a pynndescent index over ``--n`` float32 embeddings of ``--dim``
dimensions, then measures batch queries per second and recall@k against exact
(brute-force) search, for a few index and query settings. The embeddings are a
Gaussian mixture on a low-dimensional latent space mapped linearly into
``--dim`` dimensions plus small isotropic noise: like CNN embeddings, they have
a low intrinsic dimension, so nearest neighbours are meaningful (pure
isotropic noise in 2048-d has no neighbour structure worth indexing).

The numba compile cost is measured in child processes: once with the on-disk
numba cache as it is (the normal case after the first use on a machine) and
once with an empty ``NUMBA_CACHE_DIR`` (a truly cold first use).

Usage::

    .venv/bin/python benchmarks/knn_speed.py --n 100000 --dim 2048
    .venv/bin/python benchmarks/knn_speed.py --n 20000 --dim 512 --quick
"""

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
from pynndescent import NNDescent
t1 = time.perf_counter()
X = np.random.default_rng(0).normal(size=(2000, 64)).astype(np.float32)
index = NNDescent(X, metric="{metric}", n_neighbors=15, random_state=0)
index.prepare()
index.query(X[:10], k=10)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def make_embeddings(n, dim, n_queries, latent_dim=32, n_clusters=200, seed=0):
    """Mixture-of-Gaussians embeddings with a low intrinsic dimension."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(n_clusters, latent_dim))
    mixing = rng.normal(size=(latent_dim, dim)) / np.sqrt(latent_dim)
    total = n + n_queries
    labels = rng.integers(n_clusters, size=total)
    latent = centers[labels] + rng.normal(size=(total, latent_dim))
    X = np.empty((total, dim), dtype=np.float32)
    for start in range(0, total, 10000):  # chunks keep the float64 temporaries small
        stop = min(start + 10000, total)
        block = latent[start:stop] @ mixing + 0.3 * rng.normal(size=(stop - start, dim))
        X[start:stop] = block
    return X[:n], X[n:]


def exact_neighbors(data, queries, k, metric):
    from sklearn.neighbors import NearestNeighbors

    t0 = time.perf_counter()
    nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(data)
    ind = nn.kneighbors(queries, return_distance=False)
    return ind, time.perf_counter() - t0


def recall(found, truth):
    hits = sum(len(np.intersect1d(f, t)) for f, t in zip(found, truth))
    return hits / truth.size


def compile_cost(metric, cold):
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["NUMBA_CACHE_DIR"] = tmp
        out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET.format(metric=metric)],
                             env=env, capture_output=True, text=True, check=True)
    import_s, first_build_s = map(float, out.stdout.split())
    return import_s, first_build_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--n-queries", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--metric", default="cosine")
    parser.add_argument("--graph-neighbors", type=int, nargs="+", default=[30])
    parser.add_argument("--diversify-prob", type=float, nargs="+", default=[1.0])
    parser.add_argument("--pruning-degree-multiplier", type=float, nargs="+", default=[1.5])
    parser.add_argument("--epsilon", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.2, 0.3])
    parser.add_argument("--skip-compile", action="store_true", help="skip the child-process compile timing")
    parser.add_argument("--json", help="append one JSON line per setting to this file")
    args = parser.parse_args(argv)

    if not args.skip_compile:
        for cold in (False, True):
            import_s, build_s = compile_cost(args.metric, cold)
            label = "empty NUMBA_CACHE_DIR (cold compile)" if cold else "on-disk numba cache as is"
            print(f"first tiny index in a fresh process, {label}: import {import_s:.1f} s, "
                  f"first build+query {build_s:.1f} s", flush=True)

    t0 = time.perf_counter()
    data, queries = make_embeddings(args.n, args.dim, args.n_queries)
    print(f"generated {data.shape} + {queries.shape} float32 in {time.perf_counter() - t0:.1f} s", flush=True)
    truth, exact_s = exact_neighbors(data, queries, args.k, args.metric)
    print(f"exact brute force ({args.metric}): {args.n_queries / exact_s:.0f} queries/s "
          f"({exact_s:.1f} s for {args.n_queries})", flush=True)

    from pynndescent import NNDescent

    # Warm the compiled code on a tiny index so build timings below exclude compilation.
    NNDescent(data[:2000], metric=args.metric, n_neighbors=15, random_state=0).query(queries[:5], k=args.k)

    print("| graph n_neighbors | diversify_prob | pruning_degree_multiplier | build s | prepare s "
          "| epsilon | queries/s | recall@%d |" % args.k)
    print("|---|---|---|---|---|---|---|---|", flush=True)
    grid = itertools.product(args.graph_neighbors, args.diversify_prob, args.pruning_degree_multiplier)
    for graph_k, div, prune in grid:
        t0 = time.perf_counter()
        index = NNDescent(data, metric=args.metric, n_neighbors=graph_k, diversify_prob=div,
                          pruning_degree_multiplier=prune, random_state=0, parallel_batch_queries=True)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        index.prepare()
        prepare_s = time.perf_counter() - t0
        index.query(queries[:10], k=args.k)  # first query sets up the query workspace
        for eps in args.epsilon:
            t0 = time.perf_counter()
            found, _ = index.query(queries, k=args.k, epsilon=eps)
            query_s = time.perf_counter() - t0
            row = dict(graph_neighbors=graph_k, diversify_prob=div, pruning_degree_multiplier=prune,
                       build_s=build_s, prepare_s=prepare_s, epsilon=eps,
                       qps=args.n_queries / query_s, recall=recall(found, truth), n=args.n, dim=args.dim)
            print(f"| {graph_k} | {div} | {prune} | {build_s:.1f} | {prepare_s:.1f} | {eps} "
                  f"| {row['qps']:.0f} | {row['recall']:.3f} |", flush=True)
            if args.json:
                with open(args.json, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
        del index


if __name__ == "__main__":
    main()
