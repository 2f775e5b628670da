"""`guatu`: the command line, one module per sub-command group."""
