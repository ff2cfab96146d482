"""Temporal consistency of a processed video: the warping error of Lai et al. 2018.

For consecutive frames ``t, t + 1``, the flow of the *input* frames (:class:`~stylenet.optical_flow.FlowEstimator`)
moves output ``t + 1`` back onto output ``t``; the error is the mean over reliable pixels (the forward-backward
check, :func:`~stylenet.optical_flow.reliable_mask`) of the squared RGB difference (in [0, 1], mean over
channels), averaged over the ``T - 1`` pairs. A clip's own warping error (outputs = inputs) is the floor a
perfectly stable filter would reach: what remains comes from the flow's errors and the sampling.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from stylenet.optical_flow import FlowEstimator, backward_warp, reliable_mask


def unit(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) / 255.0


def pair_error(first: np.ndarray, second: np.ndarray, flow: np.ndarray, mask: np.ndarray) -> float:
    """The masked mean squared difference of ``first`` and ``second`` warped back by ``flow`` (uint8 frames)."""
    difference = (unit(first) - backward_warp(unit(second), flow)) ** 2
    return float(difference.mean(-1)[mask].mean()) if mask.any() else 0.0


def warping_error(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> float:
    """Lai et al.'s warping error of ``outputs`` (``(H, W, 3)`` uint8 frames) under the flow of ``inputs``
    (the same number of frames, the same size); frames are read one pair at a time."""
    estimate = FlowEstimator()
    errors: list[float] = []
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for frame, output in zip(inputs, outputs, strict=True):
        if output.shape != frame.shape:
            raise ValueError(f"output frames {output.shape} differ in size from the input's {frame.shape}")
        if previous is not None:
            forward, backward = estimate(previous[0], frame), estimate(frame, previous[0])
            errors.append(pair_error(previous[1], output, forward, reliable_mask(forward, backward)))
        previous = frame, output
    if not errors:
        raise ValueError("the warping error needs at least 2 frames")
    return float(np.mean(errors))
