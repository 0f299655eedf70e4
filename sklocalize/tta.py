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
  Passes repeat, from the points the previous pass found, until an image's
  frame stops moving (less than ``tolerance`` pixels) or the passes run out,
  so a face framed much tighter or looser than the training faces is brought
  to their framing in steps.

Everything stays a float64 torch tensor on the CPU until the estimator decodes
the outputs, once, to numpy.
"""

import torch

from .dataset import float_images
from .geometry import map_points, warp_images

__all__ = ["frame_motion", "predict_outputs"]

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


def frame_motion(old, new, image_size):
    """How far a new frame moves the image seen through an old one: the
    largest displacement, in pixels of the network's input, of the old
    frame's four corners.

    Parameters
    ----------
    old, new : tuple of torch.Tensor of shape (n, 2, 2) and (n, 2)
        Frames ``(A, t)`` of ``p -> A (p - 0.5) + 0.5 + t``.
    image_size : tuple of (height, width)

    Returns
    -------
    motion : torch.Tensor of shape (n,)
    """
    n = old[0].shape[0]
    corners = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                           dtype=torch.float64).expand(n, 4, 2)
    there = map_points(corners, old[0], old[1], inverse=True)  # in the image
    moved = map_points(there, new[0], new[1]) - corners
    h, w = image_size
    pixels = moved * torch.tensor([w, h], dtype=torch.float64)
    return torch.linalg.vector_norm(pixels, dim=2).amax(dim=1)


def predict_outputs(forward, X, task, *, image_size, tta_flip=False, tta_shift=0.0,
                    tta_reframe=0, tolerance=0.5, traceable=False, chunk=1024):
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
    tta_flip : bool, default=False
        Average with the mirror images.
    tta_shift : float, default=0.0
        Average over four copies moved diagonally by ``tta_shift`` pixels; in
        the last re-framing pass when ``tta_reframe`` is set. 0 turns it off.
    tta_reframe : int, default=0
        The most re-framing passes (``task.reframing``): an image stops
        earlier once its frame moves less than ``tolerance``.
    tolerance : float, default=0.5
        Pixels of the network's input (:func:`frame_motion`) under which an
        image's frame has stopped moving, and its last pass is made; half a
        pixel, a fraction of the error of a point.
    traceable : bool, default=False
        Make every pass on every image, keeping each image's frame once it
        has settled (``torch.where``), as a traced graph must: its
        operations cannot depend on the values of the images. The outputs
        are those of the default, which passes over the settled images.
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
    flip, shift, reframe = tta_flip, tta_shift, tta_reframe
    if flip:
        task.check_flip("tta_flip")
    if chunk is not None and X.shape[0] > chunk:
        parts = [predict_outputs(forward, X[start:start + chunk], task,
                                 image_size=image_size, tta_flip=flip,
                                 tta_shift=shift, tta_reframe=reframe,
                                 tolerance=tolerance, traceable=traceable,
                                 chunk=None)
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
    matrix, t = task.reframing(outputs, image_size)
    moving = torch.ones(X.shape[0], dtype=torch.bool)  # until its frame settles
    for _ in range(reframe - 1):  # the passes before the last move the frame
        if traceable:  # every image, its frame kept once settled
            points = _warped(forward, X, task, matrix, t, flip=flip, moves=no_move)
            new_matrix, new_t = task.reframing(points, image_size)
            still = frame_motion((matrix, t), (new_matrix, new_t), image_size)
            matrix = torch.where(moving[:, None, None], new_matrix, matrix)
            t = torch.where(moving[:, None], new_t, t)
            moving = moving & (still >= tolerance)
            continue
        index = moving.nonzero().squeeze(1)  # the same, for the moving only
        if not len(index):
            break
        points = _warped(forward, X[index], task, matrix[index], t[index],
                         flip=flip, moves=no_move)
        new = task.reframing(points, image_size)
        still = frame_motion((matrix[index], t[index]), new, image_size)
        matrix, t, moving = matrix.clone(), t.clone(), moving.clone()
        matrix[index], t[index] = new
        moving[index] = still >= tolerance
    moved = _warped(forward, X, task, matrix, t, flip=flip, moves=moves)
    return (outputs[0], *moved[1:])  # the presence of the image as given
