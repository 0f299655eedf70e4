"""The exported prediction (ONNX, TorchScript) is the estimator's ``predict``."""

import copy
import importlib.util
import inspect
import json
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklocalize import LandmarkEstimator, LocalizerEstimator, export
from sklocalize.datasets import FACE_FLIP_PAIRS

from ._helpers import as_uint8, tiny_estimator, tiny_landmarks, tiny_localization

# torch deprecates TorchScript, which to_torchscript writes on purpose
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.* is deprecated:DeprecationWarning")

SNIPPET = Path(__file__).parents[1] / "docs" / "snippets" / "run_onnx.py"
# the largest difference from predict allowed, on probabilities and on the
# boxes and points
TOLERANCE = 1e-4

# each estimator's inputs in both dtypes, and test-time passes on and off:
# one ONNX export costs seconds, so the cases pair them rather than cross them
CASES = {
    "localizer-uint8-flip": (LocalizerEstimator, "uint8", {"tta_flip": True}),
    "localizer-float32": (LocalizerEstimator, "float32", {"tta_flip": False}),
    "landmarks-uint8-flip": (LandmarkEstimator, "uint8",
                             {"tta_flip": True, "tta_reframe": 0, "tta_shift": 0.0}),
    # the landmark defaults: re-framing passes until the frame settles (the
    # export makes every pass, keeping settled frames), shifted copies
    "landmarks-float32-reframe-shift": (
        LandmarkEstimator, "float32",
        {"tta_flip": False, "tta_reframe": 4, "tta_shift": 0.5}),
}


@pytest.fixture(scope="module")
def fitted_estimators():
    """Both estimators, fitted on uint8 images (a 0-1 scale, as float images
    in 0-1 are), with the data they were fitted on."""
    X, y = tiny_localization(n_classes=3)
    localizer = tiny_estimator(LocalizerEstimator, module__width=8).fit(as_uint8(X), y)
    Xl, yl = tiny_landmarks()
    landmarks = tiny_estimator(LandmarkEstimator, module__width=8,
                               flip_pairs=list(FACE_FLIP_PAIRS)).fit(as_uint8(Xl), yl)
    return {LocalizerEstimator: (localizer, X.astype(np.float32)),
            LandmarkEstimator: (landmarks, Xl.astype(np.float32))}


