"""Find the code blocks of the README and the docs, shorten their training,
and run them: the helpers of ``test_readme.py`` and ``test_docs_snippets.py``.

A block is run as written, but for the substitutions listed here, which only
shorten training (fewer epochs and images, no worker processes) or stand in
for what CI does not have (the ImageNet weights file, a dask cluster). Each
rule says why; a rule written for one page must match there, so that the list
cannot go stale.
"""

import doctest
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# The estimators' defaults during a snippet: ``LocalizerEstimator()`` in a
# snippet (and in the command line, which builds one) trains for 1 epoch
# instead of 20, and ``backbone_weights="imagenet"`` becomes None (random
# weights: CI does not install the ImageNet file; the network is the same).
FAST_DEFAULTS = {"max_epochs": 1, "backbone_weights": None}
# The networks' defaults: the scratch trunks start 8 channels wide instead of
# 48 (boxes) and 32 (points), for a fraction of the work; a width a snippet
# sets (module__width=16) is kept.
FAST_NETWORK_DEFAULTS = {"width": 8}

# Applied to every block: (pattern, replacement, why).
SHORTEN = [
    (r"\bmax_epochs=\d+", "max_epochs=1", "one epoch"),
    (r"\bn_samples=\d+", "n_samples=40", "fewer generated images"),
    (r"\bn_jobs=\d+", "n_jobs=1", "no worker processes (n_jobs=-1 is left to "
     "the dask blocks, whose cluster runs in the test's process)"),
]

# Literal replacements for one file: {file: [(old, new, why)]}; each must
# match in its file.
REPLACE = {
    "user_guide.rst": [
        ("LocalCluster(n_workers=2, threads_per_worker=1)",
         "LocalCluster(n_workers=2, threads_per_worker=1, processes=False, "
         "dashboard_address=None)",
         "the dask workers run in the test's process: no worker processes to "
         "start, no dashboard port"),
    ],
}

# Optional extras a block may import: {module imported: the extra that
# installs it}. A section whose blocks import one that is missing is not run,
# and the test says so.
EXTRAS = {"dask.distributed": "distributed", "distributed": "distributed"}

# Shell commands that are not run, by their first word: why.
NOT_RUN = {
    "make": "sets up the development environment and runs the whole test suite "
            "or the demo (CI runs `make test` and `make docs` itself)",
    "pip": "installs the package, which the test environment already has",
    "python": "a benchmark script: minutes to hours of training, most on the "
              "benchmark data sets, which CI does not have",
}
# Text and diagrams, not code.
NOT_CODE = {"text", "none"}


@dataclass
class Block:
    """One code block: its file, the line it starts on, its language and
    its code (dedented)."""

    file: str
    line: int
    language: str
    code: str
    heading: str = None  # the heading above it (in reST, of its section)

    @property
    def id(self):
        return f"{self.file}:{self.line}"


# ---------------------------------------------------------------------------
# extraction


def markdown_blocks(path=README):
    """The fenced blocks of a Markdown file, with the heading above each."""
    blocks, heading = [], None
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        match = re.match(r"```(\w*)\s*$", line)
        if match:
            end = lines.index("```", i + 1)
            blocks.append(Block(path.name, i + 1, match.group(1) or "text",
                                "\n".join(lines[i + 1:end]) + "\n", heading))
            i = end
        i += 1
    return blocks


_DIRECTIVE = re.compile(r"^(\s*)\.\. ([\w:-]+)::\s*(\S*)\s*$")


def _indented_body(lines, start, indent):
    """The lines after ``start`` indented deeper than ``indent`` (blank
    lines inside included), dedented, and the index after them."""
    body, i = [], start
    while i < len(lines) and (not lines[i].strip()
                              or len(lines[i]) - len(lines[i].lstrip()) > indent):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
    # a directive's options (":caption: ...") come before the blank line
    while body and body[0].strip().startswith(":"):
        body.pop(0)
    return textwrap.dedent("\n".join(body)).strip("\n") + "\n", i


