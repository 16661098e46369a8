"""`make demo`: the whole ML loop on one machine."""
