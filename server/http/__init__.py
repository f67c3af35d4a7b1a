"""The HTTP edge shared by the blueprints: who the caller of a request is (caller.py) and
what its address and scheme are behind a trusted proxy. Imports services; nothing below the
blueprints imports it."""
