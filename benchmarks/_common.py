"""Helpers shared by the benchmark scripts: tables, timing, machine notes."""

import os
import platform
import time
from contextlib import contextmanager

import torch


def machine():
    """One line describing where the numbers were measured."""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"python {platform.python_version()}")


def markdown_table(header, rows, floatfmt="{:.3f}"):
    """Rows of values as a GitHub-flavoured markdown table."""
    def cell(v):
        if isinstance(v, float):
            return floatfmt.format(v)
        return str(v)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@contextmanager
def timer(store, key):
    """Record the seconds the block took in ``store[key]``."""
    t0 = time.perf_counter()
    yield
    store[key] = time.perf_counter() - t0
