"""The growlab app: ``panel serve apps/growlab.py`` (or ``growlab serve``)."""

import os
import sys

# `panel serve` puts this file's folder first on sys.path, where this very file (growlab.py)
# would shadow the growlab package: drop the folder and any module cached under that name.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
if not hasattr(sys.modules.get("growlab"), "__path__"):
    sys.modules.pop("growlab", None)

from growlab.ui import create_app  # noqa: E402

create_app().servable(title="growlab")
