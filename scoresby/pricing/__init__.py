"""The cost model: AWS prices, job start-up and the estimate (stdlib-only: the summary Lambda ships it)."""
