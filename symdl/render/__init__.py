"""Renderers: pictures and documents made from derived, checked results.

Each module renders one kind of result; import from the module.
"""
