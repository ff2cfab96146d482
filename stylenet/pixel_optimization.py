"""Optimisation-based stylisation (Gatys et al. 2016) and texture synthesis on a perceptual loss.

The pixels ``(1, 3, H, W)`` are the parameters, kept in [0, 1] by projection (an in-place clamp)
rather than by a clamp or sigmoid inside the loss, which would zero or squash the gradient of pixels
at the bounds. Adam is projected after every step (projected gradient descent). L-BFGS runs one
iteration (with a strong-Wolfe line search) per step and is projected only once, at the end, as in
Gatys et al.'s and Johnson's implementations: a projection between iterations would make its curvature
pairs inconsistent with the actual moves, and it then stalls on non-descent directions. With a
content or style start the unconstrained iterates stay close to [0, 1].

The content features are computed once (:meth:`PerceptualLoss.set_content`) and the style statistics
once (:meth:`PerceptualLoss.set_style` or a blend of several images): each step costs one encoder
pass, forward and backward, to the deepest tap.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from stylenet.losses import PerceptualLoss

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 1e-2}
INITS = ("content", "noise", "style")

StepCallback = Callable[[int, Tensor], None]


@dataclass
class OptimizationResult:
    """The optimised image and its loss history.

    ``image``: ``(1, 3, H, W)`` in [0, 1]. ``history``: one row per iteration ``0 .. steps`` with the
    loss at that iterate (``content``, ``style``, ``tv``, ``total`` and every named term); every row but
    the last also has ``seconds``, the wall-clock time of the step taken from it.
    """

    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def step_seconds(self) -> list[float]:
        return [row["seconds"] for row in self.history if "seconds" in row]


def loss_groups(terms: Mapping[str, Tensor]) -> dict[str, float]:
    """``{content, style, tv, total}`` sums of :class:`PerceptualLoss` terms, then every term, as floats."""
    values = {name: float(value.detach()) for name, value in terms.items()}
    content = sum(v for k, v in values.items() if k.startswith("content/"))
    tv = values.get("tv", 0.0)
    style = sum(v for k, v in values.items() if k not in ("tv", "total") and not k.startswith("content/"))
    return {"content": content, "style": style, "tv": tv, "total": values["total"], **values}


def make_optimizer(name: str, image: Tensor, lr: float | None = None) -> torch.optim.Optimizer:
    """Adam or L-BFGS (one iteration per ``step``, strong-Wolfe line search) over ``image``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")
    lr = DEFAULT_LR[name] if lr is None else float(lr)
    if name == "adam":
        return torch.optim.Adam([image], lr=lr)
    return torch.optim.LBFGS([image], lr=lr, max_iter=1, history_size=50, line_search_fn="strong_wolfe")


