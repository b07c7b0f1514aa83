"""AWS Lambda handlers of the Scoresby state machine."""
