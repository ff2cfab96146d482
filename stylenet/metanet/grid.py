"""Sample grids for a meta-network stylizer: held-out content images under held-out styles."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid

from stylenet.callbacks import SampleGrid


class StyleGrid(SampleGrid):
    """:class:`~stylenet.callbacks.SampleGrid` for :class:`~stylenet.metanet.system.MetaStylizer`.

    Top row: the first ``num_images`` validation styles; each row below: one validation content image
    stylised with each of those styles. Needs a datamodule whose ``val_set`` is a
    :class:`~stylenet.data.content_style.PairedCrops`.
    """

    @torch.no_grad()
    def grid(self, trainer: L.Trainer, module: L.LightningModule) -> Tensor:
        pairs = trainer.datamodule.val_set
        n = min(self.num_images, len(pairs.content), len(pairs.style))
        content = torch.stack([pairs.content[i] for i in range(n)]).to(module.device)
        styles = torch.stack([pairs.style[i] for i in range(n)]).to(module.device)
        was_training = module.training
        module.eval()
        rows = [F.interpolate(styles, size=content.shape[-2:], mode="bilinear", antialias=True)]
        rows += [module(image.expand(n, -1, -1, -1), styles) for image in content]
        module.train(was_training)
        return make_grid(torch.cat(rows).cpu(), nrow=n, padding=2, pad_value=1.0)
