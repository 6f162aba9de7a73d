"""Settings described once, as data: the CLI's flags, the GUI's editors and the services'
checks are all built from the same :class:`Param` (name, type, default, unit, range, help).

A value is checked where it is typed: ``argparse`` rejects ``--diameter -3`` with the
allowed range, a GUI spin box cannot go below the minimum, and a service dataclass calls
:func:`check_values` so a script calling the service directly gets the same message.
No Qt, no torch.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


@dataclass(frozen=True)
class Param:
    """One setting. ``kind`` is "int", "float", "choice", "bool" or "text"; ``auto`` names
    what None (or 0 in a spin box) means, e.g. "model default"; ``special`` names what the
    minimum means (e.g. 0 = "all"); ``unit`` is shown with the value ("px", "px²")."""

    name: str
    kind: str
    default: Any
    help: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    auto: str = ""  # None allowed, meaning this
    label: str = ""
    step: float = 1.0
    decimals: int = 2
    below_max: bool = False  # maximum itself not allowed (e.g. tile overlap < 0.5)
    special: str = ""  # what the minimum means, e.g. "all" for blocks = 0
    choices: tuple[tuple[str, str], ...] = ()  # (value, text) for kind "choice"
    editable: bool = False  # a "choice" that also takes other text (device names)
    cli_flag: str = ""  # when the flag is not --<name> (e.g. --lr)

    @property
    def flag(self) -> str:
        return self.cli_flag or "--" + self.name.replace("_", "-")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    def range_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and self.maximum is not None:
            top = "<" if self.below_max else "<="
            return f"{_num(self.minimum)} <= value {top} {_num(self.maximum)}{unit}"
        if self.minimum is not None:
            return f">= {_num(self.minimum)}{unit}"
        if self.maximum is not None:
            return f"<= {_num(self.maximum)}{unit}"
        return ""

    def help_text(self) -> str:
        """Help with unit, default and range, as ``--help`` shows it."""
        unit = f" [{self.unit}]" if self.unit else ""
        default = self.auto if self.default is None and self.auto else self.default
        rng = self.range_text() if self.kind in ("int", "float") else ""
        if self.special and self.minimum is not None:
            rng += f"; {_num(self.minimum)} = {self.special}"
        if self.kind == "choice":
            rng = ", ".join(f"{v}: {t}" if t != v else v for v, t in self.choices)
            rng += "; or another name" if self.editable else ""
        return f"{self.help}{unit} (default: {default}{'; ' + rng if rng else ''})"

    def check(self, value: Any) -> Any:
        """``value`` converted to the kind; ValueError naming the setting, range and unit."""
        if value is None:
            if self.auto or self.default is None:
                return None
            raise ValueError(f"{self.title}: a value is required")
        if self.kind == "bool":
            return bool(value)
        if self.kind == "text":
            return value
        if self.kind == "choice":
            if not self.editable and str(value) not in {v for v, _ in self.choices}:
                allowed = ", ".join(v for v, _ in self.choices)
                raise ValueError(f"{self.title} must be one of {allowed}, got {value!r}")
            return str(value)
        try:
            value = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.title}: expected a number, got {value!r}") from exc
        if value != value:  # NaN
            raise ValueError(f"{self.title}: expected a number, got NaN")
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and (
            value >= self.maximum if self.below_max else value > self.maximum)
        if too_low or too_high:
            raise ValueError(f"{self.title} must be {self.range_text()}, got {_num(value)}")
        return value

    def argparse_type(self):
        def convert(text: str):
            if self.auto and text.strip().lower() in ("auto", "none", ""):
                return None
            try:
                return self.check(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from exc
        convert.__name__ = self.kind  # argparse names the type in its messages
        return convert


def add_arguments(parser: argparse._ActionsContainer, params: Iterable[Param]) -> None:
    """One ``--flag`` per param, typed and range-checked, help showing default and unit."""
    for p in params:
        text = p.help_text().replace("%", "%%")  # argparse %-formats help strings
        if p.kind == "bool":
            parser.add_argument(p.flag, dest=p.name, action=argparse.BooleanOptionalAction,
                                default=p.default, help=text)
        elif p.kind == "choice" and not p.editable:
            parser.add_argument(p.flag, dest=p.name, default=p.default,
                                choices=[v for v, _ in p.choices], help=text)
        elif p.kind in ("choice", "text"):
            parser.add_argument(p.flag, dest=p.name, default=p.default, metavar="TEXT",
                                help=text)
        else:
            parser.add_argument(p.flag, dest=p.name, type=p.argparse_type(),
                                default=p.default,
                                metavar=p.unit.upper().replace("²", "2") or p.kind.upper(),
                                help=text)


def check_values(obj: Any, params: Iterable[Param]) -> None:
    """Check (and convert) every param-described attribute of a dataclass in place."""
    for p in params:
        if hasattr(obj, p.name):
            object.__setattr__(obj, p.name, p.check(getattr(obj, p.name)))


def by_name(params: Iterable[Param]) -> dict[str, Param]:
    return {p.name: p for p in params}
