"""Super-resolution with perceptual losses (Johnson et al. 2016, the paper's second task)."""

from __future__ import annotations

from functools import partial
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid

from stylenet.bicubic import DEGRADATIONS, bicubic_upsample, degrade
from stylenet.losses import PerceptualLoss
from stylenet.models import SuperResolutionNet
from stylenet.sr_metrics import crop_to_scale, psnr_y, ssim_y
from stylenet.systems.perceptual_system import OptimizerFactory, PerceptualSystem, SchedulerFactory


class SuperResolver(PerceptualSystem):
    """Trains ``net`` so that ``net(degrade(images))`` reconstructs ``images`` under ``loss``.

    Batches are high-resolution crops ``(B, 3, H, W)`` in [0, 1] (the content data module's); each step makes
    their low-resolution inputs with :func:`stylenet.bicubic.degrade` (``degradation``: ``"blur_bicubic"``,
    the paper's, or ``"bicubic"``). Validation also logs PSNR and SSIM on Y (``val/psnr_y``, ``val/ssim_y``;
    BasicSR's conventions) and ``val/psnr_y_gain``, the PSNR gain over bicubic upsampling. Checkpoints (kind
    ``super_resolver``) add ``super_resolution``: the factor and the degradation trained on.

    Args:
        net: the super-resolution network (its ``factor`` is the scale).
        loss: ``ContentLoss`` at relu2_2 (the paper's feature loss) and/or ``PixelLoss`` (its baseline).
        degradation, blur_sigma: how low-resolution inputs are made.
        optimizer, scheduler: as :class:`~stylenet.systems.PerceptualSystem`.
    """

    kind = "super_resolver"

    def __init__(
        self,
        net: SuperResolutionNet,
        loss: PerceptualLoss,
        degradation: str = "blur_bicubic",
        blur_sigma: float = 1.0,
        optimizer: OptimizerFactory = partial(torch.optim.Adam, lr=1e-3),
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__(net, loss, optimizer, scheduler)
        self.factor = net.factor
        self.degradation, self.blur_sigma = degradation, blur_sigma
        if degradation not in DEGRADATIONS:
            raise ValueError(f"unknown degradation {degradation!r}; choose one of {DEGRADATIONS}")

    def forward(self, low: Tensor) -> Tensor:
        """``(B, 3, h, w)`` -> ``(B, 3, factor h, factor w)``."""
        return self.net(low)

    def low_resolution(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``images`` cropped to a multiple of the factor, and their low-resolution inputs (computed in fp32)."""
        images = crop_to_scale(images, self.factor)
        with torch.no_grad(), torch.autocast(images.device.type, enabled=False):
            return images, degrade(images.float(), self.factor, self.degradation, self.blur_sigma)

    def step(self, images: Tensor, stage: str) -> Tensor | None:
        if images.numel() == 0:  # every image of the batch was unreadable (each one was logged)
            return None
        images, low = self.low_resolution(images)
        output = self.net(low)
        terms = self.loss(output, images)
        self.log_terms(terms, stage, images.shape[0])
        if stage == "val":
            self.log_fidelity(output, images, low)
        return terms["total"]

    @torch.no_grad()
    def log_fidelity(self, output: Tensor, images: Tensor, low: Tensor) -> None:
        output, f = output.float(), self.factor
        psnr, bicubic = psnr_y(output, images, f), psnr_y(bicubic_upsample(low, f).clamp(0, 1), images, f)
        scores = {"val/psnr_y": psnr, "val/ssim_y": ssim_y(output, images, f), "val/psnr_y_gain": psnr - bicubic}
        self.log_dict(scores, batch_size=images.shape[0], on_epoch=True, sync_dist=True)

    @torch.no_grad()
    def sample_grid(self, datamodule: L.LightningDataModule, num_images: int) -> Tensor:
        """Rows: the low-resolution inputs (nearest-upsampled), bicubic, the network's, the ground truth."""
        dataset = datamodule.val_set
        images = torch.stack([dataset[i] for i in range(min(num_images, len(dataset)))]).to(self.device)
        images, low = self.low_resolution(images)
        rows = [F.interpolate(low, scale_factor=self.factor), bicubic_upsample(low, self.factor).clamp(0, 1)]
        rows += [self(low).float(), images]
        return make_grid(torch.cat(rows).cpu(), nrow=len(images), padding=2, pad_value=1.0)

    def checkpoint_entries(self) -> dict[str, Any]:
        return {
            "super_resolution": {
                "factor": self.factor,
                "degradation": self.degradation,
                "blur_sigma": self.blur_sigma,
            }
        }
