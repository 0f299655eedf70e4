"""``sklocalize train``, ``predict`` and ``evaluate``."""

from pathlib import Path

from ._data import (
    _backbone,
    _color,
    _estimator,
    _load_model,
    _options_for,
    _read,
    _search,
    _split,
    _with_background,
)
from ._options import (
    _NOUNS,
    IMAGE_SIZES,
    CommandError,
    _epochs,
    _normalization,
    _one_line,
    _resolve_index,
)
from ._reports import (
    _report,
    _summary,
)

# --------------------------------------------------------------------------
# the commands


def train(args):
    """``sklocalize train``: read, split, (search,) fit, report, retrain on
    every image, save."""
    import time

    from ..recipes import photo_settings
    from ..tasks import TASKS

    task = args.task
    _options_for(task, args)
    _check_writable(args.save, "--save")
    # refuse an unknown --param before reading anything
    _estimator(task, seed=args.seed, epochs=args.epochs, progress=False,
               params=args.param)
    backbone, which = _backbone(args.backbone, args.backbone_weights)
    image_size = args.image_size or IMAGE_SIZES[backbone]
    X, y, names = _read(task, args.annotations, args.images, fmt=args.format,
                        image_size=image_size, multiple=args.multiple,
                        landmark_names=args.landmark_names,
                        pixel_offset=args.pixel_offset, on_error=args.on_error)
    print(f"Read {len(X)} images from {args.annotations}: {_summary(y, task)}; "
          f"resized to {X.shape[3]}x{X.shape[2]} px.")
    print(which)
    task_params = ({} if args.backbone_weights is None
                   else {"backbone_weights": str(args.backbone_weights)})
    if task == "landmarks":
        n_points = (y.shape[1] - 4) // 2  # p, the points, file, width, height
        _normalization(args.normalize, names, n_points)  # refuse a bad one now
        if names is not None:
            task_params["landmark_names"] = names
        if args.flip_pairs is not None:
            task_params["flip_pairs"] = [
                tuple(_resolve_index(t, names, n_points, "--flip-pairs") for t in pair)
                for pair in args.flip_pairs]

    def estimator(n_images):
        settings = photo_settings(task, n_images, backbone=backbone)
        est = _estimator(task, seed=args.seed, epochs=args.epochs,
                         progress=args.progress, params=args.param,
                         settings=settings)
        return est.set_params(**task_params)

    if args.holdout:
        X_train, X_test, y_train, y_test = _split(X, y, task, args.seed, args.holdout)
        print(f"Held out {len(X_test)} images ({args.holdout:.0%}, stratified by "
              f"presence{' and class' if TASKS[task].has_classes else ''}) to "
              f"measure the model; training on the other {len(X_train)}.")
        # crops of the held-out photos too, so that the table (and the
        # presence threshold) see images without an object
        n_held_out = len(X_test)
        X_test, y_test = _with_background(task, X_test, y_test, args, quiet=True)
        if len(X_test) > n_held_out:
            print(f"Added {len(X_test) - n_held_out} background crops of the "
                  "held-out photos to them, as images without an object.")
    else:
        X_train, y_train, X_test, y_test = X, y, None, None
        print(f"--holdout 0: training on all {len(X)} images, none held out.")
    X_train, y_train = _with_background(task, X_train, y_train, args)
    est = estimator(len(X_train))
    searched = _search(est, X_train, y_train, task, args.seed) if args.search else {}
    est.set_params(**searched)
    print(f"\nTraining {type(est).__name__} for {_epochs(est.max_epochs)} on "
          f"{len(X_train)} images")
    t0 = time.perf_counter()
    est.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    if X_test is not None:
        _report(est, X_test, y_test,
                f"Held-out {_NOUNS[task]} metrics ({len(X_test)} images)",
                normalize=args.normalize,
                extra=[("training seconds", f"{seconds:.1f}")])
        threshold = _presence_threshold(est, X_test, y_test, args.presence_threshold)
        if args.retrain:
            # the same recipe (and the searched parameters), on every image:
            # the model saved learns from the held-out images too
            X_all, y_all = _with_background(task, X, y, args, quiet=True)
            est = estimator(len(X_all)).set_params(**searched)
            print(f"\nRetraining on all {len(X_all)} images for "
                  f"{_epochs(est.max_epochs)} (--no-retrain saves the model the "
                  "table measured)")
            t0 = time.perf_counter()
            est.fit(X_all, y_all)
            print(f"Trained in {time.perf_counter() - t0:.1f} s.")
        est.set_params(presence_threshold=threshold)
    else:
        print(f"Trained in {seconds:.1f} s.")
        if args.presence_threshold is not None:
            est.set_params(presence_threshold=args.presence_threshold)
    est.set_params(verbose=0)  # the saved model is silent, as estimators are
    path = est.save(args.save)
    if X_test is None or args.retrain:
        what = f"all {len(X)} images"
    else:
        what = (f"the {len(X) - n_held_out} training images, not on the "
                f"{n_held_out} held out (drop --no-retrain to train on all)")
    print(f"\nSaved the model trained on {what} to {path}.")
    return 0


