"""The window's Qt part: widgets bound to the Qt-free model of :mod:`gui.model`."""
