"""Video clips made from a real photo by a known motion, with their exact optical flow: test material for flow,
warping error and the video pipeline that needs no download.

Motions over the whole clip (of any length): ``pan`` (the camera moves 8% of the width right and 4% of the
height down), ``zoom`` (in by 1.15x), ``rotate`` (4 degrees) and ``object`` (a disc textured from the mirrored
photo moves a quarter of the width over the still photo). Frame ``t`` samples the photo (resized to cover the
frame with a margin) at ``A_t x`` for its pixels ``x``, so the flow from frame ``t`` to ``t + 1`` is
``A_{t+1}^-1 A_t x - x``, exact up to the bilinear sampling of the frames.

    clip = synthetic_clip(load_rgb(path), "zoom", 320, 180, frames=16)
    save_clip(clip.frames, "zoom.mp4", rate=25)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import cv2
import numpy as np

from stylenet.video_io import VideoWriter

MOTIONS = ("pan", "zoom", "rotate", "object")
MARGIN = 1.35  # the resized photo's short side over the frame's, so the motions stay inside it
BLUR_SIGMA = 0.8  # pixels
TONE_HZ, SAMPLE_RATE = 440.0, 44100


@dataclass
class SyntheticClip:
    """``frames``: ``T`` ``(H, W, 3)`` uint8; ``flows[t]``: ``(H, W, 2)`` float32 (x, y) displacement of frame
    ``t``'s pixels in frame ``t + 1``; ``visible[t]``: ``(H, W)`` bool, those pixels still seen in frame ``t + 1``
    (inside it and not covered)."""

    frames: list[np.ndarray]
    flows: list[np.ndarray]
    visible: list[np.ndarray]


def camera(motion: str, progress: float, width: int, height: int, centre: tuple[float, float]) -> np.ndarray:
    """The ``3 x 3`` map from frame pixels to photo pixels at ``progress`` in [0, 1] through the clip."""
    shift, scale, angle = np.zeros(2), 1.0, 0.0
    if motion == "pan":
        shift = progress * np.array([0.08 * width, 0.04 * height])
    elif motion == "zoom":
        scale = 1.15**-progress
    elif motion == "rotate":
        angle = math.radians(4.0 * progress)
    rotation = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    frame_centre = np.array([(width - 1) / 2, (height - 1) / 2])
    matrix = np.eye(3)
    matrix[:2, :2] = rotation
    matrix[:2, 2] = np.asarray(centre) - rotation @ (frame_centre - shift)
    return matrix


def pixel_grid(width: int, height: int) -> np.ndarray:
    """``(H, W, 2)`` float64 (x, y) coordinates of every pixel."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    return np.stack([xs, ys], axis=-1)


def moved(matrix: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``grid`` ``(H, W, 2)`` mapped by the ``3 x 3`` affine ``matrix``."""
    return grid @ matrix[:2, :2].T + matrix[:2, 2]


def inside(points: np.ndarray, width: int, height: int) -> np.ndarray:
    xs, ys = points[..., 0], points[..., 1]
    return (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)


def cover(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """``photo`` resized so that its sides are at least :data:`MARGIN` times the frame's, and blurred a little
    (:data:`BLUR_SIGMA`, as a camera's optics would) so that bilinear sampling of the frames stays exact."""
    scale = MARGIN * max(width / photo.shape[1], height / photo.shape[0])
    size = (math.ceil(photo.shape[1] * scale), math.ceil(photo.shape[0] * scale))
    resized = cv2.resize(photo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return cv2.GaussianBlur(resized, (0, 0), BLUR_SIGMA)


def synthetic_clip(photo: np.ndarray, motion: str, width: int, height: int, frames: int = 8) -> SyntheticClip:
    """A clip of ``frames`` ``width`` x ``height`` frames of ``photo`` (``(h, w, 3)`` uint8) under ``motion``."""
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}; choose one of {MOTIONS}")
    if frames < 2:
        raise ValueError("a clip needs at least 2 frames")
    photo = cover(photo, width, height)
    centre = ((photo.shape[1] - 1) / 2, (photo.shape[0] - 1) / 2)
    grid = pixel_grid(width, height)
    progress = [t / (frames - 1) for t in range(frames)]
    cameras = [camera(motion, p, width, height, centre) for p in progress]
    clip = SyntheticClip([], [], [])
    for matrix in cameras:
        sampled = cv2.warpAffine(photo, matrix[:2], (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        clip.frames.append(sampled)
    for t in range(frames - 1):
        target = moved(np.linalg.inv(cameras[t + 1]) @ cameras[t], grid)
        clip.flows.append((target - grid).astype(np.float32))
        clip.visible.append(inside(target, width, height))
    if motion == "object":
        add_object(clip, photo[::-1, ::-1], progress, width, height)
    return clip


def add_object(clip: SyntheticClip, texture: np.ndarray, progress: Sequence[float], width: int, height: int) -> None:
    """Paint a disc of ``texture`` (radius a fifth of the height) moving a quarter of the width right and a tenth
    of the height down over ``clip``, and give its pixels their flow; the background it covers in the next frame
    is not visible there."""
    radius = height / 5
    start = np.array([width * 0.3, height * 0.45])
    travel = np.array([width * 0.25, height * 0.1])
    centres = [start + p * travel for p in progress]
    grid = pixel_grid(width, height)
    discs = [np.linalg.norm(grid - c, axis=-1) <= radius for c in centres]
    for t, (frame, centre) in enumerate(zip(clip.frames, centres, strict=True)):
        shift = np.float32([[1, 0, centre[0] - width / 2], [0, 1, centre[1] - height / 2]])
        painted = cv2.warpAffine(texture[:height, :width], shift, (width, height), flags=cv2.INTER_LINEAR)
        frame[discs[t]] = painted[discs[t]]
    for t in range(len(clip.flows)):
        clip.flows[t][discs[t]] = (centres[t + 1] - centres[t]).astype(np.float32)
        target = grid + clip.flows[t]
        rows = np.clip(np.round(target[..., 1]).astype(int), 0, height - 1)
        cols = np.clip(np.round(target[..., 0]).astype(int), 0, width - 1)
        covered = discs[t + 1][rows, cols] & ~discs[t]
        clip.visible[t] = inside(target, width, height) & ~covered


def save_clip(frames: Sequence[np.ndarray], path: str | os.PathLike, rate: int = 25, tone: bool = False) -> None:
    """Encode ``frames`` (``(H, W, 3)`` uint8) to ``path`` at ``rate`` frames/s (:class:`VideoWriter`), with a
    440 Hz mono AAC tone as long as the clip if ``tone``."""
    height, width = frames[0].shape[:2]
    with VideoWriter(path, width, height, Fraction(rate), Fraction(1, rate)) as writer:
        audio = writer.container.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if tone else None
        writer.write(frames, range(len(frames)))
        if audio is not None:
            samples = np.sin(2 * np.pi * TONE_HZ * np.arange(len(frames) * SAMPLE_RATE // rate) / SAMPLE_RATE)
            for start in range(0, len(samples), 1024):
                chunk = samples[None, start : start + 1024].astype(np.float32)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = SAMPLE_RATE, start
                writer.container.mux(audio.encode(frame))
            writer.container.mux(audio.encode(None))
