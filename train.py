"""Train a feed-forward stylizer: ``python train.py style=starry loss=crosslayer``."""

from __future__ import annotations

import logging

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import stylenet.config  # noqa: F401 - registers the ${mul:} resolver

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Build every part from ``cfg``, fit, and return the final logged metrics."""
    L.seed_everything(cfg.seed, workers=True)
    encoder = instantiate(cfg.backbone)
    loss = instantiate(cfg.loss, encoder=encoder)
    system = instantiate(cfg.system, net=instantiate(cfg.model), loss=loss)
    system.run_config = OmegaConf.to_container(cfg, resolve=True)
    datamodule = instantiate(cfg.data)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values()]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    trainer.fit(system, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    log.info("final metrics: %s", metrics)
    return metrics


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = train(cfg)
    return metrics.get(cfg.get("optimized_metric") or "", None)


if __name__ == "__main__":
    main()
