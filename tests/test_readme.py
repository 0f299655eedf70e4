"""Every code block of the README runs as written, on folders of generated
photos that the test writes itself: Python blocks with ``exec``, the
``sklocalize`` commands through the command line's ``main``. Training is
shortened as ``tests/_snippets.py`` lists (1 epoch, fewer images); the shell
lines that are not ``sklocalize`` commands (``make``, ``pip``) are listed
there with the reason they are not run."""

import matplotlib.pyplot as plt
import pytest

from sklocalize.datasets import make_localization

from ._snippets import (
    NOT_CODE,
    markdown_blocks,
    run_python,
    run_shell,
    save_photo,
    set_fast_defaults,
    shell_commands,
    write_voc,
)

BLOCKS = markdown_blocks()


def _write_folders(root):
    """What the README's "Your own photos" names: 24 annotated photos
    (``annotations/``, Pascal VOC, and ``photos/``), 6 new photos
    (``new_photos/``) and 8 annotated test photos (``test_annotations/``,
    ``test_photos/``), 32x32 pixels."""
    X, y = make_localization(n_samples=38, image_size=32, n_channels=3,
                             random_state=0, as_frame=True)
    write_voc(root / "annotations", root / "photos", X[:24], y[:24],
              [f"{i}.png" for i in range(24)])
    (root / "new_photos").mkdir()
    for i, image in enumerate(X[24:30]):
        save_photo(image, root / "new_photos" / f"new{i}.jpg")
    write_voc(root / "test_annotations", root / "test_photos", X[30:], y[30:],
              [f"test{i}.png" for i in range(8)])


@pytest.fixture
def folder(tmp_path, monkeypatch):
    _write_folders(tmp_path)
    monkeypatch.chdir(tmp_path)
    set_fast_defaults(monkeypatch)
    yield tmp_path
    plt.close("all")


def test_the_readme_has_the_users_journey_first():
    headings = [b.heading for b in BLOCKS]
    assert headings[0] == "Install"
    assert [b.language for b in BLOCKS if b.heading == "Your own photos"] == [
        "python", "bash"]
    commands = [c.split()[1] for b in BLOCKS if b.heading == "Your own photos"
                and b.language == "bash" for c in shell_commands(b)]
    assert commands == ["train", "predict", "evaluate"]


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(block, folder):
    if block.language in NOT_CODE:
        pytest.skip("text, not code")
    if block.language == "bash":
        skipped = run_shell(block)
        if skipped and len(skipped) == len(shell_commands(block)):
            pytest.skip("; ".join(f"`{c}`: {why}" for c, why in skipped))
        if block.heading == "Your own photos":
            assert (folder / "model.skl").is_file()
            lines = (folder / "predictions.csv").read_text().splitlines()
            assert lines[0].startswith("file,width,height,p_c,x1,y1,x2,y2")
            assert len(lines) == 1 + 6
            assert len(list((folder / "drawn").iterdir())) == 6
        return
    assert block.language == "python", f"{block.id}: unknown language"
    namespace = {"__name__": "__readme__"}
    run_python(block, namespace)
    if block.heading == "Your own photos":
        boxes = namespace["boxes"]
        assert list(boxes["file"]) == [f"new{i}.jpg" for i in range(6)]
        assert {"x1", "y1", "x2", "y2", "label"} <= set(boxes.columns)
        assert sorted(p.name for p in (folder / "drawn").iterdir()) == [
            f"new{i}.png" for i in range(6)]
        assert (folder / "model.skl").is_file()

