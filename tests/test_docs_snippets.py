"""Every code block of the hand-written docs pages runs as written.

Each page runs in a folder of its own, holding the files its prose names
(photos and their annotations in each format, written here). Python blocks
run with ``exec``, the ``sklocalize`` commands of shell blocks through the
command line's ``main``; training is shortened and the other substitutions
made as ``tests/_snippets.py`` lists, with the reason for each. How a page's
blocks share their names:

- a page is one story (the getting-started page): its blocks run in order in
  one namespace;
- the user guide: the block before its first section runs first, and each
  section's blocks then run in order on a copy of what it defined.

Blocks that are not run: text and diagrams (``code-block:: text``), and the
shell lines of ``_snippets.NOT_RUN`` (``make``, ``pip``, the benchmark
scripts, which need the benchmark data), each reported as skipped with its
reason. ``docs/snippets/run_onnx.py``, included in the user guide, runs in
``tests/test_export.py``. The gallery examples (``docs/examples``) run in
the docs build, and the docstrings' examples as doctests.
"""

import importlib.util
import re

import matplotlib.pyplot as plt
import pytest
import torch

from sklocalize.datasets import make_landmarks, make_localization

from ._snippets import (
    DOCS,
    EXTRAS,
    NOT_CODE,
    REPLACE,
    doc_pages,
    literal_includes,
    rst_blocks,
    run_python,
    run_shell,
    save_photo,
    set_fast_defaults,
    write_box_formats,
    write_landmark_csv,
)

PAGES = [page.name for page in doc_pages()]
# pages whose sections each start again from the page's first block
SECTIONS_STAND_ALONE = {"user_guide.rst"}
# files included in a page and run by another test
INCLUDED = {("user_guide.rst", "snippets/run_onnx.py"): "tests/test_export.py"}
SHELL = {"bash", "console", "shell", "sh"}
PYTHON = {"python", "python3", "py"}


def _user_guide_files(root):
    """What the user guide's reading section names: photos in every box
    format, new photos, and faces with a CSV of their points."""
    X, y = make_localization(n_samples=24, image_size=32, n_channels=3,
                             random_state=0, as_frame=True)
    write_box_formats(root, X[:18], y[:18])
    (root / "new_photos").mkdir()
    for i, image in enumerate(X[18:]):
        save_photo(image, root / "new_photos" / f"new{i}.jpg")
    faces, points = make_landmarks(n_samples=12, image_size=32, random_state=0,
                                   as_frame=True)
    write_landmark_csv(root / "faces", faces, points)


FILES = {"user_guide.rst": _user_guide_files}


def _missing_extras(blocks):
    """The extras (``EXTRAS``) that ``blocks`` import and that are not
    installed."""
    code = "".join(b.code for b in blocks)
    return sorted({extra for module, extra in EXTRAS.items()
                   if re.search(rf"^\s*(from|import) {re.escape(module)}\b", code,
                                re.MULTILINE) and not _installed(module)})


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _run(block, namespace, used, skipped):
    if block.language in NOT_CODE:
        return
    if block.language in SHELL:
        skipped += run_shell(block)
    elif block.language in PYTHON:
        used.update(run_python(block, namespace))
    else:
        raise AssertionError(f"{block.id}: code-block language {block.language!r} "
                             "is neither Python, a shell, nor text.")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page, tmp_path, monkeypatch):
    blocks = rst_blocks(DOCS / page)
    if page in FILES:
        FILES[page](tmp_path)
    monkeypatch.chdir(tmp_path)
    set_fast_defaults(monkeypatch)
    threads = torch.get_num_threads()  # a dask worker in this process sets it
    used, skipped, unrun = set(), [], []
    try:
        if page in SECTIONS_STAND_ALONE:
            setup = {"__name__": "__docs__"}
            for block in [b for b in blocks if b.heading is None]:
                _run(block, setup, used, skipped)
            sections = {}
            for block in blocks:
                if block.heading is not None:
                    sections.setdefault(block.heading, []).append(block)
            for heading, section in sections.items():
                missing = _missing_extras(section)
                if missing:
                    unrun.append(f"section {heading!r} (needs {missing}: pip "
                                 f"install 'sklocalize[{missing[0]}]')")
                    continue
                namespace = dict(setup)
                for block in section:
                    _run(block, namespace, used, skipped)
        else:
            namespace = {"__name__": "__docs__"}
            for block in blocks:
                _run(block, namespace, used, skipped)
    finally:
        torch.set_num_threads(threads)
        plt.close("all")
    unused = {old for old, _, _ in REPLACE.get(page, [])} - used
    if not unrun:
        assert not unused, f"{page}: the replacements {unused} no longer match"
    if unrun:
        pytest.skip(f"{page}: ran all but {'; '.join(unrun)}")
    if not any(b.language in PYTHON for b in blocks) and skipped:
        pytest.skip("; ".join(f"`{c}`: {why}" for c, why in skipped))


def test_every_page_is_run_and_every_include_is_tested():
    assert {"getting_started.rst", "user_guide.rst", "index.rst",
            "architecture.rst", "benchmarks.rst"} <= set(PAGES)
    assert set(literal_includes()) == set(INCLUDED)
    for (_, path), test in INCLUDED.items():
        assert path.split("/")[-1] in (DOCS.parent / test).read_text()


def test_the_getting_started_page_follows_the_journey():
    blocks = rst_blocks(DOCS / "getting_started.rst")
    code = "".join(b.code for b in blocks if b.language in PYTHON)
    steps = ["load_boxes(", "est.fit(", "est.save(", "est = load(", "load_images(",
             "predict_frame(", "draw_predictions(", "load_landmarks("]
    positions = [code.index(step) for step in steps]
    assert positions == sorted(positions)


def test_a_section_that_needs_a_missing_extra_is_named(monkeypatch):
    from . import test_docs_snippets as this
    from ._snippets import Block

    blocks = [Block("user_guide.rst", 1, "python", "import numpy\n"),
              Block("user_guide.rst", 5, "python",
                    "from dask.distributed import Client, LocalCluster\n")]
    assert this._missing_extras(blocks[:1]) == []
    assert not this._installed("no_such_package.sub")  # no parent: not found
    monkeypatch.setattr(this, "_installed", lambda module: module == "numpy")
    assert this._missing_extras(blocks) == ["distributed"]
