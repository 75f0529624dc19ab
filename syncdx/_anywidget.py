"""`SessionWidget`: the anywidget front end of `_widget.Board` (needs `syncdx[notebook]`)."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from syncdx._model import Model
from syncdx._widget import Board
from syncdx._widget_esm import ESM


class SessionWidget(anywidget.AnyWidget):
    """Every question as a drop-down, repairs to mark "tried, not fixed", the posterior bars,
    the next best question and step, and the explanation of the top cause."""

    _esm = ESM
    view = traitlets.Dict().tag(sync=True)

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.board = Board(model)
        self.view = self.board.view()
        self.on_msg(self._on_message)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Apply the change; send the quick part of the view at once, then the planner's step."""
        if isinstance(content, dict):
            self.board.handle(content)
        self.view = self.board.view(step=False)
        self.view = {**self.view, "step": self.board.next_step()}
