"""CDK constructs of the Scoresby AWS stack, one per concern, composed by pipeline_stack."""