def rst_blocks(path):
    """The code of an reStructuredText file: ``.. code-block:: LANG``
    directives and literal blocks after a paragraph ending in ``::`` (Python,
    Sphinx's default language here). Other directives (``math``,
    ``csv-table``, ...) are not code. Each block's ``heading`` is the title
    of its section (underlined with ``-``), None before the first."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i, section = [], 0, None
    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        directive = _DIRECTIVE.match(line)
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        if (line.strip() and not indent and re.fullmatch(r"-{3,}", underline)
                and len(underline) >= len(line.rstrip())):
            section = line.strip()
        if directive and directive.group(2) in ("code-block", "code", "sourcecode"):
            code, end = _indented_body(lines, i + 1, indent)
            blocks.append(Block(path.name, i + 1, directive.group(3) or "python",
                                code, section))
            i = end
            continue
        if directive is None and line.rstrip().endswith("::") and line.strip():
            code, end = _indented_body(lines, i + 1, indent)
            if code.strip():
                blocks.append(Block(path.name, i + 1, "python", code, section))
            i = end
            continue
        i += 1
    return blocks


def doc_pages():
    """The hand-written pages of the docs (not the generated ones)."""
    return sorted(p for p in DOCS.glob("*.rst") if p.name != "sg_execution_times.rst")


def literal_includes():
    """``(page, included file)`` for every ``literalinclude`` of the docs."""
    found = []
    for page in doc_pages():
        for match in re.finditer(r"\.\. literalinclude:: (\S+)",
                                 page.read_text(encoding="utf-8")):
            found.append((page.name, match.group(1)))
    return found


# ---------------------------------------------------------------------------
# shortening and running


def shortened(block):
    """The block's code with the substitutions applied, and the literal
    replacements of its file that matched."""
    code = block.code
    for pattern, new, _ in SHORTEN:
        code = re.sub(pattern, new, code)
    used = []
    for old, new, _ in REPLACE.get(block.file, []):
        if old in code:
            code = code.replace(old, new)
            used.append(old)
    return code, used


def run_python(block, namespace):
    """Run a Python block (or a doctest block, ``>>>``) in ``namespace``;
    return the literal replacements used."""
    code, used = shortened(block)
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, namespace, block.id,
                                                   block.file, block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE)
        runner.run(test)
        assert runner.failures == 0, f"the doctest at {block.id} failed"
        return used
    # line numbers of the page in tracebacks
    source = "\n" * block.line + code
    exec(compile(source, str(DOCS / block.file) if block.file != README.name
                 else str(README), "exec"), namespace)
    return used


def shell_commands(block):
    """The commands of a shell block (a trailing backslash continues a
    line), without comments."""
    text = re.sub(r"\\\n\s*", " ", block.code)
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def run_shell(block):
    """Run the ``sklocalize`` commands of a shell block through the command
    line's ``main``; return the commands not run, each with the reason."""
    from sklocalize.cli import main

    skipped = []
    for command in shell_commands(block):
        words = shlex.split(command)
        if words[0] == "sklocalize":
            assert main(words[1:]) == 0, f"{block.id}: `{command}` failed"
        elif words[0] in NOT_RUN:
            skipped.append((command, NOT_RUN[words[0]]))
        else:
            raise AssertionError(
                f"{block.id}: `{command}` is neither a sklocalize command nor "
                "in _snippets.NOT_RUN; make it runnable or list it with a reason.")
    return skipped


def _set_defaults(monkeypatch, func, values):
    """Give ``func``'s parameters ``values`` as their defaults, until
    ``monkeypatch`` undoes it."""
    import inspect

    params = inspect.signature(func).parameters
    missing = set(values) - {n for n, p in params.items() if p.default is not p.empty}
    assert not missing, f"{func.__qualname__} has no default for {missing}"
    kwdefaults = dict(func.__kwdefaults__ or {})
    positional = [p for p in params.values() if p.default is not p.empty
                  and p.kind is p.POSITIONAL_OR_KEYWORD]
    defaults = [values.get(p.name, p.default) for p in positional]
    kwdefaults.update({k: v for k, v in values.items() if k in kwdefaults})
    monkeypatch.setattr(func, "__defaults__", tuple(defaults) or None)
    monkeypatch.setattr(func, "__kwdefaults__", kwdefaults or None)


def _no_pretrained_weights():
    return "scratch", "no pretrained weights in the snippets' runs"


def set_fast_defaults(monkeypatch):
    """Make :data:`FAST_DEFAULTS` the estimators' defaults and
    :data:`FAST_NETWORK_DEFAULTS` the networks', until ``monkeypatch`` undoes
    it."""
    from sklocalize import recipes
    from sklocalize._base import ImageEstimator
    from sklocalize.nn import LandmarkNet, LocalizerNet

    _set_defaults(monkeypatch, ImageEstimator.__init__, FAST_DEFAULTS)
    # the photo recipe (sklocalize train) trains for 1 epoch too, not ~400
    # steps, and takes the scratch trunk whatever weights are installed, as
    # in CI (a machine with the weights would train the pretrained trunk at
    # 128 pixels)
    monkeypatch.setattr(recipes, "STEPS", 1)
    monkeypatch.setattr(recipes, "MIN_EPOCHS", 1)
    monkeypatch.setattr(recipes, "pretrained_backbone", _no_pretrained_weights)
    for net in (LocalizerNet, LandmarkNet):
        _set_defaults(monkeypatch, net.__init__, FAST_NETWORK_DEFAULTS)


