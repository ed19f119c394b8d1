"""``core.marker_extra.for_extra``: an extra's requirement from core metadata, its
own condition decided and the rest of its marker kept."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement

from cloche.core.marker_extra import for_extra


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ('rich ; extra == "cli"', "rich"),
        ('rich ; extra == "CLI"', "rich"),  # extras compare normalized
        ('rich>=13 ; python_version >= "3.9" and extra == "cli"',
         'rich>=13; python_version >= "3.9"'),
        (
            'rich ; (python_version < "3.8" or os_name == "nt") and extra == "cli"',
            'rich; python_version < "3.8" or os_name == "nt"',
        ),
        (
            'rich ; os_name == "nt" and (extra == "cli" or extra == "dev") and sys_platform != "x"',
            'rich; os_name == "nt" and sys_platform != "x"',
        ),
        ('rich ; extra == "cli" or extra == "dev"', "rich"),
        ('rich ; extra == "dev" or python_version < "3.9"', 'rich; python_version < "3.9"'),
        ('rich ; extra == "dev"', None),
        ('rich ; extra != "cli" and os_name == "nt"', None),
        ('rich[x] @ https://example.org/rich-1-py3-none-any.whl ; extra == "cli"',
         "rich[x]@ https://example.org/rich-1-py3-none-any.whl"),
        ('rich ; sys_platform == "win32"', 'rich; sys_platform == "win32"'),
        ("rich", "rich"),
    ],
)  # fmt: skip
def test_for_extra(given: str, expected: str | None) -> None:
    chosen = for_extra(Requirement(given), "cli")
    if expected is None:
        assert chosen is None
    else:
        assert chosen == Requirement(expected), str(chosen)
