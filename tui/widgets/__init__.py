"""The party's pictures: each draws a slice of ``tui.state.PartyState``, nothing else.

Widgets never see SimPy or sockets; they are handed a state (folded from trace events)
and redraw only when the version of the area they draw has moved.
"""
