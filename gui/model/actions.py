"""The window's one action registry, Qt-free: every command the user can give (menu entry, key,
button) is one :class:`Action` here, and the menus, the keys and the F1 help table are generated
from :data:`ACTIONS` (``gui/qt`` turns the menu entries into ``QAction`` objects).

An action has an ``id``, a ``title`` (the menu text, ``&`` marks a mnemonic), a ``menu`` path
(``"Track"``, ``"File/&Export"``; empty: no menu entry), its keys and ``run(model)`` /
``enabled(model)`` on the :class:`~gui.model.ViewerModel`. Keys come from two places:

- the tools' keymap (``fusionlabel.tools.keymap``): the bindings whose action is the action's id
  (the key goes through the :class:`~fusionlabel.tools.ToolController`, which performs the tool
  actions itself and hands the others to :meth:`ActionRegistry.run`); an entry may add bindings
  of its own in ``keys`` (keymap key text, e.g. ``"Ctrl+K"``);
- ``shortcuts``: the window's own keys (Qt key-sequence text such as ``"F1"``, ``"["``), for keys
  the keymap does not know.

Adding an action is one entry of :data:`ACTIONS`. What an action works on hangs off the model:
``model.controller`` (the tools), ``model.shell`` (what only the window can do: dialogs, timers,
:class:`Shell`), and the parts ``model.tracks``, ``model.auto_track``, ``model.proposal_review``,
``model.review`` (QA review) and ``model.export``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from fusionlabel.tools.keymap import KeyBinding, Keymap, default_bindings
from gui.model.export import EXPORTS, export_name


class Shell(Protocol):
    """What only the window can do (dialogs, timers, its own widgets); ``model.shell``."""

    def ask_open(self) -> None: ...
    def save(self, ask: bool = False) -> bool: ...
    def close(self) -> bool: ...
    def show_help(self) -> object: ...
    def open_menus(self) -> None: ...
    def toggle_play(self) -> None: ...
    def reset_views(self) -> None: ...


def always(model: Any) -> bool:
    """Enabled whatever is loaded."""
    return True


def has_session(model: Any) -> bool:
    """Enabled when a sequence is loaded (with its tools bound)."""
    return model.session is not None and model.controller is not None


@dataclass(frozen=True, slots=True)
class Action:
    """One command of the window (see the module doc). ``group``: the help table's group (default:
    the menu's first part); ``help``: the help text (default: the title without ``&`` and
    ``...``); ``separator``: a menu separator before the entry."""

    id: str
    title: str
    run: Callable[[Any], object]
    menu: str = ""
    shortcuts: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    enabled: Callable[[Any], bool] = has_session
    group: str = ""
    help: str = ""
    separator: bool = False

    @property
    def text(self) -> str:
        """The title as plain text (no mnemonic, no trailing dots)."""
        return self.title.replace("&", "").rstrip(".")

    @property
    def help_group(self) -> str:
        return self.group or self.menu.split("/")[0].replace("&", "") or "General"


class HelpRow(NamedTuple):
    """A row of the F1 table: the ``action`` id, its ``group``, the ``keys`` and what it does."""

    action: str
    group: str
    keys: str
    text: str


def parse_keys(text: str, action: str, description: str, group: str) -> KeyBinding:
    """A keymap binding from key text such as ``"Ctrl+Shift+K"`` (the keymap's own names)."""
    parts = [p for p in text.split("+") if p] or [text]
    *mods, key = parts
    names = {v.lower(): k for k, v in _KEY_NAMES.items()}
    bad = [m for m in mods if m.lower() not in ("ctrl", "alt", "shift")]
    if bad or not key:
        raise ValueError(f"action {action!r}: cannot read the keys {text!r}")
    return KeyBinding(names.get(key.lower(), key.lower()), frozenset(m.lower() for m in mods), action,
                      description, group)


_KEY_NAMES = {"left": "Left", "right": "Right", "up": "Up", "down": "Down", "tab": "Tab", "escape": "Esc",
              "delete": "Delete", "backspace": "Backspace", "page_up": "PgUp", "page_down": "PgDown",
              "home": "Home", "end": "End", "space": "Space", "enter": "Enter"}


def normalise_shortcut(text: str) -> str:
    """One spelling of a shortcut for comparisons: modifiers sorted, lower case, common key
    aliases merged (``"Shift+Ctrl+Z"`` and ``"Ctrl+Shift+z"`` are one shortcut)."""
    parts = [p for p in text.split("+") if p] if text != "+" else ["+"]
    if text.endswith("++"):
        parts.append("+")
    *mods, key = [p.strip().lower() for p in parts]
    key = {"esc": "escape", "del": "delete", "return": "enter", "pgup": "page_up",
           "pgdown": "page_down", "page up": "page_up", "page down": "page_down"}.get(key, key)
    return "+".join([*sorted(mods), key])


class ActionRegistry:
    """The actions (in menu order) and the window's keymap built from them (see the module doc).

    ``bindings``: the tools' key table (default: ``fusionlabel.tools.keymap.default_bindings()``);
    every binding's action must be an action of the registry, and the entries' own ``keys`` join
    it. Raises ``ValueError`` on a duplicate id, an unknown binding action or a key bound twice."""

    def __init__(self, actions: Iterable[Action], bindings: Sequence[KeyBinding] | None = None) -> None:
        self._actions: dict[str, Action] = {}
        for a in actions:
            if a.id in self._actions:
                raise ValueError(f"action {a.id!r} registered twice")
            self._actions[a.id] = a
        table = list(default_bindings() if bindings is None else bindings)
        unknown = sorted({b.action for b in table} - set(self._actions))
        if unknown:
            raise ValueError(f"key bindings of unregistered actions: {unknown}")
        for a in self._actions.values():
            table += [parse_keys(k, a.id, a.help or a.text, a.help_group) for k in a.keys]
        self.keymap = Keymap(table)  # raises on a key bound twice
        self._check_shortcuts()

    # ---- lookup ----------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Action]:
        return iter(self._actions.values())

    def __len__(self) -> int:
        return len(self._actions)

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def __getitem__(self, action_id: str) -> Action:
        try:
            return self._actions[action_id]
        except KeyError:
            raise KeyError(f"no action {action_id!r}") from None

    def key_actions(self) -> frozenset[str]:
        """Ids of the actions with keymap bindings (the controller hands those it does not
        perform itself to :meth:`run`)."""
        return frozenset(b.action for b in self.keymap.bindings)

    def app_actions(self) -> frozenset[str]:
        """Ids of the actions whose keymap keys come from their registry entry (``keys``): the
        controller hands them to the application (with the core's ``APP_ACTIONS``)."""
        return frozenset(a.id for a in self._actions.values() if a.keys)

    def keys_of(self, action_id: str) -> list[str]:
        """Every key of an action: its keymap bindings' texts, then its own shortcuts."""
        return [*self.keymap.shortcuts_for(action_id), *self[action_id].shortcuts]

    def shown_key(self, action_id: str) -> str:
        """The key shown next to a menu entry (the first one; '' when none)."""
        keys = self.keys_of(action_id)
        return keys[0] if keys else ""

    # ---- running ---------------------------------------------------------------------------------
    def is_enabled(self, action_id: str, model: Any) -> bool:
        return bool(self[action_id].enabled(model))

    def run(self, action_id: str, model: Any) -> bool:
        """Run an action on ``model`` when it is enabled; True when it ran. An action that raises
        says so in the status line (``model.show_message``); the window stays up."""
        a = self[action_id]
        if not a.enabled(model):
            return False
        try:
            a.run(model)
        except Exception as e:  # an action failing must not kill the window; say it
            model.show_message(f"{a.id}: {type(e).__name__}: {e}", 8000)
            return False
        return True

    # ---- generated tables ------------------------------------------------------------------------
    def menus(self) -> list[tuple[str, list[Action]]]:
        """``(menu path, actions)`` in order of first appearance; sub-menus (``"File/&Export"``)
        are their own entries, placed where their first action stands."""
        out: dict[str, list[Action]] = {}
        for a in self._actions.values():
            if a.menu:
                out.setdefault(a.menu, []).append(a)
        return list(out.items())

    def help_table(self) -> list[HelpRow]:
        """Every action's help rows: the keymap's bindings (in its order, one row per binding),
        then the window's own shortcuts, then the actions reached from a menu only (keys column:
        the menu)."""
        rows = [HelpRow(b.action, b.group, b.shortcut, b.description) for b in self.keymap.bindings]
        rows += [HelpRow(a.id, a.help_group, ", ".join(a.shortcuts), a.help or a.text)
                 for a in self._actions.values() if a.shortcuts]
        keyed = {r.action for r in rows}
        rows += [HelpRow(a.id, a.help_group, f"menu {a.menu.replace('&', '').replace('/', ' > ')}", a.help or a.text)
                 for a in self._actions.values() if a.id not in keyed and a.menu]
        return rows

    def help_rows(self) -> list[tuple[str, str, str]]:
        """``(group, keys, what)`` rows for the shortcut dialog."""
        return [(r.group, r.keys, r.text) for r in self.help_table()]

    def _check_shortcuts(self) -> None:
        """The window's own shortcuts and the keymap share one context (the window): no shortcut
        twice."""
        seen = {normalise_shortcut(b.shortcut): b.action for b in self.keymap.bindings}
        for a in self._actions.values():
            for s in a.shortcuts:
                k = normalise_shortcut(s)
                if k in seen and seen[k] != a.id:
                    raise ValueError(f"{s} is bound twice ({seen[k]} and {a.id})")
                seen[k] = a.id


# ---- the actions --------------------------------------------------------------------------------
def _ctl(name: str, **kw: object) -> Callable[[Any], object]:
    """Run a tools' action through the controller (which ends a run of merged nudges)."""
    return lambda m: m.controller.perform(name, **kw)


def _part(part: str, method: str, *args: object) -> Callable[[Any], object]:
    """Call ``model.<part>.<method>(*args)``."""
    return lambda m: getattr(getattr(m, part), method)(*args)


def _shell(method: str, *args: object) -> Callable[[Any], object]:
    return lambda m: getattr(m.shell, method)(*args)


def _toggle_camera_points(m: Any) -> None:
    m.view.camera_points = not m.view.camera_points


def _toggle(name: str) -> Callable[[Any], None]:
    """An action that switches the view option ``name`` (a bool field of ``ViewOptions``)."""
    def run(m: Any) -> None:
        setattr(m.view, name, not getattr(m.view, name))
    return run


def _tracks(*entries: tuple[str, str, str, bool]) -> list[Action]:
    """Track menu entries ``(id, title, method of model.tracks, separator before)``."""
    return [Action(i, t, _part("tracks", meth), "Track", separator=sep) for i, t, meth, sep in entries]


def _exports() -> list[Action]:
    return [Action(f"export_{k}", kind.text, _part("export", "ask_export", k), "File/&Export", enabled=always,
                   group="File", help=f"Export the session as {export_name(kind)}")
            for k, kind in EXPORTS.items()]


def _review(i: str, title: str, method: str, *args: object, sep: bool = False) -> Action:
    return Action(i, title, _part("review", method, *args), "Review", enabled=always, separator=sep)


def _points(*entries: tuple[str, str, str, tuple[object, ...], tuple[str, ...]]) -> list[Action]:
    """Point-label entries ``(id, title, method of model.point_labels, its args, the window's keys)``."""
    return [Action(i, t, _part("point_labels", meth, *args), "Assist/Point labels", keys,
                   separator=n == 0)
            for n, (i, t, meth, args, keys) in enumerate(entries)]


def _proposal(i: str, title: str, method: str, *args: object) -> Action:
    return Action(i, title, _part("proposal_review", method, *args), "Assist")


def _map_actions() -> list[Action]:
    """The Map menu (``model.map``: :class:`gui.model.mapwork.MapWork`) and View > Map elements."""
    from fusionlabel.map.element import MAP_CLASSES

    def toggle(m: Any) -> None:
        m.map.visible = not m.map.visible

    acc = [Action(f"map_accumulate_{k}", t, _part("map", "start_accumulate", n), "Map/&Accumulated world",
                  group="Map") for k, t, n in (("25", "25 sweeps", 25), ("100", "100 sweeps", 100),
                                              ("all", "All sweeps", 0), ("off", "Off (the current sweep)", -1))]
    classes = [Action(f"map_class_{c}", c.replace("_", " "), _part("map", "set_new_class", c),
                      "Map/&Class of new elements", group="Map") for c in MAP_CLASSES]
    return [
        Action("map_visible", "Map elements (on / off)", toggle, "View", enabled=always, group="View"),
        Action("tool_map_draw", "Draw map element (click vertices, Enter ends)", _part("map", "set_tool", "map_draw"),
               "Map"),
        Action("tool_map_edit", "Edit map elements (drag vertices, double-click inserts)",
               _part("map", "set_tool", "map_edit"), "Map"),
        *classes,
        Action("map_apply_class", "Give the selected element the class of new elements", _part("map", "apply_class"),
               "Map", separator=True),
        Action("map_reverse", "Reverse the selected element", _part("map", "reverse"), "Map"),
        Action("map_split", "Split the selected element at the selected vertex", _part("map", "split"), "Map"),
        Action("map_join", "Join the selected element with the nearest of its class", _part("map", "join"), "Map"),
        Action("map_resample", "Resample the selected element (a vertex every metre)", _part("map", "resample"),
               "Map"),
        Action("map_smooth", "Smooth the selected element (3 m)", _part("map", "smooth"), "Map"),
        Action("map_delete", "Delete the selected element", _part("map", "delete"), "Map"),
        *acc,
        Action("map_import", "Import map file (native, Argoverse 2, MapTR, OpenLABEL)...", _part("map", "import_file"),
               "Map", separator=True),
        *[Action(f"map_{i}", t, lambda m, meth=meth, args=args: getattr(m.map.proposals, meth)(*args),
                 "Map/&Map proposals", group="Map")
          for i, t, meth, args in (
              ("extract_lanes", "Extract lane lines (lane-paint assist)", "start_extract", ("lanes",)),
              ("extract_curbs", "Extract kerbs (height-step assist)", "start_extract", ("curbs",)),
              ("proposal_accept", "Accept the map proposal under review", "accept", ()),
              ("proposal_reject", "Reject the map proposal under review", "reject", ()),
              ("proposal_next", "Next map proposal", "next", ()),
              ("proposal_previous", "Previous map proposal", "previous", ()),
              ("proposal_accept_above", "Accept map proposals above the threshold", "accept_above", ()),
              ("proposal_reject_rest", "Reject the rest of the map proposals", "reject_rest", ()))],
    ]


def default_actions() -> list[Action]:
    """The window's actions, in menu order (see the module doc)."""
    nav, view = "Navigation", "View"
    return [
        # File
        Action("open", "&Open sequence or project...", _shell("ask_open"), "File", ("Ctrl+O",), enabled=always),
        Action("save", "&Save", _shell("save"), "File"),
        Action("save_as", "Save &as...", _shell("save", True), "File", ("Ctrl+Shift+S",), enabled=always),
        *_exports(),
        Action("quit", "&Quit", _shell("close"), "File", ("Ctrl+Q",), enabled=always, separator=True),
        # Edit
        Action("undo", "&Undo", _ctl("undo"), "Edit"),
        Action("redo", "&Redo", _ctl("redo"), "Edit"),
        Action("copy_to_next_frame", "Copy box to next frame", _ctl("copy_to_next_frame"), "Edit"),
        Action("delete_box", "Delete box at this frame", _ctl("delete_box"), "Edit"),
        Action("delete_track", "Delete track", _ctl("delete_track"), "Edit"),
        Action("tool_edit", "Edit tool", _ctl("tool_edit"), "Edit", separator=True),
        Action("tool_create", "Create tool", _ctl("tool_create"), "Edit"),
        # Track (gui track operations, then auto-tracking)
        *_tracks(("make_keyframe", "Make keyframe here", "make_keyframe", False),
                 ("copy_to_this_frame", "Bring the selected box to this frame", "copy_to_this_frame", False),
                 ("propagate_all", "Propagate all boxes to the next frame", "propagate_all", False),
                 ("split_track", "Split track at this frame", "split_here", True),
                 ("merge_tracks", "Merge another track into the selected one...", "merge", False),
                 ("delete_from_here", "Delete track from this frame on", "delete_from_here", False),
                 ("mark_gap", "Mark gap from here to the next keyframe", "mark_gap", True),
                 ("remove_gap", "Remove the gap here", "remove_gap", False),
                 ("flip_track", "Flip the track's heading (180 degrees)", "flip_track", True),
                 ("resize_track", "One size for the whole track", "resize_track", False),
                 ("end_track", "End the track at this frame", "end_track", False),
                 ("extend_track", "Continue the track to the end of the sequence", "extend_track", False)),
        Action("interpolate_linear", "Interpolate linearly", _part("tracks", "set_interpolation", "linear"), "Track",
               separator=True),
        Action("interpolate_smooth", "Interpolate smoothly", _part("tracks", "set_interpolation", "smooth"), "Track"),
        Action("auto_track", "Auto-track the selected track", _part("auto_track", "start_selected"), "Track",
               separator=True),
        Action("auto_track_all", "Auto-track all tracks", _part("auto_track", "start"), "Track"),
        Action("next_tracked_review", "Next low-confidence tracked box", _part("auto_track", "step", 1), "Track"),
        Action("previous_tracked_review", "Previous low-confidence tracked box", _part("auto_track", "step", -1),
               "Track"),
        Action("cancel_auto_track", "Cancel auto-tracking", _part("auto_track", "cancel"), "Track"),
        # Assist (one-click tool, pre-labelling, proposal review)
        Action("tool_oneclick", "One-click box tool", _ctl("tool_oneclick"), "Assist"),
        Action("tool_oneclick_held", "One-click box tool, held on (box after box)", _ctl("tool_oneclick_held"),
               "Assist"),
        Action("camera_box", "Camera box tool (on / off)", _toggle("camera_box"), "Assist",
               help="Camera box tool on / off: drag a rectangle over an object in a camera panel, a box is fitted "
                    "to its LiDAR points (Esc cancels the drag)"),
        Action("auto_track_new", "New boxes track themselves (on / off)", _toggle("auto_track_new"), "Assist",
               enabled=always, help="New boxes track themselves through the sequence, with one heading, size and "
                                    "motion state for the whole track (on / off)"),
        Action("auto_track_edits", "Edits re-track up to the next keyframes (on / off)", _toggle("auto_track_edits"),
               "Assist", enabled=always),
        Action("prelabel", "Pre-label sequence", _part("proposal_review", "start_prelabel"), "Assist"),
        _proposal("accept_proposal", "Accept proposal", "accept"),
        _proposal("accept_above_threshold", "Accept all proposals above the threshold", "accept_above"),
        _proposal("reject_rest", "Reject this proposal and the rest of the queue", "reject_rest"),
        _proposal("reject_proposal", "Reject proposal", "reject"),
        _proposal("relabel_proposal", "Proposal: class of new boxes", "relabel"),
        _proposal("next_proposal", "Next proposal", "step", 1),
        _proposal("previous_proposal", "Previous proposal", "step", -1),
        # Assist > Point labels (gui/model/pointlabels.py; model.point_labels)
        *_points(("point_lasso", "Lasso: label points in the BEV", "use_tool", ("lasso",), ("Shift+L",)),
                 ("point_brush", "Brush: label points in the BEV", "use_tool", ("brush",), ("Shift+P",)),
                 ("point_fill_boxes", "Fill point labels from boxes", "fill_from_boxes", (), ("Ctrl+Shift+F",)),
                 ("point_ground_road", "Ground and road point labels", "ground_and_road", (), ("Ctrl+Shift+G",)),
                 ("point_cleanup", "Clean up small point-label clusters", "cleanup", (), ()),
                 ("point_colors", "Points by class / instance / height", "cycle_color", (), ("Shift+M",))),
        # Navigate
        Action("frame_step", "Next frame", lambda m: m.set_frame(m.frame + 1), "Navigate", group=nav),
        Action("play", "Play / pause", _shell("toggle_play"), "Navigate", ("Space",), group=nav),
        Action("next_keyframe", "Next keyframe", lambda m: m.jump_keyframe(1), "Navigate", ("]",), group=nav),
        Action("previous_keyframe", "Previous keyframe", lambda m: m.jump_keyframe(-1), "Navigate", ("[",), group=nav),
        # keys of the tools with no menu entry (their help rows come from the keymap)
        Action("frame_first", "First frame", _ctl("frame_first")),
        Action("frame_last", "Last frame", _ctl("frame_last")),
        Action("select_next", "Select the next box of this frame", _ctl("select_next", step=1)),
        Action("escape", "Cancel the drag, else deselect", _ctl("escape")),
        Action("create_at_cursor", "New box at the pointer", _ctl("create_at_cursor")),
        Action("nudge", "Move the box forward", _ctl("nudge", d_box=(0.05, 0.0, 0.0))),
        Action("rotate", "Rotate the box counter-clockwise", _ctl("rotate", dyaw=0.0174533)),
        Action("resize", "Make the box longer", _ctl("resize", dsize=(0.05, 0.0, 0.0))),
        # View
        Action("cycle_colors", "Cycle point colours", lambda m: m.view.cycle_color_mode(), "View", ("M",),
               enabled=always, group=view),
        Action("camera_points", "LiDAR in cameras", _toggle_camera_points, "View", ("P",), enabled=always, group=view),
        Action("time_correct", "Boxes at each image's capture time (on / off)", _toggle("time_correct"), "View",
               enabled=always, group=view),
        Action("deskew", "Deskewed sweeps (on / off)", _toggle("deskew"), "View", enabled=always, group=view),
        Action("reset_views", "Centre the views on the ego vehicle", _shell("reset_views"), "View", ("Z",),
               enabled=always, group=view),
        Action("rotate_bev", "Rotate the BEV by 90 degrees", lambda m: m.view.rotate_bev(), "View", ("Shift+Z",),
               enabled=always, group=view),
        # Map (map elements in the BEV: gui/model/mapwork.py; model.map)
        *_map_actions(),
        # Review (QA review of the annotation; not the proposal review)
        _review("review_mode", "Review mode (review and findings panels)", "toggle"),
        _review("review_accept", "Accept the selected box", "review_box", "accepted", sep=True),
        _review("review_reject", "Reject the selected box (with the comment)", "review_box", "rejected"),
        _review("review_accept_frame", "Accept the frame", "review_frame", "accepted"),
        _review("review_next", "Next to review", "step", 1),
        _review("review_previous", "Previous to review", "step", -1),
        _review("review_issue", "Issue marker at the pointer", "add_issue"),
        _review("run_qa", "Run the QA checks", "run_checks", sep=True),
        # Help
        Action("help", "&Keyboard shortcuts", _shell("show_help"), "Help", ("F1", "?"), enabled=always),
        Action("open_menus", "Open the menus (arrow keys move, Esc closes)", _shell("open_menus"), "Help", ("F10",),
               enabled=always),
    ]


#: The registry of the window (built once; its keymap is the window's).
def default_registry() -> ActionRegistry:
    """A fresh registry of :func:`default_actions` over the tools' default key table."""
    return ActionRegistry(default_actions())
