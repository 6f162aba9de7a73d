"""One module per image format; each registers its reader class with the registry on import.

Modules whose name starts with ``_`` are helpers, not readers. Format libraries are imported
inside the reader methods, never at module level.
"""
