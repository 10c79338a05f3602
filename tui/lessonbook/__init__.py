"""Lessons: Markdown files whose answers are computed by running the party.

Theory of operation. ``format`` reads a lesson (front matter, ``## steps``, and the
``scenario``/``predict``/``claims`` blocks) with markdown-it-py; ``claims`` is the small
language those blocks and the ``{{ placeholders }}`` speak; ``values`` names the
numbers a run gives; ``runner`` runs a lesson's scenarios on demand; ``checker``
proves a lesson (every scenario valid, every claim true); ``library`` finds the lesson
files; ``progress`` keeps the learner's place. No module here imports Textual: the
player (``tui.screens.lesson_player``) and the commands sit on top.
"""
