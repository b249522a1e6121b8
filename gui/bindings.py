"""Qt bindings of the window's model (:mod:`gui.model`): each function ties one widget to one
piece of evented state, both ways where the widget edits it, and returns a function that unties
them. The widget never holds state of its own that the model does not have.

- :func:`bind_status`: a ``QStatusBar`` shows ``model.status``.
- :func:`bind_progress`: a ``QProgressBar`` (and a cancel button) show a :class:`Progress`.
- :func:`bind_combo`, :func:`bind_spin`, :func:`bind_check`: a combo box, spin box or check box
  edits one field of an :class:`~gui.model.Evented` object.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QStatusBar,
)

from gui.model import Evented, Progress, ProgressState, StatusMessage, ViewerModel

Unbind = Callable[[], None]


def bind_status(model: ViewerModel, bar: QStatusBar) -> Unbind:
    """``bar`` shows every status message of ``model`` (an empty text clears it)."""

    def show(msg: StatusMessage) -> None:
        if msg.text:
            bar.showMessage(msg.text, msg.timeout_ms)
        else:
            bar.clearMessage()

    return model.events.status.connect(show)


def bind_progress(progress: Progress, bar: QProgressBar, cancel: QAbstractButton | None = None) -> Unbind:
    """``bar`` shows ``progress`` (hidden when inactive, busy when the maximum is 0, the text as
    its tool tip); ``cancel``, when given, is shown for cancellable jobs and requests the cancel."""

    def show(s: ProgressState) -> None:
        bar.setRange(0, s.maximum)
        bar.setValue(s.value)
        bar.setToolTip(s.text)
        bar.setVisible(s.active)
        if cancel is not None:
            cancel.setVisible(s.active and s.cancellable)

    show(progress.state)
    unbind = [progress.events.changed.connect(show)]
    if cancel is not None:
        slot = lambda _=False: progress.request_cancel()  # noqa: E731
        cancel.clicked.connect(slot)
        unbind.append(lambda: cancel.clicked.disconnect(slot))

    def unbind_all() -> None:
        for u in unbind:
            u()

    return unbind_all


def _bind_field(obj: Evented, name: str, show: Callable[[object], None], signal: object,
                edited: Callable[..., None]) -> Unbind:
    show(getattr(obj, name))
    off = obj.events[name].connect(show)
    signal.connect(edited)  # type: ignore[attr-defined]

    def unbind() -> None:
        off()
        signal.disconnect(edited)  # type: ignore[attr-defined]

    return unbind


def bind_combo(obj: Evented, name: str, combo: QComboBox) -> Unbind:
    """``combo``'s current text is field ``name`` of ``obj`` (both ways)."""

    def show(v: object) -> None:
        if combo.currentText() != v:
            combo.setCurrentText(str(v))

    return _bind_field(obj, name, show, combo.currentTextChanged, lambda t: obj.set(name, t))


def bind_spin(obj: Evented, name: str, spin: QSpinBox) -> Unbind:
    """``spin``'s value is the integer field ``name`` of ``obj`` (both ways)."""

    def show(v: object) -> None:
        if spin.value() != v:
            spin.setValue(int(v))  # type: ignore[call-overload]

    return _bind_field(obj, name, show, spin.valueChanged, lambda n: obj.set(name, n))


def bind_double(obj: Evented, name: str, spin: QDoubleSpinBox) -> Unbind:
    """``spin``'s value is the float field ``name`` of ``obj`` (both ways)."""

    def show(v: object) -> None:
        if spin.value() != v:
            spin.setValue(float(v))  # type: ignore[arg-type]

    return _bind_field(obj, name, show, spin.valueChanged, lambda x: obj.set(name, x))


def bind_text(obj: Evented, name: str, edit: QLineEdit) -> Unbind:
    """``edit``'s text is the string field ``name`` of ``obj`` (both ways)."""

    def show(v: object) -> None:
        if edit.text() != v:
            edit.setText(str(v))

    return _bind_field(obj, name, show, edit.textChanged, lambda t: obj.set(name, t))


def bind_check(obj: Evented, name: str, box: QCheckBox) -> Unbind:
    """``box`` is checked when the boolean field ``name`` of ``obj`` is true (both ways)."""

    def show(v: object) -> None:
        if box.isChecked() != bool(v):
            box.setChecked(bool(v))

    return _bind_field(obj, name, show, box.toggled, lambda on: obj.set(name, on))
