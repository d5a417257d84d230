"""What every picture of a network shares, without any UI library: the colours
(:mod:`~growlab.view.palette`) and the diagram's layer layout (:mod:`~growlab.view.diagram_layout`).
The app (``growlab.ui``) and the recordings (``growlab.record``) both draw with them."""
