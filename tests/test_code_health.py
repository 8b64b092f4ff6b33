"""Code health: no function or class of the package is more complex than radon grade C.

Grades D and worse (cyclomatic complexity above 20) mark code that cannot be read or tested one
rule at a time; the authorize endpoint's validation, for one, is a sequence of small RFC steps
(``oauth2/authorization.py``) so that this stays true.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from radon.complexity import cc_rank, cc_visit

import flask_passport

PACKAGE = Path(flask_passport.__file__).parent
WORST_ALLOWED = "C"


def _every_block(blocks: Iterable[Any]) -> Iterator[Any]:
    """Each function, class and method, with the closures radon nests inside functions."""
    for block in blocks:
        yield block
        yield from _every_block(getattr(block, "closures", ()))


def _above(source: str, grade: str) -> list[str]:
    return [f"{b.lineno} {b.fullname} {cc_rank(b.complexity)} ({b.complexity})"
            for b in _every_block(cc_visit(source)) if cc_rank(b.complexity) > grade]


def _blocks_above(grade: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent)
        found += [f"{where}:{b}" for b in _above(path.read_text(encoding="utf-8"), grade)]
    return found


def test_no_function_of_the_package_is_above_grade_c() -> None:
    assert _blocks_above(WORST_ALLOWED) == []


def test_the_check_sees_a_complex_method_or_closure() -> None:
    """The check is not vacuous: 21 branches grade D, in a method or a closure alike."""
    branches = "".join(f"            if x == {i}:\n                return {i}\n" for i in range(20))
    in_method = f"class A:\n    def f(self, x):\n        if x:\n{branches}        return -1\n"
    in_closure = (f"def g():\n    def f(x):\n        if x:\n{branches}        return -1\n"
                  "    return f\n")
    assert [line.split()[1] for line in _above(in_method, WORST_ALLOWED)] == ["A", "A.f"]
    assert [line.split()[1] for line in _above(in_closure, WORST_ALLOWED)] != []
    assert _above(in_method, "D") == []
