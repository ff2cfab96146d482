"""The registry of image networks: build a network by name, and name the network an instance is."""

from __future__ import annotations

from typing import Any

from torch import nn

_MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str):
    """Class decorator: build the class as ``get_model(name, **builder_args)``."""

    def register(cls: type[nn.Module]) -> type[nn.Module]:
        if name in _MODELS:
            raise ValueError(f"a model is already registered as {name!r}: {_MODELS[name].__name__}")
        cls.model_name = name
        _MODELS[name] = cls
        return cls

    return register


def list_models() -> list[str]:
    """Names of the registered networks."""
    return sorted(_MODELS)


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """A new network of the registered ``name`` built with ``kwargs``."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    return _MODELS[name](**kwargs)


def model_spec(net: nn.Module) -> dict[str, Any]:
    """``{"name": registered name, "args": builder arguments}`` of a registered network's instance."""
    name = getattr(type(net), "model_name", None)
    if _MODELS.get(name) is not type(net):
        raise ValueError(f"{type(net).__name__} is not a registered model; registered: {', '.join(list_models())}")
    return {"name": name, "args": dict(net.builder_args)}
