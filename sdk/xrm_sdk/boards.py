"""Boards (kanban) for stage-based records: declare one, register it on the plugin's blueprint.

``xrm.Board(name, title=..., columns=..., cards=..., move=..., permission=...)`` with
``xrm.BoardColumn`` and ``xrm.BoardCard`` values; ``board.register(blueprint, "/things/board")``
serves the page and its moves. Moves go through the plugin's own service; to refuse one, raise
``xrm.PermissionDenied``, ``xrm.NotFound`` or ``xrm.ValidationError``. See :mod:`xrm_core.ui.boards`.
"""

from xrm_core.ui.boards import Board, BoardCard, BoardColumn

__all__ = ["Board", "BoardCard", "BoardColumn"]
