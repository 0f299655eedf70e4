"""Test-time augmentation: predict on moved copies of the images and move the
outputs back, in torch.

Three passes, each optional, set by the estimators' ``tta_flip``,
``tta_shift`` and ``tta_reframe`` parameters:

- **flip**: the outputs on each image are averaged with those on its mirror
  image, mirrored back (:meth:`task.unflip <sklocalize.tasks.LandmarkTask.unflip>`).
- **shift**: the outputs are averaged over four copies of each image moved
  diagonally by a fraction of a pixel (bicubic resampling), moved back
  (``task.unwarp``): this averages out part of the error that a strided
  network's sampling grid puts on positions.
- **reframe**: the image is resampled so that the points predicted so far
  land on the training mean shape (``task.reframing``), predicted again and
  the points mapped back; the presence stays that of the image as given.

Everything stays a float64 torch tensor on the CPU until the estimator decodes
the outputs, once, to numpy.
"""

import torch

from .dataset import float_images
from .geometry import warp_images

__all__ = ["predict_outputs"]

# the four diagonal moves of the shift copies, in units of the shift
_MOVES = torch.tensor([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=torch.float32)


def _mean(runs):
    """The elementwise mean of a list of output tuples."""
    return tuple(sum(parts) / len(parts) for parts in zip(*runs))


def _flipped(forward, X, task, flip):
    """The outputs on ``X``, averaged with the mirror images' if ``flip``
    (one forward call on both: for a few images, the cost of a call is most
    of the cost)."""
    if not flip:
        return forward(X)
    n = X.shape[0]  # not len(X): a traced graph keeps it variable
    both = forward(torch.cat([X, X.flip(-1)]))
    return _mean([tuple(o[:n] for o in both),
                  task.unflip(tuple(o[n:] for o in both))])


def _warped(forward, X, task, matrix, shift, *, flip, moves):
    """Outputs on ``X`` resampled (bicubic) so that relative ``p`` moves to
    ``A (p - 0.5) + 0.5 + t``, moved back; averaged over ``moves`` added to
    ``t``."""
    images = float_images(X)
    runs = []
    for move in moves:
        t = shift + move
        warped = warp_images(images, matrix, t, mode="bicubic")
        runs.append(task.unwarp(_flipped(forward, warped, task, flip), matrix, t))
    return _mean(runs)


def predict_outputs(forward, X, task, *, image_size, flip=False, shift=0.0,
                    reframe=0, chunk=1024):
    """The network's outputs on ``X`` under test-time augmentation.

    Parameters
    ----------
    forward : callable
        ``forward(images) -> tuple of float64 tensors``: the network's first
        ``task.n_predicted`` outputs, on the CPU, for uint8 or float images.
    X : torch.Tensor of shape (n, C, H, W)
        Checked images, uint8 or float32.
    task : LocalizationTask or LandmarkTask
        How outputs move back (:mod:`sklocalize.tasks`).
    image_size : tuple of (height, width)
        The images' size in pixels (the shift is in pixels).
    flip : bool, default=False
        Average with the mirror images.
    shift : float, default=0.0
        Average over four copies moved diagonally by ``shift`` pixels; in the
        last re-framing pass when ``reframe`` is set. 0 turns it off.
    reframe : int, default=0
        Re-framing passes (``task.reframing``).
    chunk : int or None, default=1024
        Images augmented at a time: their mirror images and resampled copies
        are all the memory the augmentation takes beyond ``X``, however large
        ``X`` is. None takes all at once (an exported graph, which must not
        depend on the batch size it was built with). Each image's outputs are
        its own, so chunks do not change them.

    Returns
    -------
    outputs : tuple of torch.Tensor
        The averaged outputs, float64.
    """
    if flip:
        task.check_flip("tta_flip")
    if chunk is not None and X.shape[0] > chunk:
        parts = [predict_outputs(forward, X[start:start + chunk], task,
                                 image_size=image_size, flip=flip, shift=shift,
                                 reframe=reframe, chunk=None)
                 for start in range(0, X.shape[0], chunk)]
        return tuple(torch.cat(p) for p in zip(*parts))
    h, w = image_size
    no_move = torch.zeros(1, 2)
    moves = (_MOVES * (shift / torch.tensor([w, h], dtype=torch.float32))
             if shift else no_move)
    if not reframe:
        if not shift:
            return _flipped(forward, X, task, flip)
        n = X.shape[0]  # not len(X): a traced graph keeps it variable
        return _warped(forward, X, task, torch.eye(2).expand(n, 2, 2),
                       torch.zeros(n, 2), flip=flip, moves=moves)
    outputs = _flipped(forward, X, task, flip)  # only finds the object
    for k in range(reframe):
        matrix, t = task.reframing(outputs, image_size)
        last = k == reframe - 1
        moved = _warped(forward, X, task, matrix, t, flip=flip,
                        moves=moves if last else no_move)
        outputs = (outputs[0], *moved[1:])  # the presence of the image as given
    return outputs
