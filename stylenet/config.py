"""Where the Hydra configs and the shared data are, the config resolvers, and composing a config.

``conf/`` lives at the repository's top level; a wheel ships it inside the package as ``stylenet/conf``
(``pyproject.toml``), so an installed ``stylenet`` finds it either way.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from stylenet.vgg import tap_channels


def config_dir() -> Path:
    """The ``conf/`` folder: the package's copy (an installed wheel), else the checkout's top level."""
    for candidate in (Path(__file__).with_name("conf"), Path(__file__).resolve().parents[1] / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"stylenet's conf/ folder is missing beside {Path(__file__).parent}; reinstall stylenet")


def shared_dir() -> Path:
    """Root of the weights and images: ``$STYLENET_SHARED``, else ``../shared`` (as ``conf/paths/default.yaml``)."""
    return Path(os.environ.get("STYLENET_SHARED", "../shared"))


def compose_config(name: str = "train", overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``conf/<name>.yaml`` with Hydra ``overrides``, outside a Hydra run."""
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(name, overrides=list(overrides))


PACKAGED_STYLES = Path(__file__).with_name("styles")


def style_image(local: str, packaged: str | None = None) -> str:
    """A style preset's image: the ``local`` file if it exists, else the public-domain copy shipped as
    ``stylenet/styles/<packaged>``; raises ``FileNotFoundError`` saying which file to put where."""
    if Path(local).is_file():
        return local
    if packaged and (PACKAGED_STYLES / packaged).is_file():
        return str(PACKAGED_STYLES / packaged)
    raise FileNotFoundError(
        f"style image not found: {local}; put the painting there, or choose any image with style.image=/path/to.jpg"
    )


def auto_precision(accelerator: str) -> str:
    """Lightning's precision for ``accelerator`` (``cpu``, ``gpu``/``cuda``): ``bf16-mixed`` where it computes
    bf16 natively (a CPU with AVX512-BF16 or AMX, as :func:`stylenet.runtimes.native_bf16` asks OpenVINO; a
    CUDA GPU with bf16), else ``32-true``."""
    if accelerator == "cpu":
        from stylenet.runtimes import native_bf16  # OpenVINO is only imported when a CPU run asks

        return "bf16-mixed" if native_bf16() else "32-true"
    return "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"


def gpu_or_cpu(on_gpu: object, on_cpu: object) -> object:
    """``on_gpu`` where CUDA is available, else ``on_cpu`` (``trainer=auto``'s schedule)."""
    return on_gpu if torch.cuda.is_available() else on_cpu


def _mul(*values: float) -> float:
    result = 1.0
    for value in values:
        result *= float(value)
    return result


def steps_for_photos(photos: int, batch_size: int) -> int:
    """The training steps in which each process sees ``photos`` photos at ``batch_size`` per step (rounded up)."""
    return -(-int(photos) // int(batch_size))


def _embedding_dim(arch: str, taps: Sequence[str]) -> int:
    return 2 * sum(tap_channels(arch, tap) for tap in taps)


def register_resolvers() -> None:
    """``${mul:a,b}``: product of numbers (loss weights times the backbone's scale);
    ``${embedding_dim:arch,taps}``: length of the mean/std style embedding of ``taps`` on VGG ``arch``;
    ``${style_image:local,packaged}``: see :func:`style_image`; ``${auto_precision:cpu}``: see :func:`auto_precision`;
    ``${gpu_or_cpu:a,b}``: see :func:`gpu_or_cpu`;
    ``${steps_for_photos:photos,batch}``: see :func:`steps_for_photos`."""
    if not OmegaConf.has_resolver("mul"):
        OmegaConf.register_new_resolver("mul", _mul)
    if not OmegaConf.has_resolver("embedding_dim"):
        OmegaConf.register_new_resolver("embedding_dim", _embedding_dim)
    if not OmegaConf.has_resolver("style_image"):
        OmegaConf.register_new_resolver("style_image", style_image)
    if not OmegaConf.has_resolver("gpu_or_cpu"):
        OmegaConf.register_new_resolver("gpu_or_cpu", gpu_or_cpu)
    if not OmegaConf.has_resolver("steps_for_photos"):
        OmegaConf.register_new_resolver("steps_for_photos", steps_for_photos)
    if not OmegaConf.has_resolver("auto_precision"):
        OmegaConf.register_new_resolver("auto_precision", auto_precision)


register_resolvers()
