"""Optical flow between video frames (OpenCV's DIS, on the CPU), backward warping and the forward-backward
occlusion check of Ruder et al. 2016.

A flow ``(H, W, 2)`` float32 holds, for each pixel ``x`` of the first frame, the (x, y) displacement of its
point in the second: ``first(x) ~ second(x + flow(x))``.
"""

from __future__ import annotations

import cv2
import numpy as np

DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
STEPS = ((1, 0), (0, 1))  # x and y central differences


def gray(frame: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 luma of an ``(H, W, 3)`` uint8 RGB frame."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


class FlowEstimator:
    """DIS optical flow (Kroeger et al. 2016), the medium preset: ``(first, second)`` ``(H, W, 3)`` uint8 RGB
    frames to the ``(H, W, 2)`` flow from the first to the second."""

    def __init__(self) -> None:
        self.dis = cv2.DISOpticalFlow_create(DIS_PRESET)

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return self.dis.calc(gray(first), gray(second), None)


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` (the second frame, ``(H, W, C)`` or ``(H, W)``) sampled at ``x + flow(x)``: the second frame
    moved onto the first (bilinear; points outside take the nearest border pixel)."""
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reliable_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the pixels of the first frame whose forward flow the backward flow (second to first)
    undoes, away from motion boundaries and inside the second frame (Ruder et al. 2016, eq. 4-5):
    ``|w + w~|^2 <= 0.01 (|w|^2 + |w~|^2) + 0.5`` and ``|grad w~_x|^2 + |grad w~_y|^2 <= 0.01 |w~|^2 + 0.002``,
    with ``w~`` the backward flow warped onto the first frame."""
    height, width = forward.shape[:2]
    returned = backward_warp(backward, forward)
    consistent = (forward + returned) ** 2
    consistent = consistent.sum(-1) <= 0.01 * ((forward**2).sum(-1) + (returned**2).sum(-1)) + 0.5
    derivatives = [cv2.Sobel(returned[..., c], cv2.CV_32F, *step, ksize=1, scale=0.5) for c in (0, 1) for step in STEPS]
    gradients = sum(derivative**2 for derivative in derivatives)
    smooth = gradients <= 0.01 * (returned**2).sum(-1) + 0.002
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    target_x, target_y = xs + forward[..., 0], ys + forward[..., 1]
    inside = (target_x >= 0) & (target_x <= width - 1) & (target_y >= 0) & (target_y <= height - 1)
    return consistent & smooth & inside
