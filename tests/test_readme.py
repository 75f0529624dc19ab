"""The README's API reference is generated from the docstrings and kept in sync by this test
(`python tests/test_readme.py` rewrites it); its examples run as doctests."""

from __future__ import annotations

import dataclasses
import doctest
import inspect
import re
import sys
from pathlib import Path

import syncdx

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- api-reference: generated from the docstrings by tests/test_readme.py -->"
END = "<!-- end of api-reference -->"
#: The classes whose public members the reference lists, and how an instance is called there.
MEMBERS = {"Model": "model", "Session": "session", "Step": "step", "SessionSummary": "summary"}


def _first_line(thing: object) -> str:
    doc = inspect.getdoc(thing) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _parameters(function: object) -> str:
    try:
        signature = inspect.signature(function)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "..."
    names = [
        ("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else "") + p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls")
    ]
    return ", ".join(names)


def _member_lines(owner: str, cls: type) -> list[str]:
    lines = [f"{_first_line(cls)}", ""]
    if dataclasses.is_dataclass(cls):
        fields = ", ".join(f"`{f.name}`" for f in dataclasses.fields(cls))
        lines += [f"- fields: {fields}"]
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            lines.append(f"- `{owner}.{name}`: {_first_line(member)}")
        elif isinstance(member, classmethod | staticmethod):
            function = member.__func__
            lines.append(
                f"- `{cls.__name__}.{name}({_parameters(function)})`: {_first_line(function)}"
            )
        elif inspect.isfunction(member):
            lines.append(f"- `{owner}.{name}({_parameters(member)})`: {_first_line(member)}")
    return lines


def reference() -> str:
    """The API reference section's body, from the public names and their docstrings."""
    lines = [BEGIN, "", "### `syncdx`", ""]
    for name in sorted(syncdx.__all__, key=str.casefold):
        value = getattr(syncdx, name)
        if inspect.isclass(value):
            lines.append(f"- `{name}`: {_first_line(value)}")
        elif callable(value):
            lines.append(f"- `{name}({_parameters(value)})`: {_first_line(value)}")
        else:
            lines.append(f"- `{name}`: {', '.join(sorted(map(repr, value)))}")
    for name, owner in MEMBERS.items():
        lines += ["", f"### `{name}`", "", *_member_lines(owner, getattr(syncdx, name))]
    return "\n".join([*lines, "", END])


def test_api_reference_matches_the_docstrings() -> None:
    """The README's API reference is exactly what the docstrings generate (run this file to
    regenerate it)."""
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.DOTALL)
    assert found is not None, "README has no API reference section"
    assert found.group(0) == reference(), "stale: run python tests/test_readme.py"


def test_readme_examples_run() -> None:
    """Every example in the README runs and prints what it shows."""
    failures, _ = doctest.testfile(
        str(README),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert failures == 0


if __name__ == "__main__":
    body = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(body):
        sys.exit("README has no API reference markers")
    README.write_text(pattern.sub(lambda _: reference(), body), encoding="utf-8")
