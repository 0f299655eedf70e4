"""The demo command, end to end on small settings."""

import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import sklocalize
from sklocalize import cli


def test_demo_localization_on_user_data(tmp_path, capsys):
    rng = np.random.RandomState(0)
    lines = []
    for i in range(24):
        img = (rng.rand(32, 32, 3) * 60).astype(np.uint8)
        x1, y1 = rng.randint(0, 16, size=2)
        img[y1:y1 + 12, x1:x1 + 12] = 230
        Image.fromarray(img).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png,{x1},{y1},{x1 + 12},{y1 + 12},"
                     f"{'a' if i % 2 else 'b'}")
    (tmp_path / "boxes.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    code = cli.main(["demo", "--data", str(tmp_path / "boxes.csv"), "--images",
                     str(tmp_path), "--image-size", "16", "--epochs", "1",
                     "--out", str(out), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Held-out localization metrics" in text and "mean IoU" in text
    assert (out / "localization_predictions.png").stat().st_size > 0
    assert (out / "localization_iou_success.png").stat().st_size > 0


def test_demo_needs_images_with_data(tmp_path, capsys):
    code = cli.main(["demo", "--data", "x.csv", "--out", str(tmp_path)])
    assert code == 2
    assert "--data needs --images" in capsys.readouterr().err


def test_bad_epochs(capsys):
    assert cli.main(["demo", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_python_m_help():
    out = subprocess.run([sys.executable, "-m", "sklocalize", "demo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--task" in out and "--data" in out and "--pixel-offset" in out


def test_importing_main_does_not_run_the_command():
    code = ("import importlib; importlib.import_module('sklocalize.__main__'); "
            "print('imported')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "imported\n" and "usage" not in run.stderr


def test_every_module_imports_without_exiting():
    def fail(name):
        pytest.fail(f"pkgutil.walk_packages could not import {name}.")

    names = [m.name for m in pkgutil.walk_packages(sklocalize.__path__, "sklocalize.",
                                                   onerror=fail)]
    assert "sklocalize.__main__" in names and "sklocalize.datasets._readers" in names
    for name in names:
        try:
            importlib.import_module(name)
        except SystemExit as exc:
            pytest.fail(f"importing {name} ran the command: SystemExit({exc.code}).")