def optimize_image(
    loss: PerceptualLoss,
    init: Tensor,
    steps: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    on_step: StepCallback | None = None,
    progress: bool = False,
) -> OptimizationResult:
    """Minimise ``loss(image)`` over the pixels of ``init`` ``(1, 3, H, W)``, projected onto [0, 1]
    (after each Adam step; after the last L-BFGS step). The last history row is the projected result.

    ``loss`` must already hold its targets (style, and content if any). ``on_step(iteration, image)``
    is called after each step with the detached image.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    image = init.detach().clone(memory_format=torch.contiguous_format).clamp_(0, 1).requires_grad_(True)
    solver = make_optimizer(optimizer, image, lr)
    project_every_step = optimizer != "lbfgs"
    result = OptimizationResult(image=image)
    bar = tqdm(range(steps), desc=f"{optimizer} steps", disable=not progress, leave=False)
    for iteration in bar:
        row: dict[str, float] = {"iteration": iteration}

        def closure(row: dict[str, float] = row) -> Tensor:
            solver.zero_grad(set_to_none=True)
            terms = loss(image)
            terms["total"].backward()
            if "total" not in row:  # L-BFGS re-evaluates in its line search; keep the iterate's own loss
                row.update(loss_groups(terms))
            return terms["total"]

        start = time.perf_counter()
        solver.step(closure)
        if project_every_step:
            with torch.no_grad():
                image.clamp_(0, 1)
        row["seconds"] = time.perf_counter() - start
        result.history.append(row)
        bar.set_postfix(total=f"{row['total']:.4g}")
        if not math.isfinite(row["total"]):
            raise FloatingPointError(f"loss became {row['total']} at iteration {iteration}: lower the learning rate")
        if on_step is not None:
            on_step(iteration + 1, image.detach().clamp(0, 1))
    with torch.no_grad():
        image.clamp_(0, 1)
        result.history.append({"iteration": steps, **loss_groups(loss(image))})
    result.image = image.detach()
    return result


@torch.no_grad()
def set_style_images(loss: PerceptualLoss, styles: Sequence[Tensor], weights: Sequence[float] | None = None) -> None:
    """Style targets from ``(3, H_i, W_i)`` images of any sizes: the ``weights``-weighted mean of their
    statistics (equal weights by default; one image is plain :meth:`PerceptualLoss.set_style`)."""
    if not styles:
        raise ValueError("at least one style image is needed")
    weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
    if len(weights) != len(styles) or sum(weights) <= 0 or min(weights) < 0:
        raise ValueError(f"need one non-negative weight per style image with a positive sum, got {weights}")
    if len(styles) == 1:
        loss.set_style(styles[0][None])
        return
    shares = [w / sum(weights) for w in weights]
    features = [loss.encoder(style[None], loss.style_taps) for style in styles]
    for style_loss in loss.style:
        statistics = [style_loss.statistics(f) for f in features]
        blend = {key: sum(w * s[key] for w, s in zip(shares, statistics, strict=True)) for key in statistics[0]}
        style_loss.set_statistics(blend)


def initial_image(init: str, content: Tensor, style: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``(1, 3, H, W)`` starting point shaped like ``content`` ``(3, H, W)``: the content itself, uniform
    noise, or ``style`` ``(3, h, w)`` resized to it."""
    if init == "content":
        return content[None].clone()
    if init == "noise":
        return torch.rand((1, *content.shape), generator=generator, device=content.device)
    if init == "style":
        return F.interpolate(style[None], size=content.shape[1:], mode="bilinear", antialias=True, align_corners=False)
    raise ValueError(f"unknown init {init!r}; choose one of {INITS}")


def stylize_by_optimization(
    loss: PerceptualLoss,
    content: Tensor,
    styles: Sequence[Tensor],
    steps: int = 300,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    init: str = "content",
    style_weights: Sequence[float] | None = None,
    seed: int = 0,
    on_step: StepCallback | None = None,
    progress: bool = False,
) -> OptimizationResult:
    """Gatys et al.: optimise an image of ``content``'s size ``(3, H, W)`` to match its features and the
    style statistics of ``styles`` (``(3, H_i, W_i)`` each, blended by ``style_weights``)."""
    if loss.content is None:
        raise ValueError("stylisation needs a PerceptualLoss with a content term")
    set_style_images(loss, styles, style_weights)
    loss.set_content(content[None])
    generator = torch.Generator(device=content.device).manual_seed(seed)
    start = initial_image(init, content, styles[0], generator)
    return optimize_image(loss, start, steps, optimizer, lr, on_step, progress)


def synthesize_texture(
    loss: PerceptualLoss,
    styles: Sequence[Tensor],
    size: tuple[int, int],
    steps: int = 300,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    style_weights: Sequence[float] | None = None,
    seed: int = 0,
    on_step: StepCallback | None = None,
    progress: bool = False,
) -> OptimizationResult:
    """Texture synthesis: an ``size = (H, W)`` image from uniform noise matching the style statistics of
    ``styles`` only (the loss's style and TV terms; it must have no fixed content)."""
    if loss.content is not None and loss.content.has_target:
        raise ValueError("texture synthesis uses no content, but this loss has a fixed content target")
    height, width = size
    if height < 1 or width < 1:
        raise ValueError(f"texture size must be positive, got {height}x{width}")
    set_style_images(loss, styles, style_weights)
    generator = torch.Generator(device=styles[0].device).manual_seed(seed)
    start = torch.rand((1, 3, height, width), generator=generator, device=styles[0].device)
    return optimize_image(loss, start, steps, optimizer, lr, on_step, progress)
