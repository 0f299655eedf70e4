"""The demo command, end to end on small settings, and the command line's
parser: --version, --help, one-line errors (the other commands end to end:
test_cli_commands.py)."""

import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import sklocalize
from sklocalize import cli
from sklocalize.cli import _options as cli_options
from sklocalize.metrics import eye_pair


@pytest.mark.slow
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


def test_demo_missing_data_is_one_error_line(tmp_path, capsys):
    code = cli.main(["demo", "--data", str(tmp_path / "x.csv"), "--out",
                     str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "No such annotation file or folder:" in err and "x.csv" in err


def test_bad_epochs(capsys):
    assert cli.main(["demo", "--epochs", "0"]) == 2
    assert ("argument --epochs: must be an integer of at least 1; got '0'"
            in capsys.readouterr().err)


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


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"sklocalize {sklocalize.__version__}\n"


@pytest.mark.parametrize("command, expected", [
    ([], ["train", "predict", "evaluate", "demo", "--version", "exit code 2"]),
    (["train"], ["--task", "--annotations", "--images", "--format", "--multiple",
                 "--image-size", "--epochs", "--search", "--save", "--holdout",
                 "--no-background", "--flip-pairs", "--landmark-names",
                 "--normalize", "--param", "--backbone", "--no-retrain",
                 "--on-error", "train again on every image", "examples:"]),
    (["predict"], ["MODEL", "PHOTOS", "--out", "--draw", "--box-format",
                   "--on-error", "photo's own pixels"]),
    (["evaluate"], ["MODEL", "--annotations", "--images", "--format",
                    "--normalize", "held-out"]),
    (["demo"], ["--task", "--data", "--images", "--multiple", "--on-error",
              "--epochs", "--out"]),
])
def test_help_of_each_command(command, expected, capsys):
    assert cli.main([*command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for text in expected:
        assert text in out, text


def test_help_does_not_import_torch():
    code = ("import sys; from sklocalize.cli import main; "
            "code = main(['train', '--help']); "
            "print(code, 'torch' in sys.modules, 'numpy' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert run.stdout.splitlines()[-1] == "0 False False"


@pytest.mark.slow
def test_package_top_level_is_lazy():
    code = ("import sys, sklocalize; print('torch' in sys.modules); "
            "print(sorted(set(sklocalize.__all__) - set(dir(sklocalize)))); "
            "from sklocalize import LocalizerEstimator, LandmarkEstimator, load; "
            "print(LocalizerEstimator.__module__, LandmarkEstimator.__module__, "
            "load.__module__)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert run.stdout.splitlines() == [
        "False", "[]",
        "sklocalize.localizer sklocalize.landmarks sklocalize.persistence"]
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        sklocalize.nope  # noqa: B018


def _one_error_line(capsys):
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, message", [
    ([], "give a command: train, predict, evaluate or demo"),
    (["fit"], "argument COMMAND: invalid choice: 'fit'"),
    (["train", "--task", "boxes", "--annotations", "a.csv", "--save", "m.skl"],
     "argument --task: invalid choice: 'boxes'"),
    (["train", "--task", "localization", "--save", "m.skl"],
     "the following arguments are required: --annotations"),
    (["train", "--task", "landmarks", "--annotations", "a.csv", "--save", "m.skl",
      "--flip-pairs", "0-1"],
     "argument --flip-pairs: must be pairs of point indices (or names)"),
    (["train", "--task", "localization", "--annotations", "a.csv", "--save",
      "m.skl", "--holdout", "1"], "argument --holdout: must be a share in [0, 1)"),
    (["train", "--task", "landmarks", "--annotations", "a.csv", "--save", "m.skl",
      "--normalize", "eyes"], "argument --normalize: must be auto, bbox, image"),
    (["train", "--task", "localization", "--annotations", "a.csv", "--save",
      "m.skl", "--param", "width"], "argument --param: must be NAME=VALUE"),
    (["train", "--task", "localization", "--annotations", "a.csv", "--save",
      "m.skl", "--param", "widht=3"],
     "--param widht: LocalizerEstimator has no such parameter"),
    (["train", "--task", "localization", "--annotations", "a.csv", "--save",
      "m.skl", "--flip-pairs", "0,1"], "--flip-pairs is for landmarks"),
    (["train", "--task", "landmarks", "--annotations", "a.csv", "--save",
      "m.skl", "--no-background"], "--no-background is for localization"),
    (["train", "--task", "landmarks", "--annotations", "a.csv", "--save",
      "m.skl", "--format", "voc"], "--format voc is not a landmarks format"),
    (["train", "--task", "localization", "--annotations", "a.csv", "--save",
      "m.skl", "--backbone-weights", "w.pth"],
     "--backbone-weights w.pth: name the pretrained trunk they are for with "
     "--backbone"),
    (["train", "--task", "localization", "--annotations", "a.csv", "--save",
      "m.skl", "--backbone", "mobilenet_v2", "--backbone-weights", "w.pth"],
     "--backbone-weights w.pth: no such file"),
])
def test_usage_errors_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in _one_error_line(capsys)


def test_file_errors_are_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_model = tmp_path / "model.skl"
    not_a_model.write_text("not a model\n")
    cases = [
        (["train", "--task", "localization", "--annotations",
          str(tmp_path / "missing.csv"), "--save", str(tmp_path / "m.skl")],
         "No such annotation file or folder:"),
        (["train", "--task", "localization", "--annotations", str(empty),
          "--save", str(tmp_path / "m.skl")], "Cannot tell the format of the folder"),
        (["train", "--task", "landmarks", "--annotations", str(empty),
          "--save", str(tmp_path / "m.skl")], "is a folder; give the landmark file"),
        (["predict", str(tmp_path / "missing.skl"), str(empty), "--out",
          str(tmp_path / "p.csv")], "No such model file:"),
        (["predict", str(not_a_model), str(empty), "--out", str(tmp_path / "p.csv")],
         "is not a sklocalize model file"),
        (["evaluate", str(not_a_model), "--annotations", str(empty)],
         "is not a sklocalize model file"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        assert message in _one_error_line(capsys), argv


def test_save_path_is_checked_before_reading_or_training(tmp_path, capsys):
    # the annotations do not exist either: the --save error comes first
    argv = ["train", "--task", "localization", "--annotations",
            str(tmp_path / "missing.csv")]
    assert cli.main([*argv, "--save", str(tmp_path / "nodir" / "m.skl")]) == 2
    assert (f"--save {tmp_path / 'nodir' / 'm.skl'}: the folder "
            f"{tmp_path / 'nodir'} does not exist") in _one_error_line(capsys)
    assert cli.main([*argv, "--save", str(tmp_path)]) == 2
    assert f"--save {tmp_path} is a folder; give a file name" in _one_error_line(
        capsys)


def test_library_spellings_become_the_options():
    text = ("pass on_error='skip' to leave it out; read it with "
            "multiple='largest', format='voc' or pixel_offset='0.5'; "
            "keep download='x' and lr='1'")
    assert cli_options._cli_spelling(text) == (
        "pass --on-error skip to leave it out; read it with --multiple largest, "
        "--format voc or --pixel-offset 0.5; keep download='x' and lr='1'")


@pytest.mark.slow
def test_python_m_error_is_one_line_without_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "sklocalize", "train", "--task",
                          "localization", "--annotations", str(tmp_path / "no.csv"),
                          "--save", str(tmp_path / "m.skl")],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith("error: No such annotation file or folder")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


@pytest.mark.parametrize("names, pair", [
    (["left_eye", "right_eye", "nose"], (0, 1)),
    (["nose", "RightEye", "LeftEye"], (2, 1)),
    (["eye_l", "eye_r"], (0, 1)),
    (["l_eye", "r_eye"], (0, 1)),
    (["left_eye_inner", "left_eye_outer", "right_eye_inner", "right_eye_outer"],
     (1, 3)),
    (["left_eye_outer", "left_eye_center", "right_eye_center", "right_eye_outer"],
     (1, 2)),
    (["left_eyebrow", "right_eyebrow", "nose"], None),
    (["left_eye_brow", "left_eye", "right_eye_brow", "right_eye"], (1, 3)),
    (["nose", "chin"], None),
    (["left_eye", "nose"], None),
    (None, None),
])
def test_eyes_are_found_by_name(names, pair):
    assert eye_pair(names) == pair


def test_normalization_choices():
    names = ["left_eye", "right_eye", "nose", "chin"]
    assert cli_options._normalization("auto", names, 4) == (
        (0, 1), "inter-ocular: left_eye to right_eye")
    assert cli_options._normalization("auto", ["a", "b"], 2)[0] == "bbox"
    assert cli_options._normalization("auto", None, 1)[0] == "image"
    assert cli_options._normalization(("nose", "3"), names, 4) == (
        (2, 3), "normalised by nose to chin")
    with pytest.raises(cli.CommandError, match="point 7 is not among the 4"):
        cli_options._normalization(("0", "7"), names, 4)
    with pytest.raises(cli.CommandError, match="'mouth' is neither a point index"):
        cli_options._normalization(("mouth", "0"), names, 4)


@pytest.mark.parametrize("nme, limit", [
    ([0.01, 0.02, 0.05], 0.1), ([0.1, 0.12, 0.14], 0.15), ([0.4] * 19 + [3.0], 0.5),
    ([], 0.1)])
def test_ced_ends_where_the_faces_are(nme, limit):
    assert cli_options._ced_max_error(nme) == limit


def test_traceback_option_shows_the_error_itself(tmp_path):
    with pytest.raises(ValueError, match="No such annotation file or folder"):
        cli.main(["--traceback", "train", "--task", "localization", "--annotations",
                  str(tmp_path / "no.csv"), "--save", str(tmp_path / "m.skl")])
