"""Figures: loss curves of an optimisation and labelled contact sheets of images."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from stylenet.imageio import tensor_to_pil

LOSS_GROUPS = ("content", "style", "tv", "total")


def plot_loss_history(history: Sequence[Mapping[str, float]], path: str | os.PathLike, title: str = "") -> Path:
    """Content, style, TV and total loss against iteration, log scale, as an image at ``path``.

    ``history`` rows hold ``iteration`` and the groups (see :func:`stylenet.pixel_optimization.loss_groups`);
    a group that is zero throughout (e.g. TV at weight 0) is left out.
    """
    figure = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    iterations = [row["iteration"] for row in history]
    for group in LOSS_GROUPS:
        values = [row.get(group, 0.0) for row in history]
        if any(v > 0 for v in values):
            axes.plot(iterations, values, label=group, linewidth=2.0 if group == "total" else 1.2)
    axes.set_yscale("log")
    axes.set_xlabel("iteration")
    axes.set_ylabel("weighted loss")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def contact_sheet(
    tiles: Sequence[tuple[str, Tensor]], columns: int, tile: int = 192, font_size: int = 13
) -> Image.Image:
    """Grid of ``(label, (3, H, W) image in [0, 1])`` tiles, each image fitted into ``tile`` x ``tile``
    under its label (one line per ``\\n``); rows are as tall as their tallest image."""
    font = ImageFont.load_default(size=font_size)
    label_height = (font_size + 3) * max(label.count("\n") + 1 for label, _ in tiles) + 4
    pictures = []
    for _, image in tiles:
        picture = tensor_to_pil(image)
        picture.thumbnail((tile - 4, tile - 4), Image.Resampling.LANCZOS)
        pictures.append(picture)
    rows = [pictures[i : i + columns] for i in range(0, len(pictures), columns)]
    heights = [label_height + max(p.height for p in row) + 4 for row in rows]
    sheet = Image.new("RGB", (columns * tile, sum(heights)), "white")
    draw = ImageDraw.Draw(sheet)
    for index, ((label, _), picture) in enumerate(zip(tiles, pictures, strict=True)):
        row = index // columns
        left, top = (index % columns) * tile, sum(heights[:row])
        draw.multiline_text((left + 4, top + 2), label, fill="black", font=font, spacing=3)
        sheet.paste(picture, (left + (tile - picture.width) // 2, top + label_height))
    return sheet
