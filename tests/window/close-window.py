#!/usr/bin/python3
"""Asks the window titled TITLE to close, as a window manager's close button does:
a WM_DELETE_WINDOW message (ICCCM), which the app sees as a close request. (WebDriver's
"close window" tears the webview down instead, so the app never hears of it.)
  close-window.py TITLE            close it
  close-window.py --exists TITLE   only say whether it is there
Exits 1 when no such window is found. Debian's python3-xlib; DISPLAY must be set."""

import sys

from Xlib import X, display, protocol


def windows(window):
    for child in window.query_tree().children:
        yield child
        yield from windows(child)


def main(title, only_check=False):
    screen = display.Display()
    protocols = screen.intern_atom("WM_PROTOCOLS")
    delete = screen.intern_atom("WM_DELETE_WINDOW")
    name_atom = screen.intern_atom("_NET_WM_NAME")
    utf8 = screen.intern_atom("UTF8_STRING")
    closed = 0
    for window in windows(screen.screen().root):
        try:
            net_name = window.get_full_property(name_atom, utf8)
            name = net_name.value.decode() if net_name else window.get_wm_name()
            if name != title or delete not in (window.get_wm_protocols() or []):
                continue
        except Exception:  # windows come and go while we walk the tree
            continue
        if only_check:
            return 0
        event = protocol.event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(event, event_mask=X.NoEventMask)
        closed += 1
    screen.sync()
    return 0 if closed else 1


if __name__ == "__main__":
    if sys.argv[1] == "--exists":
        sys.exit(main(sys.argv[2], only_check=True))
    sys.exit(main(sys.argv[1]))
