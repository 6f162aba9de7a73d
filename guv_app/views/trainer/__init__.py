"""Qt widgets of the Trainer window (no file I/O, no services: the controller wires them)."""
