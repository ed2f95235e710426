"""The operator CLI: `python -m postpurchase.admin` (`make admin ARGS=...`).

One module per command group (merchants, keys, dlq, customers, shopify, attention, inserts); each has
`register(subcommands)` adding its argparse commands, whose handlers take the parsed arguments
and return what is printed as JSON. Handlers import the storage and domain modules only when they
run, after stack.activate() has set the environment those modules read at import.
Not shipped in the Lambda layer (layers/common/Makefile removes it).
"""
