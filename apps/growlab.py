"""The growlab app: ``panel serve apps/growlab.py`` (or ``growlab serve``)."""

from growlab.ui import create_app

create_app().servable(title="growlab")
