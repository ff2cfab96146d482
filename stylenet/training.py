"""Training: build every part of a run from its Hydra config and fit it.

``stylenet train style=starry loss=crosslayer`` and ``python train.py ...`` both run :func:`main`; tests and
notebooks call :func:`train` on a composed config (:func:`stylenet.config.compose_config`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf

from stylenet.checkpoint import atomic_save
from stylenet.config import config_dir

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write each checkpoint to a temporary file beside it, then rename: a crash never leaves half a file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        atomic_save(checkpoint, path, lambda data, tmp: super(AtomicCheckpointIO, self).save_checkpoint(data, tmp))


def resume_path(cfg: DictConfig) -> str | None:
    """``cfg.ckpt_path``; ``last`` is the run's own ``checkpoints/last.ckpt`` if it exists (a requeued job
    resumes, a first launch starts fresh)."""
    if cfg.get("ckpt_path") != "last":
        return cfg.get("ckpt_path")
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    return str(last) if last.is_file() else None


def train(cfg: DictConfig) -> dict[str, float]:
    """Build every part from ``cfg``, fit, and return the final logged metrics."""
    L.seed_everything(cfg.seed, workers=True)
    log.info("precision %s on %s (trainer.precision overrides it)", cfg.trainer.precision, cfg.trainer.accelerator)
    encoder = instantiate(cfg.backbone)
    loss = instantiate(cfg.loss, encoder=encoder)
    system = instantiate(cfg.system, net=instantiate(cfg.model), loss=loss)
    system.run_config = OmegaConf.to_container(cfg, resolve=True)
    datamodule = instantiate(cfg.data)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    trainer.fit(system, datamodule=datamodule, ckpt_path=resume_path(cfg))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    log.info("final metrics: %s", metrics)
    return metrics


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point: Hydra's command line (overrides, ``-m`` multirun, ``--help``) from ``sys.argv``."""
    metrics = train(cfg)
    return metrics.get(cfg.get("optimized_metric") or "", None)
