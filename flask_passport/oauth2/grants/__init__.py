"""One module per grant type; each exposes ``GRANT_TYPE`` and ``handle(ctx, request, client)``."""
