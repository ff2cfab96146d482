"""Markdown table of a meta-network ablation sweep (``python train.py -m experiment=metanet_ablation``).

    python bench/metanet_ablation_table.py multirun/metanet_ablation > docs/metanet_ablation.md

For each run directory (one per variant): the last logged training content and style losses from its
CSV log (in the run's own loss and backbone units, so comparable only within a column group), and
scores on a common footing: every variant's last checkpoint stylises the same held-out photos with
the same held-out styles, scored by VGG16 Gram loss relative to the unmodified photos and by relative
relu2_2 content error (:func:`stylenet.evaluation.transfer_scores`).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import stylenet.config  # noqa: F401 - registers ${mul:}
from stylenet.evaluation import transfer_scores
from stylenet.inference import load_metanet
from stylenet.vgg import VGGEncoder

STYLE_LOSSES = ("gram", "meanstd", "crosslayer")


def last_values(metrics: Path) -> dict[str, float]:
    """The last logged value of every column of a Lightning CSV log."""
    values: dict[str, float] = {}
    with metrics.open() as file:
        for row in csv.DictReader(file):
            values.update({k: float(v) for k, v in row.items() if v not in ("", None)})
    return values


def variant(run: Path) -> str:
    """``backbone / block / style loss`` of a run, from its saved config."""
    cfg = OmegaConf.load(run / ".hydra/config.yaml")
    losses = ", ".join(loss._target_.rsplit(".", 1)[-1] for loss in cfg.loss.style)
    return f"{cfg.backbone.arch} / {cfg.model.block} / {losses}"


def style_total(logged: dict[str, float], stage: str) -> float:
    """Sum of the logged style terms (``<stage>/<gram|meanstd|crosslayer>/<tap>``) of one stage."""
    return sum(v for k, v in logged.items() if k.split("/")[:2] in ([stage, n] for n in STYLE_LOSSES))


def held_out_pairs(run: Path, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` validation (content, style) pairs of a run's data config."""
    data = instantiate(OmegaConf.load(run / ".hydra/config.yaml").data)
    data.setup("validate")
    pairs = [data.val_set[i] for i in range(min(count, len(data.val_set)))]
    return torch.stack([p["content"] for p in pairs]), torch.stack([p["style"] for p in pairs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the sweep directory (one sub-directory per run)")
    parser.add_argument("--pairs", type=int, default=8, help="held-out content/style pairs to score")
    args = parser.parse_args()
    runs = sorted(p.parent for p in args.sweep.glob("*/.hydra/config.yaml"))
    if not runs:
        raise SystemExit(f"no runs under {args.sweep}")
    weights = OmegaConf.load(runs[0] / ".hydra/config.yaml").paths.weights
    encoder = VGGEncoder("vgg16", f"{weights}/vgg16_imagenet_features.pth")
    content, styles = held_out_pairs(runs[0], args.pairs)
    print(f"Meta-network ablation: {len(runs)} runs under `{args.sweep}`, {len(content)} held-out pairs.\n")
    print("| variant | train content | train style | val content | val style | Gram out/photo, VGG16 | content error |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        logged = last_values(next(run.glob("csv/version_*/metrics.csv")))
        scores = transfer_scores(load_metanet(run / "checkpoints/last.ckpt"), encoder, content, styles)
        style = {stage: style_total(logged, stage) for stage in ("train", "val")}
        print(
            f"| {variant(run)} | {logged.get('train/content/relu2_2', float('nan')):.3g} | {style['train']:.3g} "
            f"| {logged.get('val/content/relu2_2', float('nan')):.3g} | {style['val']:.3g} "
            f"| {scores['gram_ratio']:.3f} | {scores['content_relative']:.3f} |"
        )


if __name__ == "__main__":
    main()
