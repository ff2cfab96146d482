"""Temporal stability learned from still photos, measured: two short CPU trainings from one seed, without and
with the temporal regulariser (``system.temporal.weight``), scored on held-out photos.

    python bench/temporal_study.py --out docs            # the README's table and frame-difference strips
    python bench/temporal_study.py --steps 200 --weight 1e8 --run-dir /tmp/temporal

Both runs see the same photos in the same order (``style=starry``, ``loss=gram``). Each is scored on the 8
validation photos the training held out: the warping error (:mod:`stylenet.warping_error`) of each on a
synthetic clip of 4 of them (pan, zoom, rotate, object; :mod:`stylenet.synthetic_clips`), next to the clips' own,
and the style distance of ``stylenet evaluate`` (relative Gram error to Starry Night) of their stylisations.
``--out`` also writes ``video_strip_<run>.png``: the stylised frames of the zoom clip over their frame
differences ``|O_t - W(O_{t+1})|`` (warped back by the input's flow, x4, black where the flow is unreliable).
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image

from stylenet.clip_evaluation import as_frames, as_tensor
from stylenet.config import shared_dir
from stylenet.evaluation import Scorer
from stylenet.imageio import load_image, open_image, pil_to_tensor
from stylenet.optical_flow import FlowEstimator, backward_warp, reliable_mask
from stylenet.synthetic_clips import MOTIONS, synthetic_clip
from stylenet.training import train
from stylenet.warping_error import warping_error

ROOT = Path(__file__).resolve().parents[1]
STEPS, SIZE, WEIGHT = 120, 64, 2e8
CLIP_WIDTH, CLIP_HEIGHT, CLIP_FRAMES = 192, 108, 8
SCORE_SIZE = 192  # longest side of the held-out photos for the style distance
RUNS = ("without", "with")


def study_config(run_dir: Path, steps: int, size: int, weight: float) -> DictConfig:
    """train.py's config of one run: a 16-channel, 3-block Johnson net, batch 4 at ``size``, ``steps`` steps."""
    overrides = [
        "style=starry", "loss=gram", f"trainer.max_steps={steps}", f"data.image_size={size}", "data.batch_size=4",
        "data.num_workers=0", "data.val_size=8", "style.size=256", "model.channels=16", "model.num_blocks=3",
        f"system.temporal.weight={weight}", "trainer.precision=32-true", f"trainer.val_check_interval={steps}",
        f"callbacks.model_checkpoint.every_n_train_steps={steps}", "trainer.enable_progress_bar=false",
        f"paths.shared={shared_dir()}", f"paths.output_dir={run_dir}",
    ]  # fmt: skip
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=overrides)


