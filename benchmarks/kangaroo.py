"""A small real photo folder through the user's path: ``sklocalize train``,
then ``sklocalize predict`` on photos it did not see, scored in each photo's
pixels.

    make bench-deps      # the ImageNet weights, offline
    python benchmarks/kangaroo.py --data-root ../shared/datasets/kangaroo

The folder (Pascal VOC, 164 web photos of kangaroos, a third of them with
several) is split by photo number: photos 1 to ``--train-max`` train, the
others are the new photos. The command line runs as a user runs it, with its
defaults (``--multiple largest``: the largest kangaroo of a photo is its
object; ``--on-error skip`` for the one truncated photo) plus ``--cli-args``;
each seed (``--seed``) changes the held-out split, the background crops and
the training. Each new photo is scored against its largest kangaroo: IoU in
the photo's pixels, 0 where the model says no kangaroo. ``IoU, any`` scores
the predicted box against the kangaroo it overlaps most, which says how much
of what is lost comes from photos where the model found another kangaroo than
the largest. ``mean box`` predicts the training photos' mean box everywhere.
"""

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402


def voc_boxes(xml):
    """Every box of a VOC file, continuous pixels ``x1, y1, x2, y2``, and the
    photo's (width, height)."""
    root = ET.parse(xml).getroot()
    size = root.find("size")
    width, height = (float(size.findtext(k)) for k in ("width", "height"))
    boxes = []
    for obj in root.iter("object"):
        b = obj.find("bndbox")
        x1, y1, x2, y2 = (float(b.findtext(k)) for k in ("xmin", "ymin", "xmax",
                                                            "ymax"))
        boxes.append((x1 - 1, y1 - 1, x2, y2))  # VOC: 1-based, inclusive
    return np.array(boxes), (width, height)


def iou(box, boxes):
    """IoU of one ``xyxy`` box with each of ``boxes``."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter)


def largest(boxes):
    return boxes[np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))]


def number(path):
    return int("".join(c for c in Path(path).stem if c.isdigit()))


def cli(*args):
    """Run ``sklocalize`` as a user does; its output, and its seconds."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sklocalize", *args],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"sklocalize {' '.join(args)} failed:\n{done.stdout}\n"
                           f"{done.stderr}")
    return done.stdout + done.stderr, time.perf_counter() - t0


def photo_scores(predictions, every_box):
    """Per photo: IoU of the predicted ``x1, y1, x2, y2`` with its largest
    kangaroo, and with the kangaroo the box overlaps most (0 where none is
    predicted); ``every_box`` holds each photo's kangaroos, in the
    predictions' units."""
    rows = []
    for (_, row), boxes in zip(predictions.iterrows(), every_box):
        found = row["p_c"] == 1
        box = row[["x1", "y1", "x2", "y2"]].to_numpy(float)
        rows.append({
            "iou": float(iou(box, largest(boxes)[None])[0]) if found else 0.0,
            "iou_any": float(iou(box, boxes).max()) if found else 0.0,
            "found": found, "several": len(boxes) > 1})
    return pd.DataFrame(rows)


def score(predictions, annots):
    """``photo_scores`` of predictions in photo pixels, against the photos'
    VOC files in ``annots``."""
    return photo_scores(predictions, [
        voc_boxes(annots / f"{Path(file).stem}.xml")[0]
        for file in predictions["file"]])


def iou_columns(scores):
    """The table's columns of ``photo_scores``."""
    return {"mean IoU": scores["iou"].mean(),
            "IoU, any kangaroo": scores["iou_any"].mean(),
            "IoU, one kangaroo": scores.loc[~scores["several"], "iou"].mean(),
            "IoU, several": scores.loc[scores["several"], "iou"].mean(),
            "found": int(scores["found"].sum())}


def mean_box_iou(train_xml, test_xml):
    """IoU of the training photos' mean relative box, on each new photo."""
    def relative(xml):
        boxes, (w, h) = voc_boxes(xml)
        return largest(boxes) / [w, h, w, h]

    mean = np.mean([relative(x) for x in train_xml], axis=0)
    return float(np.mean([iou(mean, relative(x)[None])[0] for x in test_xml]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--train-max", type=int, default=130,
                        help="photos numbered up to this train (default 130)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cli-args", default="",
                        help="more options for sklocalize train, e.g. "
                             "'--backbone scratch'")
    parser.add_argument("--label", default="CLI defaults")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "kangaroo.md")
    args = parser.parse_args(argv)
    annots, images = args.data_root / "annots", args.data_root / "images"
    xml = sorted(annots.glob("*.xml"))
    train_xml = [x for x in xml if number(x) <= args.train_max]
    test_xml = [x for x in xml if number(x) > args.train_max]
    test_photos = [images / f"{x.stem}.jpg" for x in test_xml]
    baseline = mean_box_iou(train_xml, test_xml)

    records, per_seed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "annots").mkdir()
        for x in train_xml:
            (tmp / "annots" / x.name).symlink_to(x.resolve())
        for seed in args.seeds:
            model, out = tmp / f"model-{seed}.skl", tmp / f"pred-{seed}.csv"
            log, train_s = cli("train", "--task", "localization", "--annotations",
                               str(tmp / "annots"), "--images", str(images),
                               "--on-error", "skip", "--save", str(model),
                               "--seed", str(seed), "--no-progress",
                               *args.cli_args.split())
            print(log, flush=True)
            _, predict_s = cli("predict", str(model), *map(str, test_photos),
                               "--out", str(out))
            scores = score(pd.read_csv(out), annots)
            per_seed.append(scores)
            records.append({
                "seed": seed, **iou_columns(scores),
                "train + retrain s": train_s, "predict s": predict_s})
            print(records_table(records[-1:]), flush=True)
    table = pd.DataFrame(records)
    means = table.drop(columns="seed").mean()
    spread = table.drop(columns="seed").std(ddof=0)
    summary = (f"{args.label}: mean IoU {means['mean IoU']:.3f} "
               f"(+- {spread['mean IoU']:.3f} over seeds "
               f"{', '.join(map(str, args.seeds))}; min "
               f"{table['mean IoU'].min():.3f}, max {table['mean IoU'].max():.3f}); "
               f"against any kangaroo {means['IoU, any kangaroo']:.3f}; the "
               f"training photos' mean box {baseline:.3f}; "
               f"{means['train + retrain s']:.0f} s to train and retrain")
    n_several = int(per_seed[0]["several"].sum())
    text = "\n".join([
        f"# Kangaroo folder through the command line: {args.label}", "",
        f"`{command_line(__file__, argv)}`", "",
        f"{machine()}", "",
        f"Photos 1-{args.train_max} train ({len(train_xml)} annotated), the "
        f"other {len(test_xml)} are new ({n_several} with several kangaroos); "
        f"`sklocalize train{' ' + args.cli_args if args.cli_args else ''}` with "
        "its defaults and `--on-error skip`, then "
        "`sklocalize predict` on the new photos; IoU in each photo's pixels "
        "against its largest kangaroo (0 where none is predicted).", "",
        records_table(records), "",
        summary + ".", ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
