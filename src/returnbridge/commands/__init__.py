"""Sub-commands of the `returnbridge` command line, one module per area."""