# ---------------------------------------------------------------------------
# annotated folders


def save_photo(image, path):
    """Save a float (C, H, W) image in [0, 1] as a photo file."""
    pixels = np.uint8(np.round(255 * np.moveaxis(image, 0, -1)))
    Image.fromarray(pixels.squeeze()).save(path)


def write_voc(folder, photos, X, y, names):
    """Photos ``names`` in ``photos`` and one Pascal VOC file each in
    ``folder``, from generated images ``X`` and their tidy target ``y``."""
    folder.mkdir(parents=True, exist_ok=True)
    photos.mkdir(parents=True, exist_ok=True)
    for image, (_, row), name in zip(X, y.iterrows(), names):
        save_photo(image, photos / name)
        h, w = image.shape[1:]
        objects = ""
        if row["p_c"] == 1:
            x1 = (row["b_x"] - row["b_w"] / 2) * w
            x2 = (row["b_x"] + row["b_w"] / 2) * w
            y1 = (row["b_y"] - row["b_h"] / 2) * h
            y2 = (row["b_y"] + row["b_h"] / 2) * h
            objects = (  # VOC: 1-based, inclusive pixel indices
                f"<object><name>{row['label']}</name><bndbox>"
                f"<xmin>{round(x1) + 1}</xmin><ymin>{round(y1) + 1}</ymin>"
                f"<xmax>{round(x2)}</xmax><ymax>{round(y2)}</ymax>"
                "</bndbox></object>")
        (folder / f"{Path(name).stem}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>{w}</width>"
            f"<height>{h}</height><depth>3</depth></size>{objects}</annotation>")


def _pixel_boxes(y, width, height):
    """The ``x1, y1, x2, y2`` pixel boxes of a tidy target's rows."""
    from sklocalize.boxes import box_convert

    boxes = box_convert(y[["b_x", "b_y", "b_h", "b_w"]].to_numpy(float), "cxcyhw",
                        "xyxy")
    return boxes * [width, height, width, height]


def write_box_formats(root, X, y):
    """The photos of ``X`` in ``root/photos`` with their boxes in each
    format: ``annotations/`` (Pascal VOC), ``instances.json`` (COCO),
    ``labels/`` with ``classes.txt`` (YOLO) and ``boxes.csv``."""
    import json

    names = [f"{i:03d}.png" for i in range(len(X))]
    write_voc(root / "annotations", root / "photos", X, y, names)
    height, width = X.shape[2:]
    boxes = _pixel_boxes(y, width, height)
    present = (y["p_c"] == 1).to_numpy()
    classes = sorted(set(y["label"][present]))
    coco = {"images": [], "annotations": [],
            "categories": [{"id": k + 1, "name": c} for k, c in enumerate(classes)]}
    (root / "labels").mkdir()
    (root / "labels" / "classes.txt").write_text("\n".join(classes) + "\n")
    rows = ["filename,width,height,class,xmin,ymin,xmax,ymax"]
    for i, (name, label, box) in enumerate(zip(names, y["label"], boxes)):
        coco["images"].append({"id": i, "file_name": name, "width": width,
                               "height": height})
        yolo = ""
        if present[i]:
            x1, y1, x2, y2 = box
            coco["annotations"].append({
                "id": i, "image_id": i, "category_id": classes.index(label) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1]})
            yolo = (f"{classes.index(label)} {(x1 + x2) / 2 / width} "
                    f"{(y1 + y2) / 2 / height} {(x2 - x1) / width} "
                    f"{(y2 - y1) / height}\n")
            rows.append(f"{name},{width},{height},{label},{x1},{y1},{x2},{y2}")
        else:
            rows.append(f"{name},{width},{height},,,,,")
        (root / "labels" / f"{Path(name).stem}.txt").write_text(yolo)
    (root / "instances.json").write_text(json.dumps(coco))
    (root / "boxes.csv").write_text("\n".join(rows) + "\n")


def write_landmark_csv(folder, X, y):
    """The images of ``X`` in ``folder`` and ``folder/points.csv``: a file
    column and ``<name>_x, <name>_y`` columns in pixels, from the tidy
    landmark target ``y`` (empty points where ``p = 0``)."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = X.shape[2:]
    points = y.drop(columns="p") * np.tile([width, height], (y.shape[1] - 1) // 2)
    points[y["p"] == 0] = np.nan
    points.insert(0, "file", [f"{i:03d}.png" for i in range(len(X))])
    for image, name in zip(X, points["file"]):
        save_photo(image, folder / name)
    points.to_csv(folder / "points.csv", index=False)
