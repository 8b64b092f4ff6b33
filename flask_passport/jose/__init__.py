"""Keys and JOSE: signing keys, their rotation, and every JWS/JWT sign and verify."""
