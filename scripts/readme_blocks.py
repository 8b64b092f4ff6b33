"""The code blocks of a README.md section, so scripts and tests run what the README says.

    python scripts/readme_blocks.py "Try it" sh 0    # prints the section's first ``sh`` block
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_section(heading: str, readme: Path = README) -> str:
    """The text of the README's ``## heading`` section, up to the next ``## ``."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if match is None:
        raise LookupError(f"{readme} has no '## {heading}' section")
    return match.group(1)


def code_blocks(heading: str, language: str, readme: Path = README) -> list[str]:
    """The section's fenced blocks of ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", readme_section(heading, readme), re.S | re.M)


def main(argv: list[str]) -> int:
    heading, language, index = argv
    sys.stdout.write(code_blocks(heading, language)[int(index)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
