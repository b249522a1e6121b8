"""PyQt6 application (the only package importing Qt; only gui/render imports vispy)."""
