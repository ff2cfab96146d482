"""Lightning systems: one per product, on a shared :class:`PerceptualSystem` base."""

from stylenet.systems.meta_stylizer import MetaStylizer
from stylenet.systems.perceptual_system import PerceptualSystem
from stylenet.systems.stylizer import Stylizer
from stylenet.systems.super_resolver import SuperResolver

__all__ = ["MetaStylizer", "PerceptualSystem", "Stylizer", "SuperResolver"]
