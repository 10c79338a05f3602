"""The footer of keys, never cut mid-word.

Textual's ``Footer`` lays its keys out in one row and lets the row run off the right
edge, under the command palette's key: at 120 columns the party's footer ended in
"t Timeli", a key the learner could not read. ``FittedFooter`` hides every key from the
first one that does not fit whole, so what shows is whole, and what does not is one
``ctrl+p`` away (the palette lists every key of the screen, ``PartyHostApp``) and in
the help (``?``).

Keys are hidden with ``visibility``, not ``display``: a hidden key keeps its place, so
hiding one never moves another, and fitting again after a resize reads the same layout.
The fit reads the keys' places, so it waits until they have some (it looks again a few
times, a frame apart); a footer under a modal screen (the help) keeps the row it had.
The row does not scroll either (Textual's lets a mouse wheel slide it): a slid row would
show the hidden keys' blank places.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterLabel


class FittedFooter(Footer):
    """A ``Footer`` that shows only the keys it can show whole, in their order."""

    DEFAULT_CSS = """
    FittedFooter { overflow-x: hidden; }
    /* a group's keys ("←→") sit one space before their label and one after it; Textual's
       compact style glued the label to the next key ("Speedr Restart") */
    FittedFooter.-compact KeyGroup.-compact { padding-left: 0; }
    FittedFooter.-compact FooterLabel { margin: 0 1 0 0; }
    """

    LOOKS = 50  # times a fit waits a frame (20 ms) for its keys' places: a second at most

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._waits = 0
        self._spans: list[tuple[int, int]] = []  # each item's columns, from the footer's left

    def bindings_changed(self, screen: Screen) -> None:
        """Under a modal screen (the help) the row stays as it was fitted: recomposed
        there, it would be laid out only later, with no resize to say when."""
        if self._spans and self.app.screen is not self.screen:
            return
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        """New keys (a screen's bindings changed): fit them once they are laid out."""
        await super().recompose()
        self._spans = []
        self.call_after_refresh(self.fit_keys)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_keys)

    def row(self) -> list[Widget]:
        """The keys and group labels of the row, left to right (not the palette's key)."""
        return [child for child in self.children if not child.has_class("-command-palette")]

    def palette_key(self) -> Widget | None:
        return next((c for c in self.children if c.has_class("-command-palette")), None)

    def fit_keys(self) -> None:
        """Show the keys that end left of the palette's key (or the edge), hide the rest.

        Where each item sits is read once, when the new row is first laid out, all of it
        shown (a hidden widget has no place in Textual's map, but keeps its columns: the
        keys are ``width: auto`` and the palette's key is docked apart). A group's label
        that does not fit hides its keys too: keys without the word that says what they
        do are no help."""
        row, palette = self.row(), self.palette_key()
        if len(self._spans) != len(row):  # a row recomposed by other means than ours
            self._spans = []
        if not self._spans:
            if any(not item.region.width for item in [*row, self]):  # not laid out yet
                if self._waits < self.LOOKS:
                    self._waits += 1
                    self.set_timer(0.02, self.fit_keys)
                return
            self._spans = [(item.region.x - self.region.x, item.region.right - self.region.x)
                           for item in row]
        self._waits = 0
        end = palette.region.x - self.region.x if palette and palette.region.width \
            else self.region.width
        first_cut = next((i for i, (_, right) in enumerate(self._spans) if right > end),
                         len(row))
        if first_cut < len(row) and isinstance(row[first_cut], FooterLabel) and first_cut:
            first_cut -= 1
        for i, item in enumerate(row):
            item.visible = i < first_cut

    def shown(self) -> list[Widget]:
        """The keys and labels a learner sees (tests read this)."""
        return [item for item in self.row() if item.visible]
