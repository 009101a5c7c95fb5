"""The builder's machinery: nodes and wiring, scopes, names, the document writer and loop checks.

Private: the public faces are ``operonx.op``, ``operonx.graph``, ``operonx.branch`` and
``operonx.document``.
"""
