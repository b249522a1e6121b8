"""Plain-Python events with many listeners (no Qt): :class:`Event` and :class:`EventGroup`.

An :class:`Event` calls every connected listener with the values it is emitted with, in the order
they were connected. A listener that raises does not stop the others nor the emitter: the error is
handed to the group's error reporter (by default logged with its traceback). ``blocker()`` is a
context manager during which emitting calls no one (nestable); ``connect`` returns a function
that disconnects.

The tools' :class:`~fusionlabel.tools.context.ToolContext` reports through a group of these and
the window's model (``gui/model``) is built on them, so any number of views can follow one piece
of state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[..., Any]
#: ``(event name, listener, exception)``: told about a listener that raised.
ErrorReporter = Callable[[str, Listener, BaseException], None]


def log_listener_error(name: str, listener: Listener, error: BaseException) -> None:
    """The default reporter: log the failure with its traceback."""
    log.error("listener %r of event %r failed", listener, name, exc_info=error)


class Event:
    """One named event. ``emit(*values)`` calls ``listener(*values)`` for each listener."""

    __slots__ = ("name", "_listeners", "_blocked", "_report")

    def __init__(self, name: str, report: ErrorReporter | None = None) -> None:
        self.name = name
        self._listeners: list[Listener] = []
        self._blocked = 0
        self._report = report

    def connect(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every emit from now on (again if connected twice); returns a
        function that disconnects it."""
        if not callable(listener):
            raise TypeError(f"event {self.name!r}: a listener must be callable, got {type(listener).__name__}")
        self._listeners.append(listener)
        return lambda: self.disconnect(listener)

    def disconnect(self, listener: Listener | None = None) -> None:
        """Disconnect ``listener`` (every connection of it; unknown ones are ignored), or every
        listener when None."""
        if listener is None:
            self._listeners.clear()
        else:
            self._listeners = [cb for cb in self._listeners if cb != listener]

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(self._listeners)

    @property
    def blocked(self) -> bool:
        return self._blocked > 0

    @contextmanager
    def blocker(self) -> Iterator[None]:
        """While inside, emitting this event calls no one (nestable)."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1

    def emit(self, *values: Any) -> None:
        """Call every listener with ``values`` (none when blocked). A listener's exception goes to
        the reporter; the remaining listeners are still called."""
        if self._blocked:
            return
        for cb in list(self._listeners):
            try:
                cb(*values)
            except Exception as e:
                (self._report or log_listener_error)(self.name, cb, e)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._listeners)} listeners{', blocked' if self.blocked else ''})"


class EventGroup:
    """Named :class:`Event` s reached as attributes or by name: ``group.frame.connect(f)``,
    ``group["frame"]``. ``blocker(*names)`` blocks the named events (all when none is named);
    ``disconnect(listener)`` removes a listener from every event; ``report`` is told about
    listeners that raise (default: :func:`log_listener_error`)."""

    def __init__(self, *names: str, report: ErrorReporter | None = None) -> None:
        self._events: dict[str, Event] = {}
        self.report: ErrorReporter = report or log_listener_error
        for n in names:
            self.add(n)

    def add(self, name: str) -> Event:
        """Add an event named ``name`` (an identifier, not yet in the group) and return it."""
        if not name.isidentifier() or name.startswith("_") or hasattr(type(self), name):
            raise ValueError(f"bad event name {name!r}")
        if name in self._events:
            raise ValueError(f"event {name!r} already exists")
        ev = Event(name, self._forward_error)
        self._events[name] = ev
        return ev

    def _forward_error(self, name: str, listener: Listener, error: BaseException) -> None:
        self.report(name, listener, error)

    def __getattr__(self, name: str) -> Event:
        events = self.__dict__.get("_events")
        if events is not None and name in events:
            return events[name]
        raise AttributeError(f"no event {name!r} (events: {sorted(events or ())})")

    def __getitem__(self, name: str) -> Event:
        try:
            return self._events[name]
        except KeyError:
            raise KeyError(f"no event {name!r} (events: {sorted(self._events)})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._events

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._events)

    def disconnect(self, listener: Listener | None = None) -> None:
        """Remove ``listener`` from every event (every listener of every event when None)."""
        for ev in self._events.values():
            ev.disconnect(listener)

    @contextmanager
    def blocker(self, *names: str) -> Iterator[None]:
        """While inside, the named events (all when none is named) call no one."""
        events = [self[n] for n in names] if names else list(self._events.values())
        for ev in events:
            ev._blocked += 1
        try:
            yield
        finally:
            for ev in events:
                ev._blocked -= 1

    def __repr__(self) -> str:
        return f"EventGroup({', '.join(self._events)})"
