"""archivist: a filesystem-native archive manager for the sales and quality office.

The folders are the source of truth; everything under `<root>/.archivist/` is derived.
"""

__version__ = "0.1.0"