def _set_up(fitted_estimators, case):
    """A copy of the case's estimator with its test-time passes, a presence
    threshold that splits its images, and the images in the case's dtype."""
    cls, dtype, params = CASES[case]
    fitted, X = fitted_estimators[cls]
    est = copy.deepcopy(fitted).set_params(**params)
    X = as_uint8(X) if dtype == "uint8" else X
    # some images present, some absent (the boxes and points of the present
    # ones are compared), the threshold in the widest gap between the middle
    # half of the probabilities, so that no rounding moves a decision
    p = np.sort(est.predict_proba(X)[:, 0])
    middle = np.arange(len(p) // 4, 3 * len(p) // 4) + 1
    widest = middle[np.argmax(p[middle] - p[middle - 1])]
    assert p[widest] - p[widest - 1] > TOLERANCE
    est.set_params(presence_threshold=float(p[widest - 1] + p[widest]) / 2)
    return est, X, dtype


def _assert_parity(est, X, run):
    """``run(X)`` returns what ``est.predict(X)`` and ``predict_proba`` do;
    the largest differences."""
    y, proba = est.predict(X), est.predict_proba(X)
    y_got, proba_got = run(X)
    assert y_got.dtype == proba_got.dtype == np.float64
    assert y_got.shape == y.shape and proba_got.shape == proba.shape
    np.testing.assert_array_equal(y_got[:, 0], y[:, 0])  # the same decisions
    differences = np.abs(y_got - y).max(), np.abs(proba_got - proba).max()
    assert max(differences) <= TOLERANCE, differences
    return differences


def _batches(X):
    """Batches of other sizes than the export's example (2)."""
    return X, X[:1], X[3:8]


@pytest.fixture(scope="module")
def onnx_exports(fitted_estimators, tmp_path_factory):
    """``export(case)``: the case's estimator, images and ONNX file, written
    once per module (an export takes seconds)."""
    written = {}

    def export_case(case):
        if case not in written:
            est, X, dtype = _set_up(fitted_estimators, case)
            folder = tmp_path_factory.mktemp(case)
            path = est.to_onnx(folder / "model.onnx", input_dtype=dtype)
            assert path == folder / "model.onnx"
            assert [p.name for p in folder.iterdir()] == ["model.onnx"]  # one file
            written[case] = est, X, path
        return written[case]

    return export_case


@pytest.fixture
def onnxruntime():
    for name in ("onnx", "onnxscript"):
        pytest.importorskip(name, reason='the export extra is not installed: '
                            'pip install "sklocalize[export]"')
    return pytest.importorskip("onnxruntime", reason="the export extra is not "
                               'installed: pip install "sklocalize[export]"')


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_onnx_model_predicts_as_the_estimator(onnxruntime, onnx_exports, case):
    est, X, path = onnx_exports(case)
    dtype = CASES[case][1]
    session = onnxruntime.InferenceSession(str(path),
                                           providers=["CPUExecutionProvider"])
    (x,) = session.get_inputs()
    assert x.name == "X" and x.type == {"uint8": "tensor(uint8)",
                                        "float32": "tensor(float)"}[dtype]
    assert [o.name for o in session.get_outputs()] == ["y", "proba"]
    assert 0 < est.predict(X)[:, 0].sum() < len(X)  # both decisions
    for batch in _batches(X):
        _assert_parity(est, batch, lambda B: session.run(None, {"X": B}))
    metadata = session.get_modelmeta().custom_metadata_map
    assert metadata["estimator"] == type(est).__name__
    assert metadata["input_dtype"] == dtype
    if isinstance(est, LocalizerEstimator):
        assert json.loads(metadata["classes"]) == est.classes_.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_torchscript_model_predicts_as_the_estimator(fitted_estimators, tmp_path,
                                                     case):
    est, X, dtype = _set_up(fitted_estimators, case)
    path = est.to_torchscript(tmp_path / "model.pt", input_dtype=dtype)
    extra = {"metadata.json": ""}
    model = torch.jit.load(path, _extra_files=extra)
    assert 0 < est.predict(X)[:, 0].sum() < len(X)  # both decisions
    with torch.no_grad():
        for batch in _batches(X):
            _assert_parity(est, batch, lambda B: [
                t.numpy() for t in model(torch.from_numpy(B))])
    assert json.loads(extra["metadata.json"])["input_dtype"] == dtype
    # images of the other dtype are refused: the trace would scale 0-1
    # floats by 1/255 again (or take 0-255 uint8 as floats), silently
    other = (torch.from_numpy(X[:2]).float() / 255 if dtype == "uint8"
             else torch.from_numpy(np.round(X[:2] * 255).astype(np.uint8)))
    with pytest.raises(Exception, match=f"This model takes {dtype} images"):
        model(other)


@pytest.mark.slow
def test_exports_name_the_points_learnt_from_a_dataframe(tmp_path):
    # a landmark model fitted on a named DataFrame wrote no landmark names
    from sklocalize.datasets import make_landmarks
    from sklocalize.targets import landmark_frame

    X, y = make_landmarks(n_samples=16, image_size=16, random_state=0)
    frame = landmark_frame(y, landmark_names=[f"p{i}" for i in range(6)])
    est = tiny_estimator(LandmarkEstimator, module__width=8, max_epochs=1,
                         tta_reframe=0, tta_shift=0.0).fit(X, frame)
    assert est.landmark_names is None and est.landmark_names_ == [
        f"p{i}" for i in range(6)]
    extra = {"metadata.json": ""}
    torch.jit.load(est.to_torchscript(tmp_path / "m.pt"), _extra_files=extra)
    assert json.loads(extra["metadata.json"])["landmark_names"] == [
        f"p{i}" for i in range(6)]


@pytest.mark.slow
def test_the_user_guide_snippet_runs_the_onnx_model(onnxruntime, onnx_exports,
                                                    tmp_path, monkeypatch, capsys):
    # docs/user_guide.rst includes this very file; the model is what
    # est.to_onnx("boxes.onnx") writes (uint8 input: fitted on a 0-1 scale)
    est, X, path = onnx_exports("localizer-uint8-flip")
    monkeypatch.chdir(tmp_path)
    shutil.copy(path, "boxes.onnx")
    np.save("images.npy", X)
    found = runpy.run_path(str(SNIPPET), run_name="__main__")
    np.testing.assert_allclose(found["y"], est.predict(X), atol=TOLERANCE)
    np.testing.assert_allclose(found["proba"], est.predict_proba(X), atol=TOLERANCE)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == est.predict(X)[:, 0].sum()
    assert printed[0].split()[0] in {str(c) for c in est.classes_}


@pytest.mark.slow
def test_prediction_module_is_predict_in_torch(fitted_estimators):
    est, X, dtype = _set_up(fitted_estimators, "landmarks-float32-reframe-shift")
    module = export.PredictionModule(est)
    assert module.input_dtype == "uint8"  # fitted on a 0-1 scale
    with torch.no_grad():
        y, proba = export.PredictionModule(est, input_dtype=dtype)(torch.from_numpy(X))
    np.testing.assert_allclose(y.numpy(), est.predict(X), atol=1e-10)
    np.testing.assert_allclose(proba.numpy(), est.predict_proba(X), atol=1e-10)


# --------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("method", ["to_onnx", "to_torchscript"])
def test_export_needs_a_fitted_estimator(tmp_path, method):
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        getattr(LocalizerEstimator(), method)(tmp_path / "model")
    with pytest.raises(TypeError, match="estimator must be a fitted "
                       "LocalizerEstimator or LandmarkEstimator; got an object of "
                       "type str"):
        getattr(export, method)("model", tmp_path / "model")


@pytest.mark.parametrize("method", ["to_onnx", "to_torchscript"])
def test_export_checks_the_path(fitted_estimators, tmp_path, method):
    est = fitted_estimators[LocalizerEstimator][0]
    export_to = getattr(est, method)
    with pytest.raises(TypeError, match="path must be a str or path-like naming "
                       "the file to write .*; got an object of type int"):
        export_to(3)
    with pytest.raises(ValueError, match="path must name a file to write .*, a "
                       "folder"):
        export_to(tmp_path)
    with pytest.raises(FileNotFoundError, match="in a folder that does not exist: "
                       ".*missing.*create the folder first"):
        export_to(tmp_path / "missing" / "model")
    assert not list(tmp_path.iterdir())


def test_export_checks_the_input_dtype(fitted_estimators, tmp_path):
    est = fitted_estimators[LocalizerEstimator][0]
    with pytest.raises(ValueError, match="input_dtype must be 'uint8', 'float32' "
                       "or None; got 'float64'"):
        est.to_torchscript(tmp_path / "model.pt", input_dtype="float64")
    # an estimator fitted on 0-255 floats takes no uint8 images
    on_255 = copy.deepcopy(est)
    on_255.pixel_scale_ = "0-255"
    with pytest.raises(ValueError, match="input_dtype='uint8' scales the images "
                       "to 0-1, but this LocalizerEstimator was fitted on images "
                       "on a 0-255 scale; export with input_dtype='float32'"):
        on_255.to_torchscript(tmp_path / "model.pt", input_dtype="uint8")
    assert export.PredictionModule(on_255).input_dtype == "float32"


def test_export_refuses_a_flip_that_predict_refuses(fitted_estimators, tmp_path):
    est = copy.deepcopy(fitted_estimators[LandmarkEstimator][0])
    est.set_params(flip_pairs=None, tta_flip=True)
    with pytest.raises(ValueError, match="tta_flip flips images horizontally.*"
                       "set flip_pairs"):
        est.to_torchscript(tmp_path / "model.pt")


@pytest.mark.slow
def test_export_raises_where_the_file_differs(fitted_estimators, tmp_path,
                                              monkeypatch):
    est = copy.deepcopy(fitted_estimators[LocalizerEstimator][0])
    est.set_params(tta_flip=True)
    monkeypatch.setattr(export, "_TOLERANCE", -1.0)  # any difference is too much
    with pytest.raises(RuntimeError, match=r"The TorchScript model written "
                       r"differs from the estimator's predictions by up to .* Turn "
                       r"the test-time passes off \(est.set_params\(tta_flip="
                       r"False\)\) and export again, or pass check=False"):
        est.to_torchscript(tmp_path / "model.pt")


def test_onnx_export_without_the_extra_says_how_to_install_it(
        fitted_estimators, tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: (
        None if name == "onnxscript" else find_spec(name, *args)))
    est = fitted_estimators[LocalizerEstimator][0]
    with pytest.raises(ImportError, match=r'Exporting to ONNX needs onnxscript, '
                       r'which is not installed: pip install "sklocalize\[export\]"'):
        est.to_onnx(tmp_path / "model.onnx")


@pytest.mark.parametrize("name", export.__all__)
def test_export_docstrings(name):
    docscrape = pytest.importorskip("numpydoc.docscrape",
                                    reason="numpydoc is not installed")
    obj = getattr(export, name)
    doc = (docscrape.ClassDoc if inspect.isclass(obj) else docscrape.FunctionDoc)(obj)
    assert doc["Parameters"]
    if not inspect.isclass(obj):
        assert doc["Returns"]
