"""The temporal consistency of a model on clips: its warping error next to the unmodified clip's own.

A clip is a video file (its first frames, longest side ``size``) or a synthetic clip named by its motion
(:data:`~stylenet.synthetic_clips.MOTIONS`, made from :data:`CLIP_PHOTO`). Frames run through the model in
batches, as :func:`stylenet.evaluation.evaluate` runs pairs; :func:`~stylenet.warping_error.warping_error`
scores both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from stylenet.evaluation import LoadedSource, Pair
from stylenet.synthetic_clips import MOTIONS, synthetic_clip
from stylenet.video_io import Frame, VideoSource
from stylenet.warping_error import warping_error

CLIP_PHOTO = "content/neural_style/tubingen.jpg"  # under the images folder: the photo of the synthetic clips
CLIP_FRAMES = 16
ASPECT = 16 / 9  # synthetic clips are ``size`` wide


@dataclass(frozen=True)
class ClipResult:
    """A clip's name, the model's warping error on it, the unmodified clip's own."""

    clip: str
    model: float
    unmodified: float


def clip_frames(clip: str, images: Path, size: int, frames: int = CLIP_FRAMES) -> list[np.ndarray]:
    """The first ``frames`` ``(H, W, 3)`` uint8 frames of ``clip``: a motion name (a ``size`` x ``size / 16*9``
    synthetic clip of the photo :data:`CLIP_PHOTO` under ``images``) or a video file (longest side ``size``)."""
    if clip in MOTIONS:
        photo = np.asarray(Image.open(images / CLIP_PHOTO).convert("RGB"))
        return synthetic_clip(photo, clip, size, round(size / ASPECT), frames).frames
    with VideoSource(clip) as source:
        decoded = []
        for item in source.items(size):
            if isinstance(item, Frame):
                decoded.append(item.rgb)
                if len(decoded) == frames:
                    break
    if len(decoded) < 2:
        raise ValueError(f"{clip}: the warping error needs at least 2 frames, it has {len(decoded)}")
    return decoded


def as_tensor(frames: Sequence[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)


def as_frames(images: Tensor) -> list[np.ndarray]:
    return list(images.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())


def clip_warping_error(
    source: LoadedSource, clip: str, frames: Sequence[np.ndarray], style: Path, style_image: Tensor, batch: int = 4
) -> ClipResult:
    """The warping error of ``source``'s outputs on ``frames`` (stylised with ``style_image`` ``(1, 3, h, w)``
    where the source takes a style) and of ``frames`` themselves."""
    pair = Pair(Path(clip), style)
    outputs = []
    for start in range(0, len(frames), batch):
        outputs += as_frames(source.outputs(pair, as_tensor(frames[start : start + batch]), style_image))
    return ClipResult(clip, warping_error(frames, outputs), warping_error(frames, frames))


def clip_table(results: Sequence[ClipResult]) -> str:
    """Plain-text table: each clip's warping error, the model's and the unmodified clip's."""
    width = max(len("clip"), *(len(r.clip) for r in results))
    lines = [f"{'clip':<{width}}  {'warping error':>13}  {'unmodified':>10}  (Lai et al. 2018; lower is stabler)"]
    lines += [f"{r.clip:<{width}}  {r.model:>13.6f}  {r.unmodified:>10.6f}" for r in results]
    return "\n".join(lines)
