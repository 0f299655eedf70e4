"""Helpers shared by the benchmark scripts: tables, timing, machine notes."""

import os
import platform
import sys
import time
from contextlib import contextmanager

import torch


def machine():
    """One line describing where the numbers were measured."""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"python {platform.python_version()}")


def command_line(script, argv=None):
    """The command that reproduces a run of ``benchmarks/<script>``, for the
    results files (``argv`` as given to ``main``, else the process's)."""
    args = argv if argv is not None else sys.argv[1:]
    return " ".join(["python", f"benchmarks/{os.path.basename(script)}", *args])


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


def records_table(records, floatfmt="{:.3f}"):
    """A list of dicts with the same keys as a markdown table, one row each,
    the columns in the first dict's order."""
    header = list(records[0])
    return markdown_table(header, [[r[k] for k in header] for r in records],
                          floatfmt=floatfmt)


@contextmanager
def timer(store, key):
    """Record the seconds the block took in ``store[key]``."""
    t0 = time.perf_counter()
    yield
    store[key] = time.perf_counter() - t0
