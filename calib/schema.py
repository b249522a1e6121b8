"""JSON Schema validation of the project's own JSON files (validated on read).

The schemas ship in the packages (``calib/schemas/*.schema.json``: the rig;
``formats/schemas/*.schema.json``: the native index, tracks, project and edit journal; see
docs/io.md). Each carries an ``$id`` under :data:`BASE_URI`; schemas refer to each other by file
name (``document.schema.json#/$defs/track``), resolved inside the packages, never over a network.

:func:`validate` raises ``make_error(file, "<JSON path>: <what is wrong>")``: the file and the
JSON path (``$.frames[3].index``) of the most relevant problem (``jsonschema``'s ``best_match``).
Valid files (the common case) are checked by a ``fastjsonschema`` function compiled once from the
same schema with its references inlined (about 30 times faster than ``jsonschema``: 0.3 s for a
project of 60,000 boxes); ``jsonschema`` runs only to describe a failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

#: The base of the schemas' ``$id`` (a name, not fetched).
BASE_URI = "https://fusionlabel.invalid/schemas/"
#: Folders holding the shipped schemas: calib's own; higher layers add theirs with
#: :func:`add_schema_dir` (``formats.io`` adds ``formats/schemas``).
SCHEMA_DIRS: list[Path] = [Path(__file__).resolve().parent / "schemas"]
_MAX_MESSAGE = 160


def add_schema_dir(folder: str | Path) -> None:
    """Make the ``*.schema.json`` files of ``folder`` known (by name and by ``$id``)."""
    p = Path(folder).resolve()
    if p not in SCHEMA_DIRS:
        SCHEMA_DIRS.append(p)
        _registry.cache_clear()
        validator.cache_clear()
        _fast.cache_clear()


def schema_path(name: str) -> Path:
    """The shipped schema file ``<name>.schema.json`` (``name``: ``rig``, ``native-index``, ...)."""
    for d in SCHEMA_DIRS:
        p = d / f"{name}.schema.json"
        if p.is_file():
            return p
    raise FileNotFoundError(f"no shipped JSON schema {name!r} in {[str(d) for d in SCHEMA_DIRS]}")


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    resources = []
    for d in SCHEMA_DIRS:
        for p in sorted(d.glob("*.schema.json")) if d.is_dir() else ():
            resources.append((BASE_URI + p.name, Resource.from_contents(json.loads(p.read_text("utf-8")))))
    return Registry().with_resources(resources)


def _load(name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(schema_path(name).read_text("utf-8"))
    return out


def _inline(node: Any, base: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` (``file.schema.json#/$defs/x`` or ``#/$defs/x``) replaced by
    its target (the schemas are not recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            file, _, frag = str(node["$ref"]).partition("#")
            root = _load(file.removesuffix(".schema.json")) if file else base
            target: Any = root
            for part in (p for p in frag.split("/") if p):
                target = target[part]
            return _inline(target, root)
        return {k: _inline(v, base) for k, v in node.items() if k not in ("$id", "$schema", "$defs")}
    if isinstance(node, list):
        return [_inline(v, base) for v in node]
    return node


@cache
def _fast(name: str) -> Callable[[Any], Any]:
    import fastjsonschema

    schema = _load(name)
    flat = _inline(schema, schema)
    flat["$schema"] = "http://json-schema.org/draft-07/schema#"  # the keywords used mean the same there
    return fastjsonschema.compile(flat)  # type: ignore[no-any-return]


@cache
def validator(name: str) -> Any:
    """The (cached) ``Draft202012Validator`` of the shipped schema ``name``."""
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_path(name).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def prepare() -> list[str]:
    """Compile every known schema now (a process that forks workers does it once, before); returns
    their names."""
    names = sorted({p.name.removesuffix(".schema.json") for d in SCHEMA_DIRS if d.is_dir()
                    for p in d.glob("*.schema.json")})
    for name in names:
        _fast(name)
        validator(name)
    return names


def _short(v: str) -> str:
    return v if len(v) <= _MAX_MESSAGE else v[: _MAX_MESSAGE - 3] + "..."


def validate(data: Any, name: str, source: str | Path, make_error: Callable[[str, str], Exception]) -> None:
    """Check ``data`` (parsed JSON of the file ``source``) against the shipped schema ``name``;
    on failure raise ``make_error(str(source), "<JSON path>: <message> (schema <name>)")``."""
    import fastjsonschema

    try:
        _fast(name)(data)
        return
    except fastjsonschema.JsonSchemaValueException as e:
        fast_error = e
    from jsonschema.exceptions import best_match  # (imported on failure only: valid files need not)

    err = best_match(validator(name).iter_errors(data))
    if err is None:  # the two libraries disagree: say what the fast one found
        where = "$" + "".join(f"[{p!r}]" for p in (fast_error.path or [])[1:])
        raise make_error(str(source), f"{where}: {_short(str(fast_error.message))} (schema {name})")
    raise make_error(str(source), f"{err.json_path}: {_short(_message(err))} (schema {name})")


def _message(err: Any) -> str:
    """``jsonschema``'s message, said plainly where it is terse."""
    if err.validator == "const":
        return f"expected {err.validator_value!r}, got {err.instance!r:.60}"
    if err.validator == "not" and err.parent is None and isinstance(err.instance, str):
        return f"{err.instance!r} is not allowed here"
    return str(err.message)
