"""Generated data sets: objects on clutter, and synthetic faces."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._validation import MIN_IMAGE_SIZE, check_image_size
from ..boxes import box_convert
from ..targets import landmark_frame, localization_frame

SHAPES = ("square", "circle", "triangle", "cross", "ring")
FACE_LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right",
                  "chin")
FACE_FLIP_PAIRS = ((0, 1), (3, 4))


def _check_side(image_size):
    """The side of the square images, from an int (or a square pair)."""
    height, width = check_image_size(image_size, min_size=MIN_IMAGE_SIZE)
    if height != width:
        raise ValueError(
            f"image_size must be one int, the side of the square images drawn "
            f"here; got {image_size!r}."
        )
    return height


def _check_int(value, name, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) \
            or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    return int(value)


def _check_fraction(value, name, high_open=True):
    ok = isinstance(value, numbers.Real) and 0 <= value and (
        value < 1 if high_open else value <= 1)
    if not ok:
        interval = "[0, 1)" if high_open else "[0, 1]"
        raise ValueError(f"{name} must be a number in {interval}; got {value!r}.")
    return float(value)


def _check_range(value, name, high):
    try:
        low, top = value
        ok = 0 < low <= top <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{name} must be (low, high) with 0 < low <= high <= {high}; got "
            f"{value!r}."
        )
    return low, top


def _grid(size):
    """Pixel-centre coordinates, relative: pixel i is at (i + 0.5) / size."""
    c = (np.arange(size) + 0.5) / size
    return np.meshgrid(c, c)  # xs, ys of shape (size, size)


def _background(rng, size, n_channels, noise, clutter):
    img = rng.uniform(0.05, 0.3) + noise * rng.standard_normal((n_channels, size, size))
    xs, ys = _grid(size)
    for _ in range(clutter):  # faint blobs and stripes that are not objects
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.12)
        blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r**2))
        img += rng.uniform(0.05, 0.25) * blob
    return img


def _shape_mask(kind, xs, ys, cx, cy, half):
    dx, dy = (xs - cx) / half, (ys - cy) / half  # in [-1, 1] inside the box
    if kind == "square":
        return (np.abs(dx) <= 1) & (np.abs(dy) <= 1)
    if kind == "circle":
        return dx**2 + dy**2 <= 1
    if kind == "triangle":  # apex at the top, base at the bottom
        return (dy <= 1) & (dy >= -1) & (np.abs(dx) <= (dy + 1) / 2)
    if kind == "cross":
        return ((np.abs(dx) <= 1) & (np.abs(dy) <= 0.3)) | (
            (np.abs(dy) <= 1) & (np.abs(dx) <= 0.3))
    r2 = dx**2 + dy**2  # ring
    return (r2 <= 1) & (r2 >= 0.45)


def _digit_patch(digit_img, size_px):
    """Resize an 8x8 digit (0-16) to size_px x size_px (bilinear), in 0-1."""
    src = digit_img / 16.0
    c = (np.arange(size_px) + 0.5) * 8 / size_px - 0.5
    c = np.clip(c, 0, 7)
    i0 = np.floor(c).astype(int)
    i1 = np.minimum(i0 + 1, 7)
    f = c - i0
    rows = src[i0] * (1 - f)[:, None] + src[i1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i1] * f[None, :]


def make_localization(n_samples=200, *, image_size=32, n_classes=2,
                      objects="shapes", empty_fraction=0.2, noise=0.05,
                      clutter=2, size_range=(0.25, 0.6), n_channels=1,
                      random_state=None, as_frame=False):
    """Images holding one object or none, with the seed-layout target.

    Objects are bright drawn shapes (``"square"``, ``"circle"``,
    ``"triangle"``, ``"cross"``, ``"ring"``, in that class order) or real
    handwritten digits from scikit-learn's bundled
    :func:`~sklearn.datasets.load_digits`,
    pasted at a random position and scale on a noisy, cluttered background.
    Nothing is downloaded.

    Parameters
    ----------
    n_samples : int, default=200
    image_size : int, default=32
        Images are square, ``image_size`` pixels a side (at least 16).
    n_classes : int, default=2
        Number of object classes: up to 5 shapes or 10 digits.
    objects : {"shapes", "digits"}, default="shapes"
    empty_fraction : float in [0, 1), default=0.2
        Share of images without an object (``p_c = 0``).
    noise : float, default=0.05
        Standard deviation of the Gaussian pixel noise.
    clutter : int, default=2
        Faint blobs per image that are not objects.
    size_range : tuple of float, default=(0.25, 0.6)
        The object's size (box side) as a share of the image, drawn uniformly.
    n_channels : {1, 3}, default=1
        3 draws each object in a random colour over a colour-noise background.
    random_state : int, RandomState instance or None, default=None
    as_frame : bool, default=False
        Return ``y`` as the tidy DataFrame (``p_c, b_x, b_y, b_h, b_w,
        label`` with class names) instead of the array.

    Returns
    -------
    X : ndarray of shape (n_samples, n_channels, image_size, image_size), float32
        Pixel values in [0, 1].
    y : ndarray of shape (n_samples, 5 + n_classes) or DataFrame
        The seed layout; the box is the object's exact box in relative units.
        Where ``p_c = 0`` the other entries are 0.

    Examples
    --------
    >>> from sklocalize.datasets import make_localization
    >>> X, y = make_localization(n_samples=10, image_size=16, random_state=0)
    >>> X.shape, y.shape
    ((10, 1, 16, 16), (10, 7))
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    image_size = _check_side(image_size)
    n_channels = _check_int(n_channels, "n_channels", 1)
    if n_channels not in (1, 3):
        raise ValueError(f"n_channels must be 1 or 3; got {n_channels!r}.")
    if objects not in ("shapes", "digits"):
        raise ValueError(f"objects must be 'shapes' or 'digits'; got {objects!r}.")
    max_classes = len(SHAPES) if objects == "shapes" else 10
    n_classes = _check_int(n_classes, "n_classes", 1)
    if n_classes > max_classes:
        raise ValueError(
            f"n_classes must be at most {max_classes} for objects={objects!r}; got "
            f"{n_classes}."
        )
    empty_fraction = _check_fraction(empty_fraction, "empty_fraction")
    lo, hi = _check_range(size_range, "size_range", 1)
    rng = check_random_state(random_state)
    if objects == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        pools = [digits.images[digits.target == k] for k in range(n_classes)]
        names = list(range(n_classes))
    else:
        names = list(SHAPES[:n_classes])

    xs, ys = _grid(image_size)
    X = np.empty((n_samples, n_channels, image_size, image_size), dtype=np.float32)
    y = np.zeros((n_samples, 5 + n_classes))
    for i in range(n_samples):
        img = _background(rng, image_size, n_channels, noise, clutter)
        if rng.uniform() >= empty_fraction:
            k = rng.randint(n_classes)
            side = rng.uniform(lo, hi)
            cx, cy = rng.uniform(side / 2, 1 - side / 2, size=2)
            colour = rng.uniform(0.3, 1.0, size=(n_channels, 1, 1)) \
                if n_channels == 3 else 1.0
            strength = rng.uniform(0.55, 0.8)
            if objects == "shapes":
                mask = _shape_mask(names[k], xs, ys, cx, cy, side / 2)
                img = np.where(mask, strength * colour + img * 0.3, img)
                box = (cx, cy, side, side)
            else:
                size_px = max(int(round(side * image_size)), 2)
                x0 = int(round((cx - side / 2) * image_size))
                y0 = int(round((cy - side / 2) * image_size))
                x0 = min(max(x0, 0), image_size - size_px)
                y0 = min(max(y0, 0), image_size - size_px)
                src = pools[k][rng.randint(len(pools[k]))]
                patch = _digit_patch(src, size_px)
                region = img[:, y0:y0 + size_px, x0:x0 + size_px]
                img[:, y0:y0 + size_px, x0:x0 + size_px] = np.maximum(
                    region, patch[None] * strength * 1.25 * colour)
                # the tight box of the digit's ink: xyxy in the source's 8x8
                # grid, then relative to the image
                rows = np.flatnonzero(src.max(axis=1) > 0)
                cols = np.flatnonzero(src.max(axis=0) > 0)
                ink = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
                scale = size_px / 8 / image_size
                corners = np.array([x0, y0, x0, y0]) / image_size + ink * scale
                box = box_convert(corners, "xyxy", "cxcyhw")
            y[i, 0] = 1
            y[i, 1:5] = box
            y[i, 5 + k] = 1
        X[i] = np.clip(img, 0, 1)
    if as_frame:
        return X, localization_frame(y, np.array(names, dtype=object))
    return X, y


