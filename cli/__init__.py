"""The `cart-schedule` command line: every command, over models, the solver, the validator, the
instance generator and the service. `cli.main` holds the app; nothing imports `cli`."""
