"""The Analyzer window's widgets (Qt only; the controllers feed them plain data)."""
