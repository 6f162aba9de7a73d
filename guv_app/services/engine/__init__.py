"""Models and inference: Cellpose-SAM with a multi-class head, weights, registry, segment.

Importing this package is cheap (no torch, no cellpose); the submodules that need torch
(``network``, ``loading``, ``inference``) import it when they are imported themselves.
See ``README.md`` in this folder for the API and the model folder format.
"""