def _presence_threshold(est, X_test, y_test, option):
    """The presence threshold of the saved model: ``--presence-threshold``,
    else the one that scores best on the held-out images."""
    if option is not None:
        return option
    from ..model_selection import tune_presence_threshold

    threshold, scores = tune_presence_threshold(est, X_test, y_test)
    if threshold != est.presence_threshold:
        own = est.score(X_test, y_test)
        print(f"Presence threshold {threshold:g}: it scored best on the held-out "
              f"images ({scores.max():.3f}, against {own:.3f} at "
              f"{est.presence_threshold:g}); the saved model uses it "
              "(--presence-threshold sets another).")
    return threshold


def _check_writable(path, option):
    """Refuse, before training, a model path whose folder does not exist."""
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise CommandError(f"{option} {path}: the folder {folder} does not exist; "
                           "create it first, or save elsewhere.")
    if Path(path).is_dir():
        raise CommandError(f"{option} {path} is a folder; give a file name, e.g. "
                           f"{Path(path) / 'model.skl'}.")


def _photo_paths(items):
    """The image files of ``items`` (files, or folders: their image files,
    sorted by name, sub-folders not entered)."""
    from ..datasets._images import image_files

    paths = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = image_files(path)
            if not found:
                raise CommandError(f"{path} holds no image file.")
            paths += [path / name for name in found]
        elif path.is_file():
            paths.append(path)
        else:
            raise CommandError(f"No such photo or folder: {path}.")
    return paths


def _drawing_names(paths):
    """A PNG name for each photo: its own name, numbered when two are alike."""
    names, used = [], set()
    for path in paths:
        stem, number = Path(path).stem, 1
        name = f"{stem}.png"
        while name in used:
            number += 1
            name = f"{stem}-{number}.png"
        used.add(name)
        names.append(name)
    return names


def predict(args):
    """``sklocalize predict``: a CSV row (and a picture) per photo."""
    from ..datasets import load_images

    est = _load_model(args.model)
    task = est._task().name
    _options_for(task, args)
    paths = _photo_paths(args.photos)
    if args.draw:
        # named by the photos' own names, not their paths: a path as given
        # (absolute, or through sub-folders) would lead out of the folder
        names = _drawing_names(paths)
        folders = {path.resolve().parent for path in paths}
        if Path(args.draw).resolve() in folders:
            raise CommandError(
                f"--draw {args.draw} holds photos being predicted: the drawings "
                "would overwrite them, or be read as photos next time; draw "
                "into another folder.")
    X, info = load_images(paths, image_size=est.image_size_, color=_color(est),
                          on_error=args.on_error)
    if len(info) < len(paths):  # --on-error skip left some out
        read = set(info["file"])
        kept = [i for i, path in enumerate(paths) if str(path) in read]
        paths = [paths[i] for i in kept]
        names = [names[i] for i in kept] if args.draw else None
    if task == "localization":
        frame = est.predict_frame(X, image_sizes=info,
                                  box_format=args.box_format or "xyxy")
    else:
        frame = est.predict_frame(X, image_sizes=info)
    frame.insert(1, "width", info["width"].to_numpy())
    frame.insert(2, "height", info["height"].to_numpy())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, float_format="%.6g")
    present = int((frame[est._task().presence_column] == 1).sum())
    print(f"Wrote the predictions for {len(frame)} photos ({present} with an "
          f"object) to {out}.")
    if args.draw:
        from ..plotting import draw_predictions

        drawn = frame.drop(columns=["width", "height"]).assign(file=names)
        written = draw_predictions(paths, drawn, out_dir=args.draw)
        print(f"Drew them on the photos: {len(written)} PNG files in "
              f"{args.draw}.")
    return 0


def evaluate(args):
    """``sklocalize evaluate``: the metrics of a saved model on annotations."""
    est = _load_model(args.model)
    task = est._task().name
    _options_for(task, args)
    try:
        X, y, _ = _read(task, args.annotations, args.images, fmt=args.format,
                        image_size=est.image_size_, color=_color(est),
                        multiple=args.multiple,
                        landmark_names=getattr(est, "landmark_names_", None),
                        pixel_offset=args.pixel_offset, on_error=args.on_error)
    except ValueError as exc:
        what = est._task().annotations
        raise CommandError(f"{_one_line(exc)} (read as {what}: {args.model} holds "
                           f"a {type(est).__name__})") from exc
    print(f"Read {len(X)} images from {args.annotations}: {_summary(y, task)}.")
    _report(est, X, y, f"{_NOUNS[task].capitalize()} metrics of {args.model} "
                       f"({len(X)} images)", normalize=args.normalize)
    return 0
