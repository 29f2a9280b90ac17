"""smb-sim: a small or medium business as a complex adaptive system."""

__version__ = "0.2.0"
