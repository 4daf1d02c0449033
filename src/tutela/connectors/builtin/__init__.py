"""The connectors that ship with Tutela: ``sql`` and ``manual``."""
