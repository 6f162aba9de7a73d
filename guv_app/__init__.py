"""MultiCellPose application package.

Importing this package must stay cheap: no torch, no Qt, no cellpose. Heavy modules are
imported inside the functions that need them so that the GUI window opens fast.
"""

__version__ = "0.1.0"
