"""Every public name has a numpydoc docstring with the sections it needs."""

import importlib
import inspect
import re

import pytest

docscrape = pytest.importorskip("numpydoc.docscrape",
                                reason="numpydoc is not installed")

MODULES = [
    "sklocalize", "sklocalize.boxes", "sklocalize.targets", "sklocalize.metrics",
    "sklocalize.model_selection", "sklocalize.nn", "sklocalize.augment",
    "sklocalize.callbacks", "sklocalize.datasets", "sklocalize.plotting",
    "sklocalize.parallel", "sklocalize.tasks", "sklocalize.geometry",
    "sklocalize.dataset", "sklocalize.tta", "sklocalize.persistence",
    "sklocalize.nn.backbones", "sklocalize.recipes",
]
NEEDS_EXAMPLES = {"LocalizerEstimator", "LandmarkEstimator"}
# constants and type aliases carry no docstring of their own
SKIP = {"__version__", "BOX_FORMATS", "LOCALIZATION_COLUMNS", "SCORERS", "SHAPES",
        "FACE_LANDMARKS", "FACE_FLIP_PAIRS", "IMAGE_SIZES"}


def public_objects():
    seen = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if name in SKIP or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{module_name}.{name}", obj


def _has_params(func):
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    return any(p.name not in ("self", "cls") for p in sig.parameters.values())


@pytest.mark.parametrize("path,obj", list(public_objects()),
                         ids=[p for p, _ in public_objects()])
def test_numpydoc_sections(path, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{path} has no docstring"
    methods = [m for _, m in inspect.getmembers(obj, callable)
               if getattr(m, "__doc__", None)] if inspect.isclass(obj) else []
    for text in (doc, *(m.__doc__ for m in methods)):
        assert not re.search(r"%\(\w+\)s", text), f"{path}: a shared doc not filled in"
    if inspect.isclass(obj):
        parsed = docscrape.ClassDoc(obj)
        if "__init__" in vars(obj) and _has_params(obj.__init__):
            assert parsed["Parameters"], f"{path}: no Parameters section"
        if obj.__name__ in NEEDS_EXAMPLES:
            assert parsed["Examples"], f"{path}: no Examples section"
    elif callable(obj):
        parsed = docscrape.FunctionDoc(obj)
        if _has_params(obj):
            assert parsed["Parameters"], f"{path}: no Parameters section"
        assert parsed["Returns"] or parsed["Yields"], f"{path}: no Returns section"


@pytest.mark.parametrize("cls_name", sorted(NEEDS_EXAMPLES))
def test_estimator_methods_documented(cls_name):
    import sklocalize

    cls = getattr(sklocalize, cls_name)
    for method in ("fit", "partial_fit", "predict", "predict_proba", "predict_frame",
                   "score", "encode_target", "set_params", "save", "load"):
        parsed = docscrape.FunctionDoc(getattr(cls, method))
        assert parsed["Parameters"], f"{cls_name}.{method}: no Parameters"
        assert parsed["Returns"], f"{cls_name}.{method}: no Returns"


@pytest.mark.parametrize("cls_name", sorted(NEEDS_EXAMPLES))
def test_estimator_documented_defaults_match_the_signature(cls_name):
    # "name : type, default=value" (or "a, b : type, default=1, 2") must say
    # what the estimator really defaults to; values that are not Python
    # literals (classes, "auto"-style names in prose) are compared by name
    import ast

    import sklocalize

    cls = getattr(sklocalize, cls_name)
    params = cls().get_params(deep=False)
    checked = 0
    for param in docscrape.ClassDoc(cls)["Parameters"]:
        if "default=" not in param.type:
            continue
        names = [n.strip() for n in param.name.split(",")]
        text = param.type.split("default=", 1)[1].strip()
        values = [v.strip() for v in text.split(",")] if len(names) > 1 else [text]
        for name, value in zip(names, values, strict=True):
            if name not in params:
                continue
            actual = params[name]
            try:
                expected = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                assert value.split(".")[-1] == getattr(actual, "__name__", actual), (
                    f"{cls_name}({name}): documented {value}, default {actual!r}")
            else:
                assert expected == actual, (
                    f"{cls_name}({name}): documented {value}, default {actual!r}")
            checked += 1
    assert checked >= 10
