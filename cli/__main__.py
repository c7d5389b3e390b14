"""`python -m cli`: the `cart-schedule` command line."""

from cli.main import main

main()
