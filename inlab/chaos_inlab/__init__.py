"""The programs that run inside a lab host (``chaos-agent``, ``chaos-flow``, ...), and the protocol they share with the runner.

Installed into the ``chaos/host`` image by ``chaos images build``; the runner imports only
`chaos_inlab.protocol`. Every module imports the standard library alone at module level.
"""
