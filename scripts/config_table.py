"""Print the README's configuration table from manifest.json (the one source of truth).

    python scripts/config_table.py          # print the table
A test checks that README.md contains exactly this output.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.json"


def table() -> str:
    settings = json.loads(MANIFEST.read_text(encoding="utf-8"))["settings"]
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for item in settings:
        default = item["default"]
        shown = str(default).lower() if isinstance(default, bool) else str(default or "")
        secret = " (secret: never logged or shown)" if item.get("secret") else ""
        rows.append(f"| `SCANARR_{item['key'].upper()}` | {f'`{shown}`' if shown else '—'} | "
                    f"{item['label']}{secret}. {item['help']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
