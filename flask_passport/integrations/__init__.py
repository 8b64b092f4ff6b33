"""Bridges to other frameworks; each module needs its extra (``flask-passport[mcp]``, ...)."""
