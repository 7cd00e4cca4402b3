"""Small helpers shared by the command groups."""
from __future__ import annotations

import argparse


def examples(*lines: str) -> dict:
    """Keyword arguments for ``add_parser`` that show usage examples in ``--help``."""
    return {"epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines),
            "formatter_class": argparse.RawDescriptionHelpFormatter}
