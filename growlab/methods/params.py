"""The methods' parameters are :class:`growlab.params.Param` (shared with the training settings)."""

from growlab.params import KINDS, Param, validate_all, validate_masks

__all__ = ["KINDS", "Param", "validate_all", "validate_masks"]