def make_landmarks(n_samples=200, *, image_size=32, empty_fraction=0.2,
                   noise=0.05, clutter=2, scale_range=(0.3, 0.55),
                   max_rotation=20.0, random_state=None, as_frame=False):
    """Synthetic faces with six landmarks.

    A face is a bright ellipse with two dark eyes, a nose, a mouth between two
    mouth corners and a chin tip, at a random position, scale, slight
    rotation and expression (mouth width, eye size); some images hold no
    face.

    The points, in order: ``left_eye``, ``right_eye``, ``nose``,
    ``mouth_left``, ``mouth_right``, ``chin`` ("left" is the image's left).
    Horizontal flip swaps the pairs ``(0, 1)`` and ``(3, 4)``
    (:data:`FACE_FLIP_PAIRS`).

    Parameters
    ----------
    n_samples : int, default=200
    image_size : int, default=32
        Square images, at least 16 px.
    empty_fraction : float in [0, 1), default=0.2
    noise : float, default=0.05
    clutter : int, default=2
    scale_range : tuple of float, default=(0.3, 0.55)
        The face's height as a share of the image.
    max_rotation : float, default=20.0
        In degrees, drawn uniformly in ``[-max_rotation, max_rotation]``.
    random_state : int, RandomState instance or None, default=None
    as_frame : bool, default=False
        Return ``y`` as a DataFrame with named points.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, image_size, image_size), float32
    y : ndarray of shape (n_samples, 13) or DataFrame
        ``[p, x_1, y_1, ..., x_6, y_6]``, relative; 0 where ``p = 0``.

    Examples
    --------
    >>> from sklocalize.datasets import make_landmarks
    >>> X, y = make_landmarks(n_samples=4, image_size=16, random_state=0)
    >>> X.shape, y.shape
    ((4, 1, 16, 16), (4, 13))
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    image_size = _check_side(image_size)
    empty_fraction = _check_fraction(empty_fraction, "empty_fraction")
    lo, hi = _check_range(scale_range, "scale_range", 0.9)
    rng = check_random_state(random_state)
    xs, ys = _grid(image_size)
    X = np.empty((n_samples, 1, image_size, image_size), dtype=np.float32)
    y = np.zeros((n_samples, 1 + 2 * len(FACE_LANDMARKS)))
    for i in range(n_samples):
        img = _background(rng, image_size, 1, noise, clutter)[0]
        if rng.uniform() >= empty_fraction:
            b = rng.uniform(lo, hi) / 2  # half height
            a = b * rng.uniform(0.7, 0.85)  # half width
            theta = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
            cos, sin = np.cos(theta), np.sin(theta)
            cx, cy = rng.uniform(b + 0.02, 1 - b - 0.02, size=2)
            mouth = rng.uniform(0.25, 0.45)  # expression: mouth half width
            eye_r = rng.uniform(0.1, 0.16) * a
            local = np.array([
                [-0.4 * a, -0.25 * b], [0.4 * a, -0.25 * b],  # eyes
                [0.0, 0.12 * b],  # nose tip
                [-mouth * a * 1.6, 0.5 * b], [mouth * a * 1.6, 0.5 * b],  # mouth
                [0.0, b],  # chin tip
            ])
            rot = np.array([[cos, -sin], [sin, cos]])
            points = local @ rot.T + [cx, cy]
            # pixel grid in the face's own frame
            u = (xs - cx) * cos + (ys - cy) * sin
            v = -(xs - cx) * sin + (ys - cy) * cos
            face = (u / a) ** 2 + (v / b) ** 2 <= 1
            img = np.where(face, rng.uniform(0.6, 0.8) + 0.3 * (img - 0.15), img)
            for k in (0, 1):
                eu, ev = local[k]
                img = np.where((u - eu) ** 2 + (v - ev) ** 2 <= eye_r**2, 0.1, img)
            nu, nv = local[2]
            img = np.where((u - nu) ** 2 + (v - nv) ** 2 <= (0.6 * eye_r) ** 2,
                           0.35, img)
            (mu1, mv), (mu2, _) = local[3], local[4]
            in_mouth = (u >= mu1) & (u <= mu2) & (np.abs(v - mv) <= 0.05 * b + 0.5
                                                  / image_size)
            img = np.where(in_mouth, 0.15, img)
            y[i, 0] = 1
            y[i, 1:] = points.reshape(-1)
        X[i, 0] = np.clip(img, 0, 1)
    if as_frame:
        return X, landmark_frame(y, list(FACE_LANDMARKS))
    return X, y

