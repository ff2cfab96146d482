"""Blob artefacts, before and after: where they come from, how many each net makes, and crops of them.

    python bench/blob_study.py --photos outputs/quality/photos --before old/last.ckpt --after new/last.ckpt --out docs

Both checkpoints stylise every PNG of ``--photos`` (eager, fp32). :mod:`stylenet.blob_artefacts` counts the blobs
of each. For a ``--before`` net with a sigmoid output it prints the logits under the sigmoid at the blobs' centres
and the sigmoid's slope there (how much gradient a saturated region still gets). It also records the input of
every instance norm and reports, per norm, how far the most extreme channel is from its mean at each blob, in
standard deviations of that channel over the image (the z-score the norm divides by), next to the same measure at
every other position (its median and 99.9th percentile): a blob whose z-scores stand far above the rest of the
image is a peak that steers the norm's statistics. ``--out`` gets ``blob_crops.png``: photo | before | after
around the before net's largest blobs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from stylenet.blob_artefacts import Blob, find_blobs
from stylenet.imageio import load_image
from stylenet.inference import image_network
from stylenet.instance_stats import instance_norms

CROP = 64  # px around a blob in the crops figure


def peak_z(net: nn.Module, photo: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
    """``net``'s output for ``photo`` ``(3, H, W)``, its last conv's output before the output mapping (the
    logits, ``(3, H, W)``) and, per instance norm, ``(h, w)``: the largest ``|x - mean| / std`` over the
    channels of its input at each position; all from one forward pass."""
    maps: list[Tensor] = []
    last: list[Tensor] = []

    def record(_module: nn.Module, args: tuple[Tensor, ...]) -> None:
        x = args[0].detach()[0]
        std, mean = torch.std_mean(x, dim=(1, 2), keepdim=True)
        maps.append(((x - mean) / std.clamp_min(1e-6)).abs().amax(0))

    handles = [norm.register_forward_pre_hook(record) for norm in instance_norms(net)]
    handles.append(net.decoder.register_forward_hook(lambda _m, _a, out: last.append(out.detach()[0])))
    try:
        with torch.no_grad():
            output = net(photo[None])[0].clamp(0, 1)
    finally:
        for handle in handles:
            handle.remove()
    return output, last[0][:, : photo.shape[1], : photo.shape[2]], maps


def at_blobs(z: Tensor, blobs: list[Blob], size: tuple[int, int]) -> tuple[list[float], Tensor]:
    """The z-score map ``z`` (at its own resolution) at each blob's centre (the max over the 3x3 around it), and
    the map without those neighbourhoods."""
    scale_y, scale_x = z.shape[0] / size[0], z.shape[1] / size[1]
    keep = torch.ones_like(z, dtype=torch.bool)
    values = []
    for blob in blobs:
        y, x = min(int(blob.y * scale_y), z.shape[0] - 1), min(int(blob.x * scale_x), z.shape[1] - 1)
        window = (slice(max(y - 1, 0), y + 2), slice(max(x - 1, 0), x + 2))
        values.append(z[window].max().item())
        keep[window] = False
    return values, z[keep]


def crop(image: Tensor, blob: Blob) -> Image.Image:
    h, w = image.shape[-2:]
    top = int(min(max(blob.y - CROP / 2, 0), h - CROP))
    left = int(min(max(blob.x - CROP / 2, 0), w - CROP))
    patch = image[:, top : top + CROP, left : left + CROP]
    patch = F.interpolate(patch[None], scale_factor=3, mode="nearest")[0]
    return Image.fromarray(patch.mul(255).round().byte().permute(1, 2, 0).numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, required=True, help="a folder of PNG photos (bench/quality.py's)")
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path)
    parser.add_argument("--out", type=Path, help="folder for blob_crops.png")
    parser.add_argument("--crops", type=int, default=6)
    args = parser.parse_args()
    photos = [load_image(path) for path in sorted(args.photos.glob("*.png"))]
    pixels = sum(photo[0].numel() for photo in photos) / 1e6
    before = image_network(args.before)[0].eval()
    found, z_blobs, z_rest = [], {}, {}
    outputs_before, logits = [], []
    for index, photo in enumerate(photos):
        output, logit, maps = peak_z(before, photo)
        outputs_before.append(output)
        logits.append(logit)
        blobs = find_blobs(output, photo)
        found += [(blob, index) for blob in blobs]
        for layer, z in enumerate(maps):
            values, rest = at_blobs(z, blobs, photo.shape[-2:])
            z_blobs.setdefault(layer, []).extend(values)
            z_rest.setdefault(layer, []).append(rest)
    share = sum(blob.area for blob, _ in found) / (pixels * 1e6)
    print(f"{args.before}: {len(found)} blobs on {len(photos)} photos, {100 * share:.2f}% of their pixels")
    if found and before.output == "sigmoid":
        centres = torch.stack([logits[i][:, int(b.y), int(b.x)].mean() for b, i in found])
        everywhere = torch.cat([logit.mean(0).flatten() for logit in logits])
        slope = torch.sigmoid(centres) * (1 - torch.sigmoid(centres))
        print(f"pre-sigmoid |logit| at the blobs' centres (mean of RGB; black blobs have negative logits): "
              f"median {centres.abs().median():.2f}, where the "
              f"sigmoid's slope is {slope.median():.4f} (0.25 at 0); median |logit| everywhere: "
              f"{everywhere.abs().median():.2f}")  # fmt: skip
    if found:
        print(f"{'norm':>4} {'z at blobs (median)':>20} {'elsewhere (median)':>19} {'elsewhere (99.9%)':>18}")
        for layer, values in z_blobs.items():
            rest = torch.cat(z_rest[layer])
            print(f"{layer:>4} {np.median(values):>20.1f} {rest.median().item():>19.1f} "
                  f"{rest.quantile(0.999).item() if rest.numel() < 2**24 else float('nan'):>18.1f}")  # fmt: skip
    outputs_after = []
    if args.after is not None:
        after = image_network(args.after)[0].eval()
        with torch.no_grad():
            outputs_after = [after(photo[None])[0].clamp(0, 1) for photo in photos]
        blobs = [blob for o, p in zip(outputs_after, photos, strict=True) for blob in find_blobs(o, p)]
        share = sum(blob.area for blob in blobs) / (pixels * 1e6)
        print(f"{args.after}: {len(blobs)} blobs on {len(photos)} photos, {100 * share:.2f}% of their pixels")
    if args.out is not None and found:
        largest = sorted(found, key=lambda item: -item[0].area)[: args.crops]
        rows = []
        for blob, index in largest:
            images = [photos[index], outputs_before[index], *([outputs_after[index]] if outputs_after else [])]
            tiles = [crop(image, blob) for image in images]
            row = Image.new("RGB", (sum(t.width for t in tiles) + 4 * len(tiles), tiles[0].height + 4), "white")
            for column, tile in enumerate(tiles):
                row.paste(tile, (column * (tile.width + 4), 0))
            rows.append(row)
        figure = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
        for number, row in enumerate(rows):
            figure.paste(row, (0, number * row.height))
        args.out.mkdir(parents=True, exist_ok=True)
        figure.save(args.out / "blob_crops.png")
        print(f"wrote {args.out / 'blob_crops.png'} (photo | before{' | after' if outputs_after else ''})")


if __name__ == "__main__":
    main()
