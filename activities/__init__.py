"""Activities: everything that touches PostgreSQL or the network."""
