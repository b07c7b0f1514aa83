"""The state machine's steps (plan a run or a watch round, summarise a run): the Lambdas' work.

Standard library, boto3 and (for a search) pystac-client only: the Lambda asset ships this package with
core, pricing, stores and search (infra/run_functions.py LAMBDA_PACKAGES; .importlinter enforces it).
lambdas/*/handler.py only wire the environment's settings and the event to these functions.
"""
