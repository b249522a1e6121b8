"""Evented state: :class:`Evented` objects whose :class:`Field` s emit an event when they change.

``class View(Evented): zoom = Field(1.0, float)`` gives ``view.zoom`` (read), ``view.zoom = 2``
(coerced, then ``view.events.zoom(2.0)`` emitted when the value changed) and ``view.events``, an
:class:`~fusionlabel.events.EventGroup` with one event per field. Plain Python, no Qt: the window's
widgets bind to these events (``gui/bindings.py``); headless code and tests listen the same way.
State is read and written on one thread (the GUI's): results of background work arrive through
the window's queued signals before they are written here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from fusionlabel.events import EventGroup


class Field:
    """A piece of evented state: ``default`` and an optional ``coerce(value) -> value`` that
    converts or rejects (raises ``ValueError`` / ``TypeError``) what is assigned."""

    def __init__(self, default: Any, coerce: Callable[[Any], Any] | None = None, doc: str = "") -> None:
        self.default = default
        self.coerce = coerce
        self.name = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Evented | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._values[self.name]

    def __set__(self, obj: Evented, value: Any) -> None:
        obj.set(self.name, value)


class Evented:
    """Base of evented state objects (see the module doc). ``Evented(**values)`` sets fields
    without emitting; ``set(name, value)`` / attribute assignment emits on change;
    ``as_dict()`` gives the current values."""

    _fields: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        fields: dict[str, Field] = {}
        for klass in reversed(cls.__mro__):
            fields.update({k: v for k, v in vars(klass).items() if isinstance(v, Field)})
        cls._fields = fields

    def __init__(self, **values: Any) -> None:
        self.events = EventGroup(*self._fields)
        self._values: dict[str, Any] = {}
        unknown = set(values) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(unknown)}")
        for name, f in self._fields.items():
            self._values[name] = self._coerce(f, values.get(name, f.default))

    @staticmethod
    def _coerce(f: Field, value: Any) -> Any:
        return f.coerce(value) if f.coerce is not None else value

    def set(self, name: str, value: Any) -> bool:
        """Assign field ``name``; emits ``events.<name>(value)`` and returns True when it changed."""
        f = self._fields.get(name)
        if f is None:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        value = self._coerce(f, value)
        if value == self._values[name]:
            return False
        self._values[name] = value
        self.events[name].emit(value)
        return True

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{type(self).__name__}({inner})"
