"""FusionLabel core: geometry, the annotation model, commands, QA, synthetic scenes, the CLI.

Never imports Qt, a GL library, formats/ or gui/ (cli.py excepted, lazily).
"""

__version__ = "0.1.0"
