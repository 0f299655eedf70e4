"""How long the command line takes to answer ``--help``, against importing torch.

    python benchmarks/cli_startup.py [--repeats 7]

Each command runs in a fresh interpreter (``subprocess``), the commands in turn
(A B C D A B C D ...) so that a slow moment of the machine falls on all of them;
the table reports the median wall time of ``--repeats`` runs of each and its
ratio to ``python -c "import torch"`` measured in the same run. ``--help``
imports neither torch nor numpy (the package's top level is lazy and the
commands import what they need), so it should cost about as much as starting
the interpreter. Prints the table and writes benchmarks/results/cli_startup.md.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, markdown_table  # noqa: E402


def commands():
    """``(name, argv)`` of the commands timed."""
    python = sys.executable
    script = shutil.which("sklocalize", path=os.path.dirname(python))
    help_name, help_argv = (("sklocalize --help", [script, "--help"]) if script
                            else ("python -m sklocalize --help",
                                  [python, "-m", "sklocalize", "--help"]))
    return [
        ('python -c "pass"', [python, "-c", "pass"]),
        (help_name, help_argv),
        ("python -m sklocalize train --help",
         [python, "-m", "sklocalize", "train", "--help"]),
        ('python -c "import sklocalize"', [python, "-c", "import sklocalize"]),
        ('python -c "import torch"', [python, "-c", "import torch"]),
        ('python -c "from sklocalize import LocalizerEstimator"',
         [python, "-c", "from sklocalize import LocalizerEstimator"]),
    ]


def wall_time(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7,
                        help="runs of each command (default 7)")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "cli_startup.md")
    args = parser.parse_args(argv)

    todo = commands()
    for _, command in todo:  # warm the file cache; not timed
        wall_time(command)
    times = {name: [] for name, _ in todo}
    for _ in range(args.repeats):
        for name, command in todo:
            times[name].append(wall_time(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    torch_s = medians['python -c "import torch"']
    rows = [(name, medians[name], min(times[name]), max(times[name]),
             medians[name] / torch_s) for name, _ in todo]
    table = markdown_table(
        ["command", "median s", "min s", "max s", "median / import torch"], rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Start-up time of the command line\n\n"
        f"Command: `{command_line(__file__, argv)}`\n\n"
        f"Machine: {machine()}.\n\n"
        f"Wall time of each command in a fresh interpreter, median (and range) of "
        f"{args.repeats} runs taken in turn; the last column is the ratio to "
        "`import torch` in the same run (below 1 is faster).\n\n"
        f"{table}\n")
    print(f"\nWritten to {args.out}")


if __name__ == "__main__":
    main()
