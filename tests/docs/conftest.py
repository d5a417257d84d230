"""``docs/scripts`` and the repository root (for ``benchmarks``) on the import path."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "docs" / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
