"""Content-image loading speed: decode + resize + random crop through train.py's data module.

    python -m bench.data_loader                          # data=content (../shared/images), batch 4 at 256²
    python -m bench.data_loader data.image_size=512 --batches 50

Times ``--batches`` batches of the training loader (after the first, which starts the workers) with no
worker processes and with the config's ``data.num_workers``, and prints images/s: compare it with the
training step's images/s from ``bench/train_step.py`` to see whether the loader keeps up.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

from hydra.utils import instantiate
from omegaconf import open_dict

from bench.train_step import recipe_config


def images_per_second(data_config, workers: int, batches: int) -> float:
    """Images/s of ``batches`` training batches with ``workers`` loader processes."""
    with open_dict(data_config):
        data_config.num_workers = workers
    data = instantiate(data_config)
    data.setup("fit")
    loader = iter(data.train_dataloader())
    next(loader)  # starts the workers
    start, images = time.perf_counter(), 0
    for batch in itertools.islice(loader, batches):
        images += batch.shape[0]
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="train.py config overrides, e.g. data.image_size=512")
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = recipe_config("gram", args.overrides, output_dir)
    workers = sorted({0, cfg.data.num_workers})
    print(f"{cfg.data.path} {cfg.data.data_dir or ''}: batch {cfg.data.batch_size} at {cfg.data.image_size}²")
    for count in workers:
        print(f"{count} workers: {images_per_second(cfg.data, count, args.batches):7.1f} images/s")


if __name__ == "__main__":
    main()
