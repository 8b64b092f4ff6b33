"""Resource protection: the route decorators, the verified-token cache and its broadcast, and
the verifier for services without Passport."""