def trained_net(cfg: DictConfig, run_dir: Path) -> torch.nn.Module:
    net = instantiate(cfg.model)
    state = torch.load(run_dir / "checkpoints/last.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    net.load_state_dict({k.removeprefix("net."): v for k, v in state.items()})
    return net.eval()


def held_out_photos(cfg: DictConfig) -> list[Image.Image]:
    """The photos the runs held out for validation (the same for both: one split seed)."""
    data = instantiate(cfg.data)
    data.setup("fit")
    items = (data.val_set.images[i][data.val_set.column] for i in range(len(data.val_set)))
    return [open_image(item["bytes"] if item.get("bytes") else item["path"]) for item in items]


@dataclass
class RunScores:
    """A run's warping error per clip, the clips' own, its mean style distance and its training time."""

    warping: dict[str, float]
    unmodified: dict[str, float]
    style_distance: float
    seconds: float


@torch.no_grad()
def stylize(net: torch.nn.Module, frames: list[np.ndarray]) -> list[np.ndarray]:
    return as_frames(net(as_tensor(frames)))


def clips(photos: list[Image.Image]) -> dict[str, list[np.ndarray]]:
    """One synthetic clip per motion, each of another held-out photo."""
    return {
        motion: synthetic_clip(np.asarray(photo), motion, CLIP_WIDTH, CLIP_HEIGHT, CLIP_FRAMES).frames
        for motion, photo in zip(MOTIONS, photos, strict=False)
    }


def score(net: torch.nn.Module, photos: list[Image.Image], frames: dict, scorer: Scorer, seconds: float) -> RunScores:
    style = load_image(shared_dir() / "images/style/fast_neural_style/starry_night.jpg", 256)[None]
    distances = []
    for photo in photos:
        small = photo.copy()
        small.thumbnail((SCORE_SIZE, SCORE_SIZE))
        content = pil_to_tensor(small)[None]
        with torch.no_grad():
            distances.append(scorer.score(net(content).clamp(0, 1), content, style)["style_distance"])
    warping = {motion: warping_error(clip, stylize(net, clip)) for motion, clip in frames.items()}
    unmodified = {motion: warping_error(clip, clip) for motion, clip in frames.items()}
    return RunScores(warping, unmodified, statistics.mean(distances), seconds)


def difference_strip(net: torch.nn.Module, frames: list[np.ndarray], count: int = 4, gain: float = 4.0) -> Image.Image:
    """Stylised frames ``0 .. count - 1`` over ``|O_t - W(O_{t+1})|`` (x ``gain``; black where unreliable)."""
    outputs, estimate = stylize(net, frames[: count + 1]), FlowEstimator()
    differences = []
    for t in range(count):
        forward, backward = estimate(frames[t], frames[t + 1]), estimate(frames[t + 1], frames[t])
        warped = backward_warp(outputs[t + 1].astype(np.float32), forward)
        difference = np.abs(outputs[t].astype(np.float32) - warped) * gain * reliable_mask(forward, backward)[..., None]
        differences.append(np.clip(difference, 0, 255).astype(np.uint8))
    rows = [np.concatenate(outputs[:count], axis=1), np.concatenate(differences, axis=1)]
    return Image.fromarray(np.concatenate(rows, axis=0))


def run_study(run_dir: Path, steps: int = STEPS, size: int = SIZE, weight: float = WEIGHT) -> dict[str, RunScores]:
    """Train both runs under ``run_dir`` (skipping one whose checkpoint exists) and score them."""
    scorer = Scorer.from_files(shared_dir() / "weights/vgg16_imagenet_features.pth", shared_dir() / "missing")
    results, photos, frames = {}, None, None
    for run in RUNS:
        cfg = study_config(run_dir / run, steps, size, weight if run == "with" else 0.0)
        start = time.perf_counter()
        if not (run_dir / run / "checkpoints/last.ckpt").is_file():
            train(cfg)
        seconds = time.perf_counter() - start
        if photos is None:
            photos = held_out_photos(cfg)
            frames = clips(photos[:4])
        results[run] = score(trained_net(cfg, run_dir / run), photos, frames, scorer, seconds)
    return results


def table(results: dict[str, RunScores]) -> str:
    motions = list(results["without"].warping)
    lines = [f"{'run':<10} {'train s':>8} " + " ".join(f"{m:>8}" for m in motions) + f" {'mean':>8} {'style d':>8}"]
    clip = results["without"].unmodified
    lines.append(f"{'clip':<10} {'':>8} " + " ".join(f"{clip[m]:>8.5f}" for m in motions) +
                 f" {statistics.mean(clip.values()):>8.5f}")  # fmt: skip
    for run, scores in results.items():
        mean = statistics.mean(scores.warping.values())
        lines.append(f"{run:<10} {scores.seconds:>8.0f} " + " ".join(f"{scores.warping[m]:>8.5f}" for m in motions)
                     + f" {mean:>8.5f} {scores.style_distance:>8.4f}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=Path("outputs/temporal_study"))
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--weight", type=float, default=WEIGHT)
    parser.add_argument("--out", type=Path, help="folder for the frame-difference strips")
    args = parser.parse_args()
    results = run_study(args.run_dir, args.steps, args.size, args.weight)
    print(f"{args.steps} steps, batch 4 at {args.size} px, temporal weight {args.weight:g}; warping error per clip:")
    print(table(results))
    if args.out:
        cfg = study_config(args.run_dir / "without", args.steps, args.size, 0.0)
        zoom = clips(held_out_photos(cfg)[:4])["zoom"]
        for run in RUNS:
            strip = difference_strip(trained_net(cfg, args.run_dir / run), zoom)
            strip.save(args.out / f"video_strip_{run}.png")
        print(f"wrote {args.out}/video_strip_without.png and video_strip_with.png")


if __name__ == "__main__":
    main()
