"""The README's "Your own photos" code runs as written, on a folder of
generated photos annotated in Pascal VOC that the test writes itself."""

import re
from pathlib import Path

import numpy as np
from PIL import Image

from sklocalize.datasets import make_localization

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_code(title):
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _write_voc(folder, X, y, names):
    (folder / "annotations").mkdir()
    for image, (_, row), name in zip(X, y.iterrows(), names):
        pixels = (np.moveaxis(image, 0, -1) * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(folder / "photos" / name)
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
        (folder / "annotations" / f"{Path(name).stem}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>{w}</width>"
            f"<height>{h}</height><depth>3</depth></size>{objects}</annotation>")


def test_your_own_photos_runs_as_written(tmp_path, monkeypatch):
    (code,) = _section_code("Your own photos")
    X, y = make_localization(n_samples=30, image_size=32, n_channels=3,
                             random_state=0, as_frame=True)
    (tmp_path / "photos").mkdir()
    (tmp_path / "new_photos").mkdir()
    _write_voc(tmp_path, X[:24], y[:24], [f"{i}.png" for i in range(24)])
    for i, image in enumerate(X[24:]):
        pixels = (np.moveaxis(image, 0, -1) * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / "new_photos" / f"new{i}.jpg")
    monkeypatch.chdir(tmp_path)
    # a short training: the README's code, as written, with fewer epochs
    code = code.replace("LocalizerEstimator()", "LocalizerEstimator(max_epochs=2)")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    boxes = namespace["boxes"]
    assert list(boxes["file"]) == [f"new{i}.jpg" for i in range(6)]
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == [
        f"new{i}.png" for i in range(6)]
    assert (tmp_path / "model.skl").is_file()

