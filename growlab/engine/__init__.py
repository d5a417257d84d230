"""The torch engine: a population of masked networks (MLPs and conv nets), its optimizer, training step and metrics.

Never imports panel, bokeh or ipywidgets.
"""

from growlab.engine.losses import member_losses, probabilities
from growlab.engine.metrics import binary_auc, evaluate, macro_ovr_auc
from growlab.engine.network import Network, activation_fn, resolve_device
from growlab.engine.graph import ChannelGraph, channel_graph, reaching_outputs
from growlab.engine.layout import network_for, network_sizes
from growlab.engine.products import ALIGN, Trace, aligned
from growlab.engine.optim import Optimizer
from growlab.engine.streams import MemberStreams, stream_seed
from growlab.engine.train import Trainer, resolve_batch_size

__all__ = [
    "ALIGN",
    "ChannelGraph",
    "Trace",
    "aligned",
    "MemberStreams",
    "Network",
    "Optimizer",
    "Trainer",
    "activation_fn",
    "binary_auc",
    "channel_graph",
    "evaluate",
    "macro_ovr_auc",
    "member_losses",
    "network_for",
    "network_sizes",
    "probabilities",
    "reaching_outputs",
    "resolve_batch_size",
    "resolve_device",
    "stream_seed",
]
