"""Storage: the token and client models and the functions that create, list and revoke them."""
