"""``stylenet evaluate-sr``: score super-resolution on Set5 and Set14 as the field does, next to bicubic.

    stylenet evaluate-sr -m sr_x4.ckpt -o eval/sr_x4                      # both sets, both degradations
    stylenet evaluate-sr --bicubic --factors 2 3 4 8 -o eval/bicubic     # the bicubic baselines alone
    stylenet evaluate-sr -m sr_x4.ckpt -o eval/sr_x4 --sets set5 --degradations bicubic

The ground truth (``<shared>/sr_benchmarks/<set>/*.png``, or ``--root``) is cropped to a multiple of the
factor, degraded (``bicubic``: MATLAB's imresize, the degradation of published tables; ``blur_bicubic``: a
Gaussian blur of sigma 1 first, the paper's) and upscaled by bicubic interpolation and by the model. PSNR and
SSIM are computed on Y (BT.601) with ``factor`` border pixels cropped, on 8-bit images (BasicSR's
conventions); LPIPS-VGG and the relative VGG16 relu2_2 feature distance beside them. Writes
``<output>/evaluation.csv``, ``<output>/contact_sheet.png`` (LR | bicubic | model | HR, then the centres
zoomed) and prints the means per set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stylenet.bicubic import DEGRADATIONS
from stylenet.commands.stylize import positive_int
from stylenet.config import shared_dir
from stylenet.imageio import ImageReadError
from stylenet.inference import BACKENDS
from stylenet.sr_evaluation import (
    SETS,
    SRScorer,
    benchmark_images,
    bicubic,
    evaluate_sr,
    sr_sheet,
    sr_summary,
    write_sr_csv,
)
from stylenet.upscaling import load_upscaler, upscale

HELP = "score super-resolution on Set5 and Set14 (PSNR/SSIM on Y, LPIPS) next to bicubic"


def run(args: argparse.Namespace) -> int:
    try:
        return evaluate_sr_command(args)
    except (OSError, ValueError, ImageReadError) as error:
        raise SystemExit(f"stylenet evaluate-sr: error: {error}") from error


def evaluate_sr_command(args: argparse.Namespace) -> int:
    test_sets = {name: benchmark_images(name, args.root) for name in args.sets}
    weights = shared_dir() / "weights"
    scorer = SRScorer.from_files(
        args.vgg_weights or weights / "vgg16_imagenet_features.pth", args.lpips_weights or weights / "lpips_vgg_lin.pth"
    )
    results = []
    if args.model is not None:
        upscaler = load_upscaler(args.model, args.device, args.backend)
        factors = [upscaler.factor]
        methods = {"bicubic": bicubic(upscaler.factor), Path(args.model).stem: lambda low: upscale(upscaler, low)}
        results = evaluate_sr(methods, test_sets, upscaler.factor, args.degradations, scorer)
    else:
        factors = args.factors
        for factor in factors:
            results += evaluate_sr({"bicubic": bicubic(factor)}, test_sets, factor, args.degradations, scorer)
    output = Path(args.output)
    table = write_sr_csv(results, output / "evaluation.csv")
    sheet = output / "contact_sheet.png"
    sr_sheet([r for r in results if r.factor == factors[0]]).save(sheet)
    print(f"{sr_summary(results, scorer.skipped)}\nwrote {table} and {sheet}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("-m", "--model", help="super-resolution checkpoint")
    what.add_argument("--bicubic", action="store_true", help="only the bicubic baselines, at --factors")
    parser.add_argument("-o", "--output", required=True, help="folder for evaluation.csv and contact_sheet.png")
    parser.add_argument("--factors", type=positive_int, nargs="+", default=[2, 3, 4, 8], help="with --bicubic")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--degradations", nargs="+", choices=DEGRADATIONS, default=list(DEGRADATIONS))
    parser.add_argument("--root", type=Path, help="folder of the test sets (default: <shared>/sr_benchmarks)")
    parser.add_argument("--vgg-weights", type=Path, help="VGG16 features (default: <shared>/weights/...)")
    parser.add_argument("--lpips-weights", type=Path, help="LPIPS VGG heads (default: <shared>/weights/...)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="as stylenet stylize's")
    parser.set_defaults(func=run)
