"""Named registries of method parts and presets; strings become classes here and nowhere else."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → class table.

    Example:
        >>> GROWERS = Registry("grow")
        >>> @GROWERS.register("noop")
        ... class Noop: ...
        >>> GROWERS.make("noop").__class__.__name__
        'Noop'
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._table: dict[str, type[T]] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def deco(cls: type[T]) -> type[T]:
            if name in self._table:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._table[name] = cls
            cls.name = name  # type: ignore[attr-defined]
            return cls

        return deco

    def get(self, name: str) -> type[T]:
        """The class registered as ``name``; ``ValueError`` listing the valid names otherwise."""
        if name not in self._table:
            raise ValueError(f"unknown {self.kind} {name!r}; valid: {', '.join(self._table)}")
        return self._table[name]

    def make(self, name: str, **params) -> T:
        """An instance of ``name`` with ``params``."""
        return self.get(name)(**params)

    def names(self) -> tuple[str, ...]:
        return tuple(self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def __iter__(self):
        return iter(self._table)
