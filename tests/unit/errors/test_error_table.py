"""errors.py is one table: every class carries the exit code (CLI) and HTTP status (serve) its docstring shows."""

from __future__ import annotations


def test_every_error_carries_the_exit_code_and_status_its_table_shows() -> None:
    """The tree drawn in errors.py's docstring is the table the CLI and serve go by: the
    classes must say the same (every class of the module, each one row)."""
    import re

    from swarm_star import errors

    rows = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"(\w+)\s+(\d+)\s+(\d{3})\b", errors.__doc__ or "")
    }
    classes = {name: cls for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, Exception)}
    assert set(rows) == set(classes)
    assert {name: (int(cls.exit_code), cls.http_status) for name, cls in classes.items()} == rows
    assert not issubclass(errors.AlreadyRunning, errors.ConflictError)  # 409 "already running" is its own error
